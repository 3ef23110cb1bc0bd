"""A stand-in for Meta's Graph API, for the sending benchmark: `python -m bench.fake_graph`.

Answers every POST .../messages with a fresh message id, as the Cloud API does when it accepts
a message ({"messages": [{"id": "wamid.…"}]}), and anything else with an empty JSON object.
Threaded, keep-alive, Nagle off: it answers in well under a millisecond, so the benchmark
measures our side. Prints how many messages it accepted when stopped (SIGTERM or Ctrl-C).
"""

import argparse
import itertools
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

accepted = itertools.count(1)
last = [0]


class GraphHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path.endswith("/messages"):
            try:
                recipient = json.loads(body).get("to", "")
            except ValueError:
                recipient = ""
            number = next(accepted)
            last[0] = number
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": recipient, "wa_id": recipient}],
                "messages": [{"id": f"wamid.FAKEGRAPH{number:012d}"}],
            }
        else:
            answer = {}
        self.answer(answer)

    def do_GET(self):
        self.answer({})

    def answer(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8790)
    arguments = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), GraphHandler)
    server.daemon_threads = True

    def stop(signum, frame):
        print(f"fake graph: accepted {last[0]} messages", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"fake graph listening on 127.0.0.1:{arguments.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

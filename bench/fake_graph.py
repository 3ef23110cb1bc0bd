"""A stand-in for Meta's Graph API, for the sending benchmarks: `python -m bench.fake_graph`.

Answers every POST .../messages with a fresh message id, as the Cloud API does when it accepts
a message ({"messages": [{"id": "wamid.…"}]}), and anything else with an empty JSON object.
Threaded, keep-alive, Nagle off: it answers in well under a millisecond, so the benchmark
measures our side. Prints how many messages it accepted when stopped (SIGTERM or Ctrl-C).

It also notes when the first request for each text arrived (`time.time()`, this machine's
clock): `GET /bench/received?prefix=P` answers {text: seconds} for the texts starting with P,
which `reply_latency_under_backlog_ms` compares with the times the replies were queued.
"""

import argparse
import itertools
import json
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

accepted = itertools.count(1)
last = [0]
received = {}
received_lock = threading.Lock()


class GraphHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        arrived = time.time()
        if self.path.endswith("/messages"):
            try:
                message = json.loads(body)
            except ValueError:
                message = {}
            recipient = message.get("to", "")
            text = (message.get("text") or {}).get("body")
            if text:
                with received_lock:
                    received.setdefault(text, arrived)
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
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/bench/received":
            self.answer({})
            return
        prefix = urllib.parse.parse_qs(url.query).get("prefix", [""])[0]
        with received_lock:
            self.answer({text: at for text, at in received.items() if text.startswith(prefix)})

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

"""Load and observation for the latency phases of `make bench` (bench/run.py).

- `post_steadily`: signed webhook POSTs at a fixed rate, open loop: the schedule never waits
  for answers (as Meta does not), so a slow server shows up as latency, not as a lower rate.
- `InboxPoller`: a signed-in staff member's page polling `/poll/` as inbox.js does (the
  cursor each answer carries, htmx's `hx-get` of `#poller`), noting when each marked
  message first appears in a conversation row's preview.
- `CpuMeter`: CPU seconds per role of our processes and the machine's busy share during a
  phase (the machine is shared: a latency is only meaningful next to them).

Times are `time.monotonic()` of this process, so the two compare directly.
"""

import html
import http.client
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The poll's next request, as inbox/poller.html renders it (HTML-escaped).
NEXT_POLL = re.compile(r'<div id="poller"[^>]*?hx-get="([^"]+)"')


def post_steadily(port, path, bodies, rate, connections=8):
    """POST each (signature, raw body) in turn at `rate` per second from a pool of
    keep-alive connections. Returns, per body: (scheduled, sent, status, seconds), with
    `sent` the moment its request started and status 0 for a connection error."""
    local = threading.local()
    results = [None] * len(bodies)

    def post(index, scheduled):
        signature, raw = bodies[index]
        if getattr(local, "connection", None) is None:
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        sent = time.monotonic()
        try:
            local.connection.request("POST", path, body=raw, headers=headers)
            response = local.connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            local.connection.close()
            local.connection = None
            status = 0
        results[index] = (scheduled, sent, status, time.monotonic() - sent)

    with ThreadPoolExecutor(max_workers=connections) as pool:
        start = time.monotonic() + 0.1
        for index in range(len(bodies)):
            scheduled = start + index / rate
            time.sleep(max(0.0, scheduled - time.monotonic()))
            pool.submit(post, index, scheduled)
    return results


class InboxPoller(threading.Thread):
    """Polls `path` every `interval` seconds after each answer, with the session `cookie`,
    and records in `seen` the first moment each `marker` match (its first group, an int)
    was in an answer."""

    def __init__(self, port, cookie, path, marker, interval=0.05):
        super().__init__(daemon=True)
        self.port, self.cookie, self.path = port, cookie, path
        self.marker, self.interval = marker, interval
        self.seen = {}
        self.codes = {}
        self.polls = 0
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while not self.stopping.is_set():
                connection.request("GET", self.path, headers={"Cookie": self.cookie})
                response = connection.getresponse()
                page = response.read().decode()
                arrived = time.monotonic()
                self.polls += 1
                self.codes[response.status] = self.codes.get(response.status, 0) + 1
                if response.status == 200:
                    for number in self.marker.findall(page):
                        self.seen.setdefault(int(number), arrived)
                    self.path = html.unescape(NEXT_POLL.search(page).group(1))
                self.stopping.wait(self.interval)
        except (OSError, http.client.HTTPException, AttributeError) as exc:
            self.error = repr(exc)  # the phase reports it; the figure then has gaps
        finally:
            connection.close()

    def stop(self):
        self.stopping.set()
        self.join()


def process_cpu(pid, reaped=False):
    """CPU seconds (user + system) a process has used; with `reaped`, also its children that
    have ended (gunicorn's recycled workers). 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: utime, stime, cutime, cstime are fields 14-17 of proc(5).
    ticks = [int(value) for value in fields[11:15]]
    return sum(ticks if reaped else ticks[:2]) / os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine since boot, every core, everyone's."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # up to steal; guest time is already in user
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the CPU went during a phase: seconds per role (`roles()` answers {role: seconds
    used so far}) and the machine's busy share, so a latency figure can be read against how
    loaded the shared machine was."""

    def __init__(self, roles):
        self.roles = roles
        self.result = {}

    def __enter__(self):
        self.started = time.monotonic()
        self.before, self.machine_before = self.roles(), machine_cpu()
        return self

    def __exit__(self, *exc_info):
        after, (busy, total) = self.roles(), machine_cpu()
        wall = time.monotonic() - self.started
        self.result = {
            "wall_s": round(wall, 1),
            "machine_busy_share": round(
                (busy - self.machine_before[0]) / max(total - self.machine_before[1], 1e-9), 2
            ),
            "cpu_s": {
                role: round(seconds - self.before.get(role, 0.0), 1)
                for role, seconds in after.items()
            },
        }

# ruff: noqa: S603, S607, S310, PTH123 - a harness that runs local tools and talks to localhost
"""`make bench`: the performance benchmarks, end to end, on PostgreSQL.

    make bench                          # the full run (about 30 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick   # a small smoke run (100,000 messages, short runs;
                                            # e2e 15 s, backlogs of 1,000, 20 replies)
    .venv/bin/python -m bench.run --keep-db # reuse the loaded database (no seed_1m_s)
    .venv/bin/python -m bench.run --quick --keep-db --only webhook,batch,status
                                            # some phases only (docs/benchmarks.md untouched)

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/waba_bench;
the database is dropped and created again, so its name must contain "bench") and wrk (the
Debian package; installed with apt-get when missing and running as root).

What it does, in order:

1. Creates the database afresh, migrates it, and times `manage.py seed_load --contacts 10000
   --messages 1000000` (`seed_1m_s`); then VACUUM ANALYZE, as autovacuum would soon after.
2. Starts a fake Graph API (bench/fake_graph.py) and gunicorn with the production config
   (gunicorn.conf.py: its workers, threads, keep-alive, max_requests and access log), DEBUG
   off, HTTPS_ONLY off (plain http on loopback), a random 50+ character SECRET_KEY, a random
   WHATSAPP_APP_SECRET, WHATSAPP_BACKEND=cloud pointed at the fake Graph API. The WSGI app
   is bench/wsgi.py: config's application under bench.settings, which adds one URL,
   /bench/bare/ (the baseline view), and a Server-Timing header with Django's time.
3. Signs in once as a Supervisor through the real login form, and hands the session cookie
   to wrk. Page figures (`list_p95_ms`, `conversation_p95_ms` on a 12,000-message
   conversation, `search_p95_ms` on message text, `poll_p95_ms` with nothing new) are the
   95th percentile of the server time of every response, at 2 connections.
4. Webhooks, at 8 connections: wrk posts bodies generated and signed up front
   (messaging.payloads), each with unique wamids and each sent once (bench/lua/bench.lua):
   `webhook_single_rps` (one text message per POST, 90% from existing contacts),
   interleaved run by run with `bare_view_rps` (the bare view, same body size), so that
   `webhook_ratio` compares neighbours on a noisy machine; `webhook_p99_ms` is wrk's p99
   of those runs (client side: what Meta would wait); `webhook_batch_msgs_per_s` (50
   messages per POST) and `status_batch_per_s` (50 delivered/read statuses per POST for
   existing outbound messages).
   After each webhook phase, 2 `db_worker --queue-name webhooks --batch` processes apply
   what it stored, gunicorn idle (meta.apply); after the single-message one, that rate is
   `apply_single_bodies_per_s` (bodies applied / seconds between the first and the last).
5. `worker_rss_mb`: the largest resident size of the gunicorn workers after all that load
   (gunicorn.conf.py recycles a worker after about 5,000 requests, so this is a worker
   that has served up to that many; the peak seen while loading is in the metadata).
6. `e2e_p95_ms`: 100 signed single-message POSTs per second for 60 s (bench/latency.py: an
   open loop from up to 64 keep-alive connections, as many as the rate needs while POSTs
   are slow (Meta's are concurrent too); each message's text carries a marker unique
   to it and to the run), with gunicorn serving, the deployed workers (one `sending`, one
   `*`: DEPLOYED_WORKER_QUEUES) and two `--queue-name webhooks` ones running as deployed
   (db_worker's defaults), while the signed-in Supervisor's page polls `/poll/` 50 ms after
   each answer (state=all, following the cursor each answer carries, as inbox.js does):
   the 95th percentile of (the poll answer whose list rows first show the message minus the
   POST leaving). A message never seen within 60 s after the load counts as seen when the
   poller stopped. Tasks still waiting (the automation runs the webhook phases queued) are
   discarded first. CPU seconds per process role and the machine's busy share are in
   meta.e2e.cpu: on a shared 2-core machine the figure means little without them.
7. `send_msgs_per_s`: staff replies queued as the inbox queues them, sent by
   `manage.py db_worker` processes through the cloud backend to the fake Graph API, with 1
   and with 2 workers: {"1": …, "2": …}, messages per second between the first and the last
   acceptance (worker start-up excluded).
8. `reply_latency_under_backlog_ms`: 5,000 real automation tasks (`run_automation` of
   inbound text messages automation has not run for) and 5,000 single-message webhook
   bodies stored and queued as the webhook view does are waiting (`bench.ops backlog`);
   the deployed workers start, and after 5 s 50 staff replies are queued as the inbox
   queues them, evenly over 5 s (`bench.ops queue-replies`): the 95th percentile of (the
   fake Graph API receiving the reply minus the reply being queued), both `time.time()` on
   this machine. What the backlog left is discarded afterwards (`bench.ops clear-backlog`).

Every figure is the median of several runs (pages 3 x 10 s, webhooks 5 x 10 s, batches
3 x 10 s, sending 3 runs each), but the latency ones, one run each (a percentile of 6,000
and of 50 measurements). Results go to bench-results.json (the figures under exactly
their names, plus "meta": date, CPU count, versions, load averages, every run's value) and
to the table in docs/benchmarks.md; the table is printed at the end. Logs (gunicorn, the
workers, wrk) stay in .bench/ for inspection.
"""

import argparse
import contextlib
import json
import os
import platform
import random
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

from bench.latency import CpuMeter, InboxPoller, post_steadily, process_cpu
from messaging import payloads as p
from messaging.signature import sign

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".bench"
PYTHON = sys.executable
LUA = ROOT / "bench" / "lua" / "bench.lua"
RESULTS = ROOT / "bench-results.json"
# db_worker processes that apply what each webhook phase stored (one per core here).
APPLY_WORKERS = 2
# Single-message webhook bodies per second in the end-to-end phase, and the most POSTs in
# flight at once: enough to hold the rate while each POST takes up to 0.6 s.
E2E_RATE = 100
E2E_CONNECTIONS = 64
# How long to wait after the load for what has not arrived yet (a poll, a Graph request).
DRAIN_SECONDS = 60
DOCS = ROOT / "docs" / "benchmarks.md"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/waba_bench"
START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"

# The figures, in the order of the table, with the goals.
FIGURES = [
    ("bare_view_rps", "requests/s", "baseline (no goal)"),
    ("webhook_single_rps", "requests/s", "see ratio"),
    ("webhook_ratio", "", "≥ 0.25"),
    ("webhook_p99_ms", "ms", "< 50"),
    ("webhook_batch_msgs_per_s", "messages/s", "≥ 10,000"),
    ("status_batch_per_s", "statuses/s", "≥ 10,000"),
    ("list_p95_ms", "ms", "< 100"),
    ("conversation_p95_ms", "ms", "< 100"),
    ("search_p95_ms", "ms", "< 250"),
    ("poll_p95_ms", "ms", "< 10"),
    ("apply_single_bodies_per_s", "bodies/s", "≥ 1,000"),
    ("e2e_p95_ms", "ms", "< 1,500"),
    ("send_msgs_per_s", "messages/s", "no goal (pacing caps 80/s per number)"),
    ("reply_latency_under_backlog_ms", "ms", "< 2,000"),
    ("worker_rss_mb", "MB", "< 150"),
    ("seed_1m_s", "s", "< 180"),
]
GOALS = {
    "webhook_ratio": (">=", 0.25),
    "webhook_p99_ms": ("<", 50),
    "webhook_batch_msgs_per_s": (">=", 10_000),
    "status_batch_per_s": (">=", 10_000),
    "list_p95_ms": ("<", 100),
    "conversation_p95_ms": ("<", 100),
    "search_p95_ms": ("<", 250),
    "poll_p95_ms": ("<", 10),
    "apply_single_bodies_per_s": (">=", 1_000),
    "e2e_p95_ms": ("<", 1_500),
    "reply_latency_under_backlog_ms": ("<", 2_000),
    "worker_rss_mb": ("<", 150),
    "seed_1m_s": ("<", 180),
}
# Message-text searches, cycled: two English and two Arabic words of different frequency.
SEARCH_TERMS = ["refund", "invoice", "الشحن", "الكتاب"]
ENGLISH = [
    "Hi! Is my order on its way?",
    "Could you send me the invoice for my last order?",
    "Thanks a lot 🙏",
    "Do you have the second volume in stock?",
]
ARABIC = ["السلام عليكم، متى يصل طلبي؟", "شكراً جزيلاً 🌹", "هل يمكن الشحن إلى جدة؟"]
# The phases of a run, in order; --only picks some (e.g. the webhook ones, on a kept database).
PHASES = ("pages", "webhook", "batch", "status", "e2e", "send", "backlog")
# The task workers as the deployment runs them (deploy/systemd/waba-worker@.service with
# worker-1.env, compose.yaml, scripts/run_dev.py): one for staff replies alone, one for every
# queue; with db_worker's defaults (an idle worker looks for work again after 0.2 s).
DEPLOYED_WORKER_QUEUES = ("sending", "*")


def gunicorn_shape():
    """Workers and threads as gunicorn.conf.py sets them here (its environment included)."""
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {"workers": config["workers"], "threads": config["threads"]}


class Bench:
    def __init__(self, options):
        self.options = options
        self.quick = options.quick
        self.phases = set(options.only.split(",")) if options.only else set(PHASES)
        if self.phases - set(PHASES):
            sys.exit(f"--only: unknown phase(s) {', '.join(sorted(self.phases - set(PHASES)))}")
        self.database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        self.port = free_port()
        self.graph_port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.app_secret = secrets.token_hex(16)
        self.results = {}
        self.meta = {"runs": {}, "load_average": {}, "checks": {}}
        self.processes = []
        self.rss_peak = 0.0
        self.pg_counts = {}
        self.env = self.environment()
        self.scale = {
            "contacts": 1_000 if self.quick else 10_000,
            "messages": 100_000 if self.quick else 1_000_000,
            "page_runs": 1 if self.quick else 3,
            "page_seconds": 3 if self.quick else 10,
            "webhook_runs": 1 if self.quick else 5,
            "webhook_seconds": 3 if self.quick else 10,
            "batch_runs": 1 if self.quick else 3,
            "batch_seconds": 5 if self.quick else 10,
            "send_runs": 1 if self.quick else 3,
            "send_messages": 200 if self.quick else 800,
            "e2e_rate": E2E_RATE,
            "e2e_seconds": 15 if self.quick else 60,
            "backlog_tasks": 1_000 if self.quick else 5_000,
            "backlog_replies": 20 if self.quick else 50,
            "backlog_reply_seconds": 5,
        }

    # Set-up.

    def environment(self):
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
        }
        env.update(
            {
                "ENV_FILE": "",  # never a developer's .env
                "DEBUG": "off",
                "HTTPS_ONLY": "off",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "CSRF_TRUSTED_ORIGINS": "",
                "DATABASE_URL": self.database_url,
                "WHATSAPP_APP_SECRET": self.app_secret,
                "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(24),
                "WHATSAPP_ACCESS_TOKEN": "EAA" + secrets.token_urlsafe(150),
                "WHATSAPP_BACKEND": "cloud",
                "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{self.graph_port}",
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "DJANGO_BENCH": "1",
                # The start-up wait needs a 200 before any worker runs or backlog drains.
                "HEALTHZ_WORKER_MINUTES": "0",
                "HEALTHZ_WEBHOOK_BACKLOG_MINUTES": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def check_tools(self):
        if not shutil.which("wrk"):
            if os.geteuid() == 0 and shutil.which("apt-get"):
                say("Installing wrk (Debian package)")
                subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
            else:
                sys.exit("wrk is not installed: apt-get install -y wrk")
        import psycopg

        try:
            with psycopg.connect(self.admin_url(), connect_timeout=5) as connection:
                self.meta["versions_postgresql"] = connection.execute(
                    "SHOW server_version"
                ).fetchone()[0]
        except psycopg.Error as exc:
            sys.exit(f"PostgreSQL is not reachable at {self.admin_url()}: {exc}")

    def admin_url(self):
        parts = urllib.parse.urlsplit(self.database_url)
        return urllib.parse.urlunsplit(parts._replace(path="/postgres"))

    def database_name(self):
        return urllib.parse.urlsplit(self.database_url).path.lstrip("/")

    def recreate_database(self):
        import psycopg
        from psycopg import sql

        name = self.database_name()
        if "bench" not in name:
            sys.exit(f"Refusing to drop {name!r}: the benchmark database's name must say bench.")
        with psycopg.connect(self.admin_url(), autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def sql(self, statement, autocommit=True):
        import psycopg

        with psycopg.connect(self.database_url, autocommit=autocommit) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else None

    def manage(self, *arguments, quiet=True, log=None):
        command = [PYTHON, "manage.py", *arguments]
        output = open(log, "a") if log else (subprocess.DEVNULL if quiet else None)  # noqa: SIM115
        try:
            subprocess.run(command, cwd=ROOT, env=self.env, check=True, stdout=output)
        finally:
            if log:
                output.close()

    def ops(self, *arguments):
        completed = subprocess.run(
            [PYTHON, "-m", "bench.ops", *map(str, arguments)],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        return json.loads(lines[-1])

    # Processes.

    def start(self, name, command, env=None):
        log = open(OUT / f"{name}.log", "a")  # noqa: SIM115 - closed when the process ends
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.processes.append(process)
        return process

    def stop(self, process, timeout=30):
        """SIGTERM, then after `timeout` SIGKILL to the process's whole group (it was started
        in a session of its own: gunicorn's workers go with their master)."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of this group only
        process.log.close()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self):
        for process in list(self.processes):
            self.stop(process, timeout=10)

    def start_gunicorn(self):
        self.gunicorn = self.start(
            "gunicorn",
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bench.wsgi:application"],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
            if self.gunicorn.poll() is not None:
                break
        sys.exit(f"gunicorn did not start: see {OUT / 'gunicorn.log'}")

    def worker_pids(self):
        children = subprocess.run(
            ["pgrep", "-P", str(self.gunicorn.pid)], capture_output=True, text=True
        ).stdout.split()
        return [int(pid) for pid in children]

    def worker_rss(self):
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                sizes.append(int(match.group(1)) / 1024)
        return sizes

    def sample_rss(self, stop):
        while not stop.wait(1):
            sizes = self.worker_rss()
            if sizes:
                self.rss_peak = max(self.rss_peak, *sizes)

    def check(self, name, result, expected):
        """Record (and show) a run's problems; the figure stands, with its problems noted in
        the metadata and the table."""
        problems = problems_in(result, expected)
        if problems:
            self.meta.setdefault("problems", {})[name] = problems
            say(f"  {name}: problems {problems} (see .bench/wrk.log and .bench/gunicorn.log)")

    @contextlib.contextmanager
    def pg_activity(self, phase):
        """Sample pg_stat_activity every 100 ms while a phase runs: how many of the server's
        database sessions were, on average, running a statement, waiting for a lock, or idle
        inside a transaction (the application holding locks while it computes)."""
        import psycopg

        counts = self.pg_counts.setdefault(phase, Counter())
        stop = threading.Event()

        def sample():
            with psycopg.connect(self.database_url, autocommit=True) as connection:
                while not stop.wait(0.1):
                    rows = connection.execute(
                        "SELECT state, wait_event_type FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'"
                    ).fetchall()
                    counts["samples"] += 1
                    for state, wait in rows:
                        if state == "active" and wait == "Lock":
                            counts["waiting_for_lock"] += 1
                        elif state == "active":
                            counts["running"] += 1
                        elif state and state.startswith("idle in transaction"):
                            counts["idle_in_transaction"] += 1

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            samples = max(counts["samples"], 1)
            self.meta.setdefault("pg_activity", {})[phase] = {
                key: round(value / samples, 2)
                for key, value in sorted(counts.items())
                if key != "samples"
            } | {"samples": counts["samples"]}

    # Load.

    def wrk(
        self, name, seconds, connections, *, bodies=None, path=None, paths=None, reuse=False,
        phase=None,
    ):  # fmt: skip
        """One wrk run; returns the JSON the Lua script wrote."""
        out = OUT / f"wrk-{name}.json"
        env = {**os.environ, "BENCH_OUT": str(out)}
        if bodies:
            env |= {"BENCH_BODIES": str(bodies), "BENCH_PATH": path}
            if reuse:
                env["BENCH_REUSE"] = "1"
        else:
            env |= {"BENCH_PATHS": str(paths), "BENCH_COOKIE": self.cookie}
        threads = min(2, connections)
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-s", str(LUA), self.base + "/"]
        sampling = self.pg_activity(phase) if phase else contextlib.nullcontext()
        with open(OUT / "wrk.log", "a") as log, sampling:
            log.write(f"\n## {name}\n")
            log.flush()
            subprocess.run(command, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
        result = json.loads(out.read_text())
        out.unlink()
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        self.meta["runs"].setdefault("wrk", {})[name] = {
            key: result[key] for key in ("requests", "duration_us", "latency_us", "codes")
        }
        return result

    def post_run(self, name, seconds, make_bodies, capacity, *, warmup=False, phase=None):
        """A POST run with unique bodies; repeated with twice the bodies if they ran out.
        A warm-up only loads code and caches: nothing is checked."""
        for _attempt in range(3):
            prefix = OUT / f"bodies-{name}"
            self.write_bodies(prefix, make_bodies, capacity)
            path = "/webhooks/whatsapp/"
            result = self.wrk(name, seconds, 8, bodies=prefix, path=path, phase=phase)
            for thread in range(2):
                Path(f"{prefix}.{thread}").unlink(missing_ok=True)
            if warmup:
                return result
            self.check(name, result, {200})
            if not result["exhausted"]:
                return result
            say(f"  {name}: ran out of bodies after {result['requests']}; again with more")
            capacity *= 2
        sys.exit(f"{name}: still ran out of bodies")

    def write_bodies(self, prefix, make_bodies, count):
        files = [open(f"{prefix}.{thread}", "w") for thread in range(2)]  # noqa: SIM115
        try:
            for n, raw in enumerate(make_bodies(count)):
                signature = sign(raw, self.app_secret)
                files[n % 2].write(f"{signature}\t{raw.decode('ascii')}\n")
        finally:
            for file in files:
                file.close()

    # Bodies (signed by write_bodies). Unique wamids: messaging.payloads.new_wamid().

    def inbound_bodies(self, per_post):
        info = self.info
        number = info["number"]
        senders = info["senders"]
        rng = random.Random()  # noqa: S311 - picking senders, not secrets

        def make(count):
            now = int(time.time())
            for _ in range(count):
                contacts, messages = {}, []
                for _ in range(per_post):
                    if rng.random() < 0.9:
                        wa_id, name = rng.choice(senders)
                    else:
                        wa_id, name = f"2010{rng.randrange(10**8):08d}", "New Customer"
                    contacts[wa_id] = p.contact(wa_id=wa_id, name=name or None)
                    text = rng.choice(ARABIC if rng.random() < 0.5 else ENGLISH)
                    messages.append(p.text_message(text, sender=wa_id, timestamp=now))
                body = p.envelope(
                    p.value(
                        phone_number_id=number["phone_number_id"],
                        display_phone_number=number["display_phone_number"],
                        contacts=list(contacts.values()),
                        messages=messages,
                    ),
                    waba_id=number["waba_id"] or p.WABA_ID,
                )
                yield p.encode(body)

        return make

    def status_bodies(self, run):
        number = self.info["number"]
        targets = self.status_targets
        position = [0]

        def make(count):
            # A distinct timestamp per run: the same message may get the same status again in
            # a later run, as a new event (not a duplicate delivery).
            moment = int(time.time()) - 3600 + run
            for _ in range(count):
                statuses = []
                for _ in range(50):
                    wamid, status, recipient = targets[position[0] % len(targets)]
                    position[0] += 1
                    statuses.append(
                        p.status(wamid, status, timestamp=moment, recipient=recipient or None)
                    )
                body = p.envelope(
                    p.value(
                        phone_number_id=number["phone_number_id"],
                        display_phone_number=number["display_phone_number"],
                        statuses=statuses,
                    ),
                    waba_id=number["waba_id"] or p.WABA_ID,
                )
                yield p.encode(body)

        return make

    # The benchmarks.

    def seed(self):
        say(
            f"Seeding {self.scale['messages']:,} messages in {self.scale['contacts']:,} "
            "conversations (seed_load)"
        )
        started = time.monotonic()
        self.manage(
            "seed_load",
            "--contacts",
            str(self.scale["contacts"]),
            "--messages",
            str(self.scale["messages"]),
            "--seed",
            "1",
            quiet=False,
        )
        elapsed = time.monotonic() - started
        if not self.quick:
            self.results["seed_1m_s"] = round(elapsed, 1)
        self.meta["seed_seconds"] = round(elapsed, 1)
        say("VACUUM ANALYZE")
        self.sql("VACUUM ANALYZE")

    def login(self):
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{self.base}/accounts/login/") as response:
            page = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": "bench", "password": self.password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(f"{self.base}/accounts/login/", data=form)
        with opener.open(request) as response:
            if urllib.parse.urlsplit(response.url).path != "/":
                sys.exit("Signing in failed: see .bench/gunicorn.log")
        cookies = {cookie.name: cookie.value for cookie in jar}
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())

    def pages(self):
        runs, seconds = self.scale["page_runs"], self.scale["page_seconds"]
        big = [pk for pk, _count in self.info["big_conversations"]]
        self.meta["conversation_sizes"] = [count for _pk, count in self.info["big_conversations"]]
        pages = {
            "list_p95_ms": ["/"],
            "search_p95_ms": [f"/?q={urllib.parse.quote(term)}" for term in SEARCH_TERMS],
            "conversation_p95_ms": [f"/c/{pk}/" for pk in big],
            "poll_p95_ms": None,  # filled just before it runs: nothing may change after
        }
        for key, paths in pages.items():
            if paths is None:
                since = self.ops("latest-change")["latest_change"]
                paths = [f"/poll/?since={since}"]
            expected = {204} if key == "poll_p95_ms" else {200}
            listing = OUT / "paths.txt"
            listing.write_text("\n".join(paths) + "\n")
            say(f"{key}: {', '.join(paths)}")
            self.wrk(f"{key}-warmup", 3, 2, paths=listing)
            values, client = [], []
            for run in range(runs):
                phase = key.removesuffix("_p95_ms")
                result = self.wrk(f"{key}-{run}", seconds, 2, paths=listing, phase=phase)
                self.check(key, result, expected)
                values.append(percentile(result["server_ms"], 95))
                client.append(result["latency_us"]["p95"] / 1000)
                say(
                    f"  run {run + 1}: p95 {values[-1]:.1f} ms server, {client[-1]:.1f} ms "
                    f"client, {result['rps']:.0f} req/s"
                )
            self.results[key] = round(statistics.median(values), 1)
            self.meta["runs"][key] = values
            self.meta["runs"][key.replace("_p95_ms", "_client_p95_ms")] = client

    def webhooks(self):
        runs, seconds = self.scale["webhook_runs"], self.scale["webhook_seconds"]
        single = self.inbound_bodies(1)
        say("webhook_single_rps and bare_view_rps, interleaved")
        bare_prefix = OUT / "bodies-bare"
        self.write_bodies(bare_prefix, single, 4000)
        self.wrk("bare-warmup", 3, 8, bodies=bare_prefix, path="/bench/bare/", reuse=True)
        self.post_run("webhook-warmup", 3, single, 3000, warmup=True)
        bare, hooks, p99 = [], [], []
        for run in range(runs):
            result = self.wrk(
                f"bare-{run}", seconds, 8, bodies=bare_prefix, path="/bench/bare/", reuse=True
            )
            self.check(f"bare-{run}", result, {200})
            bare.append(result["rps"])
            result = self.post_run(
                f"webhook-{run}", seconds, single, 15_000, phase="webhook_single"
            )
            hooks.append(result["rps"])
            p99.append(result["latency_us"]["p99"] / 1000)
            say(
                f"  run {run + 1}: bare {bare[-1]:.0f} req/s, webhook {hooks[-1]:.0f} req/s "
                f"(ratio {hooks[-1] / bare[-1]:.3f}), p99 {p99[-1]:.1f} ms"
            )
        for thread in range(2):
            Path(f"{bare_prefix}.{thread}").unlink(missing_ok=True)
        self.results["bare_view_rps"] = round(statistics.median(bare))
        self.results["webhook_single_rps"] = round(statistics.median(hooks))
        self.results["webhook_ratio"] = round(
            self.results["webhook_single_rps"] / self.results["bare_view_rps"], 3
        )
        self.results["webhook_p99_ms"] = round(statistics.median(p99), 1)
        self.meta["runs"] |= {
            "bare_view_rps": bare,
            "webhook_single_rps": hooks,
            "webhook_ratio_per_run": [h / b for h, b in zip(hooks, bare, strict=True)],
            "webhook_p99_ms": p99,
        }

    def batches(self):
        runs, seconds = self.scale["batch_runs"], self.scale["batch_seconds"]
        say("webhook_batch_msgs_per_s: 50 messages per POST")
        batch = self.inbound_bodies(50)
        self.post_run("batch-warmup", 5, batch, 300, warmup=True)
        values = []
        for run in range(runs):
            result = self.post_run(f"batch-{run}", seconds, batch, 3000, phase="webhook_batch")
            values.append(result["rps"] * 50)
            p99 = result["latency_us"]["p99"] / 1000
            say(f"  run {run + 1}: {values[-1]:.0f} messages/s, p99 {p99:.0f} ms")
        self.results["webhook_batch_msgs_per_s"] = round(statistics.median(values))
        self.meta["runs"]["webhook_batch_msgs_per_s"] = values

    def statuses(self):
        runs, seconds = self.scale["batch_runs"], self.scale["batch_seconds"]
        say("status_batch_per_s: 50 statuses per POST")
        self.status_targets = self.ops("status-targets", 250_000)["targets"]
        self.post_run("status-warmup", 5, self.status_bodies(0), 300, warmup=True)
        values = []
        for run in range(runs):
            bodies = self.status_bodies(run + 1)
            result = self.post_run(f"status-{run}", seconds, bodies, 3000, phase="status_batch")
            values.append(result["rps"] * 50)
            p99 = result["latency_us"]["p99"] / 1000
            say(f"  run {run + 1}: {values[-1]:.0f} statuses/s, p99 {p99:.0f} ms")
        self.results["status_batch_per_s"] = round(statistics.median(values))
        self.meta["runs"]["status_batch_per_s"] = values

    def apply_backlog(self, phase):
        """The webhook phases only measure what Meta waits for: storing and acknowledging.
        Applying the stored bodies is `db_worker`'s job: here APPLY_WORKERS of them (serving
        only the webhooks queue) drain what the phase left, with gunicorn idle, and
        meta.apply records how fast (messages or statuses applied per second, between the
        first and the last body applied)."""
        # PostgreSQL without autovacuum (CI machines run it so) keeps the planner's idea of
        # the task table from before the phase, and the claim query then scans every stored
        # task; autovacuum, with migration messaging.0010's thresholds, would have analysed
        # it many times while the phase stored its bodies.
        self.sql("ANALYZE django_tasks_database_dbtaskresult")
        started = datetime.now(UTC)
        worker = [PYTHON, "manage.py", "db_worker", "--queue-name", "webhooks", "--batch"]
        worker += ["--interval", "0.05", "--no-startup-delay", "--no-reload"]
        processes = [self.start(f"apply-{phase}-{n}", worker) for n in range(APPLY_WORKERS)]
        with self.pg_activity(f"apply_{phase}"):
            for process in processes:
                process.wait(timeout=3600)
                self.stop(process)
        stats = self.ops("apply-stats", started.isoformat())
        span = (stats["last"] or 0) - (stats["first"] or 0)
        rate = (stats["items"] / span) if span > 0 else 0.0
        self.meta.setdefault("apply", {})[phase] = stats | {
            "workers": APPLY_WORKERS,
            "items_per_s": round(rate, 1),
            "bodies_per_s": round(stats["bodies"] / span, 1) if span > 0 else 0.0,
            "seconds": round(span, 1),
        }
        say(
            f"  applied by {APPLY_WORKERS} db_worker(s): {stats['bodies']:,} bodies, "
            f"{stats['items']:,} items in {span:.1f} s ({rate:,.0f}/s); "
            f"{stats['waiting']} left waiting"
        )

    def sending(self):
        rates = {}
        count = self.scale["send_messages"]
        for workers in (1, 2):
            say(f"send_msgs_per_s: {count} replies, {workers} db_worker process(es)")
            values = []
            for run in range(self.scale["send_runs"]):
                prepared = self.ops("prepare-send", count, "bench")
                worker = [PYTHON, "manage.py", "db_worker", "--queue-name", "*", "--batch"]
                worker += ["--interval", "0.05", "--no-startup-delay", "--no-reload"]
                processes = [
                    self.start(f"db_worker-{workers}-{run}-{n}", worker) for n in range(workers)
                ]
                with self.pg_activity(f"send_{workers}"):
                    for process in processes:
                        process.wait(timeout=600)
                        self.stop(process)
                stats = self.ops("send-stats", prepared["first"], prepared["last"])
                if stats["accepted"] != count:
                    say(f"  warning: only {stats['accepted']} of {count} accepted: {stats}")
                span = stats["last_accepted"] - stats["first_accepted"]
                values.append((stats["accepted"] - 1) / span if span > 0 else 0.0)
                say(f"  run {run + 1}: {values[-1]:.1f} messages/s ({stats['statuses']})")
            rates[str(workers)] = round(statistics.median(values), 1)
            self.meta["runs"][f"send_msgs_per_s_{workers}"] = values
        self.results["send_msgs_per_s"] = rates

    def start_workers(self, name, queues):
        """db_worker processes exactly as the deployment starts them, one per queue given."""
        processes = []
        for n, queue in enumerate(queues):
            command = [PYTHON, "manage.py", "db_worker", "--no-reload", "--queue-name", queue]
            processes.append(self.start(f"{name}-{n}-{queue.replace('*', 'all')}", command))
            processes[-1].queue = queue
        return processes

    def cpu_meter(self, workers, gunicorn=True):
        """CPU seconds of gunicorn (master, live and recycled workers), of the db_workers by
        the queue they serve, and of this process (the load generator and the poller)."""

        def roles():
            used = Counter()
            if gunicorn:
                used["gunicorn"] = process_cpu(self.gunicorn.pid, reaped=True) + sum(
                    process_cpu(pid) for pid in self.worker_pids()
                )
            for process in workers:
                used[f"db_worker {process.queue}"] += process_cpu(process.pid)
            used["bench client"] = sum(os.times()[:2])
            return used

        return CpuMeter(roles)

    def end_to_end(self):
        """`e2e_p95_ms`: E2E_RATE signed single-message POSTs per second, while gunicorn, the
        deployed workers and two webhook workers run and a Supervisor's page polls; from each
        POST leaving to its message's text first coming back in a poll."""
        rate, seconds = E2E_RATE, self.scale["e2e_seconds"]
        queues = [*DEPLOYED_WORKER_QUEUES, "webhooks", "webhooks"]
        say(f"e2e_p95_ms: {rate} bodies/s for {seconds} s; workers: {', '.join(queues)}")
        run = secrets.token_hex(3)  # a message of an earlier run must not count as seen
        count = rate * seconds
        bodies = [(sign(raw, self.app_secret), raw) for raw in self.e2e_bodies(run, count, rate)]
        discarded = self.ops("discard-waiting")["discarded_tasks"]
        self.sql("ANALYZE django_tasks_database_dbtaskresult")
        workers = self.start_workers("e2e", queues)
        time.sleep(5)  # Django start-up and db_worker's random start-up delay
        since = self.ops("latest-change")["latest_change"]
        marker = re.compile(rf"e2e{run}-(\d+)")
        poller = InboxPoller(self.port, self.cookie, f"/poll/?since={since}&state=all", marker)
        poller.start()
        with self.pg_activity("e2e"), self.cpu_meter(workers) as cpu:
            sends = post_steadily(self.port, "/webhooks/whatsapp/", bodies, rate, E2E_CONNECTIONS)
            deadline = time.monotonic() + DRAIN_SECONDS
            while len(poller.seen) < count and time.monotonic() < deadline and poller.is_alive():
                time.sleep(0.2)
        poller.stop()
        stopped = time.monotonic()
        queues_left = self.ops("queues")
        for process in workers:
            self.stop(process)
        latencies, scheduled, unseen, failed = [], [], 0, Counter()
        for index, (due, sent, status, _seconds) in enumerate(sends):
            if status != 200:
                failed[status] += 1
            if index not in poller.seen:
                unseen += 1
            seen = poller.seen.get(index, stopped)  # unseen: at least until the poller stopped
            latencies.append((seen - sent) * 1000)
            scheduled.append((seen - due) * 1000)
        post_ms = [took * 1000 for *_rest, took in sends]
        span = sends[-1][1] - sends[0][1]
        self.results["e2e_p95_ms"] = round(percentile(latencies, 95))
        self.meta["e2e"] = {
            "bodies": count,
            "rate_per_s": round((count - 1) / span, 1) if span > 0 else None,
            "workers": queues,
            "p50_ms": round(percentile(latencies, 50)),
            "p99_ms": round(percentile(latencies, 99)),
            "max_ms": round(max(latencies)),
            # From when each POST was due instead of when it left: the load generator's own
            # lag (every connection busy, or no CPU for it) counted in.
            "p95_from_schedule_ms": round(percentile(scheduled, 95)),
            "unseen": unseen,
            "not_200": {str(code): n for code, n in failed.items()},
            "post_p50_ms": round(percentile(post_ms, 50), 1),
            "post_p99_ms": round(percentile(post_ms, 99), 1),
            "late_start_max_ms": round(max(sent - sched for sched, sent, *_ in sends) * 1000, 1),
            "polls": poller.polls,
            "poll_codes": {str(code): n for code, n in poller.codes.items()},
            "poll_error": poller.error,
            "queues_left": queues_left,
            "discarded_before": discarded,
            "cpu": cpu.result,
        }
        if unseen or failed or poller.error:
            problems = {"unseen (counted as at least until the poller stopped)": unseen}
            self.meta.setdefault("problems", {})["e2e"] = (
                problems
                | {f"HTTP {code}": n for code, n in failed.items()}
                | ({"poller": poller.error} if poller.error else {})
            )
        say(
            f"  p95 {self.results['e2e_p95_ms']:,} ms (p50 {self.meta['e2e']['p50_ms']:,}, "
            f"p99 {self.meta['e2e']['p99_ms']:,}); {count - unseen:,} of {count:,} seen, "
            f"{poller.polls:,} polls; POST p99 {self.meta['e2e']['post_p99_ms']} ms; "
            f"{self.meta['e2e']['rate_per_s']}/s sent; CPU {cpu.result}"
        )

    def e2e_bodies(self, run, count, rate):
        """Single text messages marked `e2e<run>-<n>`, 90% from existing contacts taken in
        turn (a conversation gets its next one len(senders) / rate seconds later, long after
        a poll showed the first: its row previews the newest message only), 10% from new
        ones; timestamps as Meta would give them while the phase runs."""
        info = self.info
        number, senders = info["number"], info["senders"]
        rng = random.Random()  # noqa: S311 - picking senders, not secrets
        now = time.time()
        for n in range(count):
            if rng.random() < 0.9:
                wa_id, name = senders[n % len(senders)]
            else:
                wa_id, name = f"2011{rng.randrange(10**8):08d}", "New Customer"
            text = f"e2e{run}-{n} " + rng.choice(ARABIC if rng.random() < 0.5 else ENGLISH)
            body = p.envelope(
                p.value(
                    phone_number_id=number["phone_number_id"],
                    display_phone_number=number["display_phone_number"],
                    contacts=[p.contact(wa_id=wa_id, name=name or None)],
                    messages=[
                        p.text_message(text, sender=wa_id, timestamp=int(now + n / rate) + 5)
                    ],
                ),
                waba_id=number["waba_id"] or p.WABA_ID,
            )
            yield p.encode(body)

    def reply_backlog(self):
        """`reply_latency_under_backlog_ms`: with automation tasks and webhook bodies
        waiting, the deployed workers start and staff replies are queued a few seconds apart;
        from each reply being queued to its Graph request reaching the fake Graph API."""
        tasks, replies = self.scale["backlog_tasks"], self.scale["backlog_replies"]
        spread = self.scale["backlog_reply_seconds"]
        say(
            f"reply_latency_under_backlog_ms: {tasks:,} automation tasks and {tasks:,} webhook "
            f"bodies waiting; {replies} replies over {spread} s; workers: "
            + ", ".join(DEPLOYED_WORKER_QUEUES)
        )
        backlog = self.ops("backlog", tasks, tasks)
        self.sql("ANALYZE django_tasks_database_dbtaskresult")
        workers = self.start_workers("backlog", DEPLOYED_WORKER_QUEUES)
        time.sleep(5)  # Django start-up and db_worker's random start-up delay
        before = self.ops("queues")
        prefix = f"Backlog reply {secrets.token_hex(3)}"
        with self.pg_activity("reply_backlog"), self.cpu_meter(workers, gunicorn=False) as cpu:
            queued = self.ops("queue-replies", replies, spread, "bench", prefix)["queued"]
            deadline = time.monotonic() + DRAIN_SECONDS
            while True:
                received = self.graph_received(prefix)
                if len(received) >= len(queued) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        after = self.ops("queues")
        now = time.time()
        for process in workers:
            self.stop(process)
        cleared = self.ops("clear-backlog", backlog["first_body"]) if backlog["bodies"] else {}
        latencies = [(received.get(text, now) - at) * 1000 for text, at in queued.items()]
        missing = len(queued) - len(set(queued) & set(received))
        self.results["reply_latency_under_backlog_ms"] = round(percentile(latencies, 95))
        self.meta["reply_backlog"] = {
            "backlog": backlog,
            "workers": list(DEPLOYED_WORKER_QUEUES),
            "replies": len(queued),
            "p50_ms": round(percentile(latencies, 50)),
            "max_ms": round(max(latencies)),
            "not_sent": missing,
            "queues_when_replying": before,
            "queues_after": after,
            "cleared": cleared,
            "cpu": cpu.result,
        }
        if missing:
            self.meta.setdefault("problems", {})["reply_backlog"] = {
                "not sent within the wait (counted as at least that long)": missing
            }
        say(
            f"  p95 {self.results['reply_latency_under_backlog_ms']:,} ms (p50 "
            f"{self.meta['reply_backlog']['p50_ms']:,}); waiting when replying: "
            f"{before['waiting']}; after: {after['waiting']}; CPU {cpu.result}"
        )

    def graph_received(self, prefix):
        query = urllib.parse.urlencode({"prefix": prefix})
        url = f"http://127.0.0.1:{self.graph_port}/bench/received?{query}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    # Driving it all.

    def run(self):
        OUT.mkdir(exist_ok=True)
        for old in OUT.glob("*"):
            old.unlink()
        self.check_tools()
        self.meta["load_average"]["start"] = os.getloadavg()
        started = time.monotonic()
        with ExitStack() as stack:
            stack.callback(self.stop_all)
            if not self.options.keep_db:
                say(f"Database {self.database_name()}: created afresh, migrated")
                self.recreate_database()
            # A kept database too: it may have been loaded by an older checkout.
            self.manage("migrate", "--no-input")
            if not self.options.keep_db:
                self.seed()
            self.manage("collectstatic", "--no-input")
            self.ops("user", "bench", self.password)
            self.info = self.ops("info")
            self.meta["dataset"] = self.info["counts"]
            graph = [PYTHON, "-m", "bench.fake_graph", "--port", str(self.graph_port)]
            self.start("fake_graph", graph)
            say(f"gunicorn (gunicorn.conf.py, bench.wsgi) on {self.base}")
            self.start_gunicorn()
            stop_sampling = threading.Event()
            sampler = threading.Thread(target=self.sample_rss, args=(stop_sampling,), daemon=True)
            sampler.start()
            self.login()
            self.meta["load_average"]["before_pages"] = os.getloadavg()
            if "pages" in self.phases:
                self.pages()
            self.meta["load_average"]["before_webhooks"] = os.getloadavg()
            if "webhook" in self.phases:
                self.webhooks()
                self.apply_backlog("webhook_single")
                applied = self.meta["apply"]["webhook_single"]["bodies_per_s"]
                self.results["apply_single_bodies_per_s"] = round(applied)
                self.meta["checks"]["after_single"] = self.ops("webhook-stats")
            if "batch" in self.phases:
                self.batches()
                self.apply_backlog("webhook_batch")
                self.meta["checks"]["after_batches"] = self.ops("webhook-stats")
            if "status" in self.phases:
                self.statuses()
                self.apply_backlog("status_batch")
            stop_sampling.set()
            sizes = self.worker_rss()
            self.results["worker_rss_mb"] = round(max(sizes), 1)
            self.meta["worker_rss_mb_all"] = [round(size, 1) for size in sizes]
            self.meta["worker_rss_peak_mb"] = round(max(self.rss_peak, *sizes), 1)
            self.meta["checks"]["after_statuses"] = self.ops("webhook-stats")
            self.meta["load_average"]["before_e2e"] = os.getloadavg()
            if "e2e" in self.phases:
                self.end_to_end()
            self.stop(self.gunicorn)
            self.meta["load_average"]["before_sending"] = os.getloadavg()
            if "send" in self.phases:
                self.sending()
            self.meta["load_average"]["before_backlog"] = os.getloadavg()
            if "backlog" in self.phases:
                self.reply_backlog()
        self.meta["load_average"]["end"] = os.getloadavg()
        self.meta["total_seconds"] = round(time.monotonic() - started)
        self.finish()

    def finish(self):
        import django
        import gunicorn
        import psycopg

        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        self.meta |= {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            # The code measured: this commit plus whatever was uncommitted at the time.
            "commit": commit,
            "quick": self.quick,
            "phases": sorted(self.phases, key=PHASES.index),
            "versions": {
                "python": platform.python_version(),
                "django": django.get_version(),
                "postgresql": self.meta.pop("versions_postgresql"),
                "gunicorn": gunicorn.__version__,
                "psycopg": psycopg.__version__,
                "wrk": wrk_version.split()[1] if wrk_version else "",
            },
            "gunicorn": gunicorn_shape(),
            "scale": self.scale,
            "goals": {key: f"{op} {value}" for key, (op, value) in GOALS.items()},
        }
        figures = {key: self.results.get(key) for key, _unit, _goal in FIGURES}
        RESULTS.write_text(json.dumps(figures | {"meta": self.meta}, indent=2, default=str) + "\n")
        table = markdown(figures, self.meta)
        print("\n" + table)
        if self.quick or self.phases != set(PHASES):
            say(f"Partial run: {RESULTS.name} written, docs/benchmarks.md left as it was.")
            return
        update_docs(table)
        say(f"Wrote {RESULTS.name} and docs/benchmarks.md ({self.meta['total_seconds']} s).")


# Helpers.


def say(text):
    print(f"[bench] {text}", flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values, share):
    """Nearest-rank percentile of a list of numbers."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-share * len(ordered) // 100))
    return ordered[int(rank) - 1]


def problems_in(result, expected):
    """What went wrong in a wrk run: unexpected status codes, socket errors and timeouts, or
    no request finishing at all (each took longer than the run)."""
    codes = {int(code): count for code, count in result["codes"].items()}
    problems = {f"HTTP {code}": n for code, n in codes.items() if code not in expected}
    problems |= {key: value for key, value in result["errors"].items() if value}
    if not result["requests"]:
        problems["no request finished within the run"] = 1
    return problems


def met(key, value):
    if key not in GOALS or value is None:
        return ""
    op, goal = GOALS[key]
    ok = value >= goal if op == ">=" else value < goal
    return "yes" if ok else "**no**"


def shown(value):
    if isinstance(value, dict):
        return ", ".join(f"{workers} worker{'s' if workers != '1' else ''}: {rate:,}"
                         for workers, rate in value.items())  # fmt: skip
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)


def markdown(figures, meta):
    versions = meta["versions"]
    load = meta["load_average"]
    dataset = meta.get("dataset", {})
    lines = [
        f"Run of {meta['date']} on {meta['cpu_count']} CPUs "
        f"(load average {load['start'][0]:.1f} at the start, {load['end'][0]:.1f} at the end): "
        f"Python {versions['python']}, Django {versions['django']}, PostgreSQL "
        f"{versions['postgresql']}, gunicorn {versions['gunicorn']} "
        f"({meta['gunicorn']['workers']} workers x {meta['gunicorn']['threads']} threads), "
        f"psycopg {versions['psycopg']}, wrk {versions['wrk']}. "
        f"Dataset: {dataset.get('messages', 0):,} messages, "
        f"{dataset.get('conversations', 0):,} conversations, "
        f"{dataset.get('status_events', 0):,} status events.",
        "",
        "| Figure | Result | Unit | Goal | Met |",
        "|---|---:|---|---|---|",
    ]
    for key, unit, goal in FIGURES:
        value = figures[key]
        lines.append(f"| `{key}` | {shown(value)} | {unit} | {goal} | {met(key, value)} |")
    failed = (meta["checks"].get("after_statuses") or {}).get("failed_items") or {}
    if failed:
        items = ", ".join(f"{count:,} x {reason}" for reason, count in failed.items())
        lines += ["", f"Webhook items that failed to apply (stored, replayable): {items}."]
    if meta.get("problems"):
        runs = "; ".join(f"{name}: {problems}" for name, problems in meta["problems"].items())
        lines += ["", f"Problems seen by wrk: {runs}."]
    applied = meta.get("apply") or {}
    if applied:
        lines += [
            "",
            "Applying what each webhook phase stored (`db_worker --queue-name webhooks`, "
            "after the phase, gunicorn idle; `meta.apply`):",
            "",
            "| Phase | workers | bodies | messages or statuses | seconds | per second | "
            "left waiting |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for phase, values in applied.items():
            lines.append(
                f"| {phase} | {values['workers']} | {values['bodies']:,} | "
                f"{values['items']:,} | {values['seconds']} | {values['items_per_s']:,.0f} | "
                f"{values['waiting']} |"
            )
    e2e = meta.get("e2e")
    if e2e:
        cpu = e2e["cpu"]
        lines += [
            "",
            f"End to end (`meta.e2e`): {e2e['bodies']:,} single-message bodies at "
            f"{e2e['rate_per_s']}/s achieved, workers {', '.join(e2e['workers'])}: p50 "
            f"{e2e['p50_ms']:,} ms, p95 {figures['e2e_p95_ms']:,} ms, p99 {e2e['p99_ms']:,} ms "
            f"(p95 from when each POST was due: {e2e['p95_from_schedule_ms']:,} ms); POST p99 "
            f"{e2e['post_p99_ms']} ms; {e2e['unseen']} never seen; machine busy "
            f"{cpu['machine_busy_share']:.0%}, CPU seconds over {cpu['wall_s']} s: "
            + ", ".join(f"{role} {seconds}" for role, seconds in cpu["cpu_s"].items())
            + ".",
        ]
    backlog = meta.get("reply_backlog")
    if backlog:
        cpu = backlog["cpu"]
        lines += [
            "",
            f"Replies under a backlog (`meta.reply_backlog`): {backlog['replies']} replies, "
            f"workers {', '.join(backlog['workers'])}, waiting as they were queued: "
            + ", ".join(f"{q} {n:,}" for q, n in backlog["queues_when_replying"]["waiting"].items())
            + f"; p50 {backlog['p50_ms']:,} ms, p95 "
            f"{figures['reply_latency_under_backlog_ms']:,} ms, max {backlog['max_ms']:,} ms; "
            f"machine busy {cpu['machine_busy_share']:.0%}.",
        ]
    activity = meta.get("pg_activity") or {}
    if activity:
        lines += [
            "",
            "Database sessions during each phase (pg_stat_activity every 100 ms, average):",
            "",
            "| Phase | running a statement | waiting for a lock | idle in transaction |",
            "|---|---:|---:|---:|",
        ]
        for phase, values in activity.items():
            lines.append(
                f"| {phase} | {values.get('running', 0):.2f} | "
                f"{values.get('waiting_for_lock', 0):.2f} | "
                f"{values.get('idle_in_transaction', 0):.2f} |"
            )
    return "\n".join(lines)


def update_docs(table):
    text = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{START_MARK}\n{END_MARK}\n"
    if START_MARK not in text:
        text += f"\n{START_MARK}\n{END_MARK}\n"
    head, rest = text.split(START_MARK, 1)
    _old, tail = rest.split(END_MARK, 1)
    DOCS.write_text(f"{head}{START_MARK}\n{table}\n{END_MARK}{tail}")


def main():
    parser = argparse.ArgumentParser(description="make bench: see bench/run.py's docstring.")
    parser.add_argument("--quick", action="store_true", help="a small, short smoke run")
    parser.add_argument(
        "--keep-db", action="store_true", help="reuse the loaded database (no seed_1m_s)"
    )
    parser.add_argument(
        "--only", help=f"comma-separated phases to run, from: {', '.join(PHASES)} (default: all)"
    )
    options = parser.parse_args()
    bench = Bench(options)
    try:
        bench.run()
    except KeyboardInterrupt:
        bench.stop_all()
        sys.exit(130)


if __name__ == "__main__":
    main()

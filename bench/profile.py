"""Where the time goes: query counts, slow queries and Python hot spots of the benchmarked paths.

    .venv/bin/python -m bench.profile                 # after `make bench` (uses its database)
    .venv/bin/python -m bench.profile --only webhook_single,list --requests 30

Runs in one process against the benchmark database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/waba_bench, loaded by `make bench`), with the benchmark's
settings (bench.settings: production settings, DEBUG off) and Django's test client, so every
middleware and view runs as under gunicorn, minus the server and the concurrency. For each
path it reports, in Markdown (also written to .bench/profile.md):

- queries per request, their total time, and statements repeated within one request;
- the slowest queries, and EXPLAIN (ANALYZE, BUFFERS) of the slowest SELECTs;
- the median time per request without the profiler (one process, the test client: compare
  versions of the code with each other, not with the wrk figures);
- the mean time per request under cProfile (profiling overhead included: compare paths with
  each other) and the functions that take it, by cumulative time in project code and by own
  time anywhere.

Writes happen for real (webhook bodies are stored and applied; opening a conversation is
audited): run it on the benchmark database only.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import secrets
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIRS = ("staff/", "messaging/", "inbox/", "automation/", "privacy/", "config/", "bench/")


def configure():
    database = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waba_bench")
    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_BENCH": "1",
        "ENV_FILE": "",
        "DEBUG": "off",
        "HTTPS_ONLY": "off",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "DATABASE_URL": database,
        "WHATSAPP_APP_SECRET": secrets.token_hex(16),
        "WHATSAPP_BACKEND": "cloud",
        "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9",
        "LOG_LEVEL": "WARNING",
    }
    import django

    django.setup()


class Paths:
    """The benchmarked requests, each a function making one request with the test client."""

    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.db.models import Count
        from django.test import Client

        from inbox.services import latest_change_id
        from messaging.models import BusinessNumber, Contact, Message

        user = get_user_model().objects.filter(username="bench").first()
        if user is None:
            sys.exit("No benchmark user: run `make bench` first (it loads the database).")
        self.client = Client()
        self.client.force_login(user)
        self.number = BusinessNumber.objects.order_by("pk").first()
        self.senders = list(
            Contact.objects.filter(conversations__business_number=self.number)
            .exclude(wa_id=None)
            .values_list("wa_id", "profile_name")[:2000]
        )
        self.big = (
            Message.objects.values_list("conversation_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("conversation_id", flat=True)[:1]
        )[0]
        self.targets = list(
            Message.objects.filter(direction="out", wamid__isnull=False)
            .order_by("-pk")
            .values_list("wamid", "conversation__contact__wa_id")[:20_000]
        )
        self.position = 0
        self.latest_change = latest_change_id
        # Taken at the first poll (the paths before it add changes), outside the requests
        # measured after it.
        self.since = None

    def post(self, body):
        from django.conf import settings

        from messaging import payloads as p

        raw = p.encode(body)
        response = self.client.post(
            "/webhooks/whatsapp/",
            raw,
            content_type="application/json",
            headers={"X-Hub-Signature-256": p.sign(raw, settings.WHATSAPP_APP_SECRETS[0])},
        )
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")
        return response

    def inbound(self, count):
        from messaging import payloads as p

        contacts, messages = {}, []
        for _ in range(count):
            wa_id, name = self.senders[self.position % len(self.senders)]
            self.position += 7
            contacts[wa_id] = p.contact(wa_id=wa_id, name=name or None)
            messages.append(p.text_message("Hi! Is my order on its way?", sender=wa_id))
        return p.envelope(
            p.value(
                phone_number_id=self.number.phone_number_id,
                display_phone_number=self.number.display_phone_number,
                contacts=list(contacts.values()),
                messages=messages,
            )
        )

    def webhook_single(self):
        return self.post(self.inbound(1))

    def webhook_batch(self):
        return self.post(self.inbound(50))

    def status_batch(self):
        from messaging import payloads as p

        statuses = []
        moment = int(time.time()) - secrets.randbelow(10**6)
        for _ in range(50):
            wamid, wa_id = self.targets[self.position % len(self.targets)]
            self.position += 1
            statuses.append(p.status(wamid, "read", timestamp=moment, recipient=wa_id))
        body = p.envelope(
            p.value(
                phone_number_id=self.number.phone_number_id,
                display_phone_number=self.number.display_phone_number,
                statuses=statuses,
            )
        )
        return self.post(body)

    def get(self, path, expected=200):
        response = self.client.get(path)
        if response.status_code != expected:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return response

    def list(self):
        return self.get("/")

    def search(self):
        return self.get("/?q=refund")

    def search_arabic(self):
        return self.get("/?q=الشحن")

    def conversation(self):
        return self.get(f"/c/{self.big}/")

    def poll(self):
        if self.since is None:
            self.since = self.latest_change()
        return self.get(f"/poll/?since={self.since}", expected=204)


NAMES = [
    "webhook_single",
    "webhook_batch",
    "status_batch",
    "list",
    "search",
    "search_arabic",
    "conversation",
    "poll",
]


def normalise(sql):
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    return re.sub(r"\((\?, )+\?\)", "(…)", sql)


def short(sql, length=160):
    sql = " ".join(sql.split())
    return sql if len(sql) <= length else sql[: length - 1] + "…"


class Recorder:
    """An execute wrapper: each statement's SQL (parameters filled in) and duration."""

    def __init__(self, connection):
        self.connection = connection
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            try:
                text = self.connection.ops.last_executed_query(context["cursor"], sql, params)
            except Exception:  # e.g. executemany: keep the template
                text = sql
            self.queries.append({"sql": text or sql, "time": elapsed})


def explain(sql):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def profile(paths, name, requests, out, show_queries=False):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request = getattr(paths, name)
    for _ in range(3):  # warm: imports, templates, caches
        request()
    # Several requests, each statement's time the median over them: on a shared, noisy
    # machine a single request's timings mostly measure the scheduler. Timed here, with
    # perf_counter (connection.queries rounds to whole milliseconds); transaction control
    # (BEGIN, COMMIT) is counted from connection.queries, where Django logs it.
    runs, statements = [], []
    for _ in range(5):
        recorder = Recorder(connection)
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(recorder):
            request()
        runs.append(recorder.queries)
        statements.append(len(captured.captured_queries))
    queries = [dict(q) for q in runs[-1]]
    comparable = [run for run in runs if len(run) == len(queries)]
    for position, query in enumerate(queries):
        query["time"] = statistics.median(run[position]["time"] for run in comparable)
    total = sum(q["time"] for q in queries) * 1000
    out(f"\n## `{name}`\n")
    out(
        f"- statements per request: **{statements[-1]}** ({len(queries)} through the cursor, "
        f"the rest BEGIN/COMMIT); over 5 requests: {sorted(set(statements))}; "
        f"{total:.1f} ms in the database (median per statement)"
    )
    if show_queries:
        out("- every statement through the cursor, in order (median ms):")
        for query in queries:
            out(f"  - {query['time'] * 1000:6.2f} `{short(query['sql'], 150)}`")
    repeated = Counter(normalise(q["sql"]) for q in queries)
    repeats = [(n, sql) for sql, n in repeated.most_common() if n > 1]
    if repeats:
        out("- statements repeated within the request:")
        for n, sql in repeats[:6]:
            out(f"  - {n} x `{short(sql, 140)}`")
    slowest = sorted(queries, key=lambda q: q["time"], reverse=True)[:5]
    out("- slowest queries:")
    for query in slowest:
        out(f"  - {query['time'] * 1000:.2f} ms `{short(query['sql'])}`")
    if connection.vendor == "postgresql":
        selects = [q for q in slowest if q["sql"].lstrip().upper().startswith("SELECT")][:2]
        for query in selects:
            if query["time"] * 1000 < 0.5:
                continue
            out(f"\n<details><summary>EXPLAIN ANALYZE ({query['time'] * 1000:.2f} ms)"
                "</summary>\n\n```sql")  # fmt: skip
            out(query["sql"])
            out("```\n```")
            out(explain(query["sql"]))
            out("```\n</details>\n")

    # Unprofiled first: what one request costs in one process with nothing else running in
    # it, comparable between versions of the code (the wrk figures add the server and the
    # machine's other work).
    wall = []
    for _ in range(requests):
        started = time.perf_counter()
        request()
        wall.append((time.perf_counter() - started) * 1000)
    wall.sort()
    out(
        f"- {statistics.median(wall):.1f} ms per request in one process without the profiler "
        f"(median of {requests}; p90 {wall[int(len(wall) * 0.9)]:.1f} ms)"
    )

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(requests):
        request()
    profiler.disable()
    elapsed = (time.perf_counter() - started) / requests * 1000
    out(f"- {elapsed:.1f} ms per request under cProfile ({requests} requests)")
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        rows.append((cumulative, own, calls, filename, line, function))
    per = requests / 1000  # seconds over `requests` requests -> ms per request

    def cumulative_of(function):
        code = function.__code__
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        return stats.stats[key][3] / per if key in stats.stats else 0.0

    from django.db.backends.utils import CursorWrapper
    from django.template.base import Template

    sql = cumulative_of(CursorWrapper._execute)
    templates = cumulative_of(Template.render)
    out(
        f"- of which executing SQL (round trips, waits for the server included): {sql:.1f} ms; "
        f"rendering templates: {templates:.1f} ms; the rest is Python in views, ORM and "
        "middleware"
    )
    project = [
        r
        for r in rows
        if any(f"/{d}" in r[3] for d in PROJECT_DIRS)
        and ".venv" not in r[3]
        and "bench/profile.py" not in r[3]
        and r[5] != "__call__"  # the middleware chain: everything is inside it
    ]
    out("- project functions by cumulative time (per request; middleware wrappers left out):")
    for cumulative, _own, calls, filename, line, function in sorted(project, reverse=True)[:14]:
        where = filename.replace(str(ROOT) + "/", "")
        out(f"  - {cumulative / per:6.1f} ms  {calls / requests:5.1f} calls  "
            f"`{where}:{line} {function}`")  # fmt: skip
    out("- own time, anywhere (per request):")
    for _cumulative, own, calls, filename, line, function in sorted(
        rows, key=lambda r: r[1], reverse=True
    )[:12]:
        where = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        out(f"  - {own / per:6.1f} ms  {calls / requests:7.1f} calls  "
            f"`{where}:{line} {function}`")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(NAMES)}")
    parser.add_argument("--requests", type=int, default=20, help="requests profiled per path")
    parser.add_argument("--queries", action="store_true", help="list every statement")
    options = parser.parse_args()
    configure()
    names = options.only.split(",") if options.only else NAMES
    report = io.StringIO()

    def out(line=""):
        print(line, flush=True)
        report.write(line + "\n")

    out(f"# Profile of the benchmarked paths ({time.strftime('%Y-%m-%d %H:%M')})")
    paths = Paths()
    for name in names:
        profile(paths, name, options.requests, out, show_queries=options.queries)
    target = ROOT / ".bench" / "profile.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(report.getvalue())


if __name__ == "__main__":
    main()

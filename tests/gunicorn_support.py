"""The project served by gunicorn, as in production, for tests of what only a real server
shows (how it frames request bodies, for one). Its database must be the test's: see the
`gunicorn_server` fixture in tests/messaging/conftest.py.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict):
    """A DATABASE_URL for the connection settings `settings_dict` (SQLite or PostgreSQL)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    credentials = quote(settings_dict["USER"] or "", safe="")
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(settings_dict['NAME'], safe='')}"


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py config.wsgi` on a free loopback port, one worker.

    The environment is the test run's (pytest-env's settings: DEBUG off, the test app secret,
    the locmem transport) plus the database; never a developer's .env.
    """

    def __init__(self, database, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {
            **os.environ,
            "ENV_FILE": "",
            "DATABASE_URL": database,
            # Connections end with each request, so none is left on the test database
            # when pytest-django drops it.
            "CONN_MAX_AGE": "0",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = Path(log_path).open("wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_ready(self, timeout=60):
        """Until /healthz answers 200 (the worker is up and reaches the database). The first
        answer can be slow on a busy machine: only the deadline ends the wait."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.output()}")
            try:
                last = requests.get(f"{self.url}/healthz", timeout=5)
                if last.status_code == 200:
                    return
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(
            f"gunicorn did not answer within {timeout} s (last: {last!r}):\n{self.output()}"
        )

    def output(self):
        return Path(self.log_path).read_text(errors="replace")[-4000:]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

"""Create CI's PostgreSQL database, once the server answers: `ci_database.py URL NAME [WAIT]`.

URL is the server's maintenance database (e.g. postgres://postgres@127.0.0.1:5432/postgres);
NAME is created unless it exists. A server that is still starting gets WAIT seconds (default
30) to answer; one that never does is a one-line error saying where it was looked for, not a
traceback.
"""

import sys
import time

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict


def connect(url, wait):
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise SystemExit(unreachable(url, wait, exc)) from None
            time.sleep(1)


def unreachable(url, wait, exc):
    where = conninfo_to_dict(url)
    # psycopg's first line says what failed ("… port 5432 failed: Connection refused").
    reason = str(exc).strip().splitlines()[0].rpartition(": ")[2] or type(exc).__name__
    return (
        f"PostgreSQL does not answer at {where.get('host', 'localhost')}:"
        f"{where.get('port', 5432)} (waited {wait:g} s: {reason}). Start it, or point "
        f"CI_POSTGRES_URL at a server (postgres://user@host:port)."
    )


def main(url, name, wait="30"):
    with connect(url, float(wait)) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not exists.fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    main(*sys.argv[1:])

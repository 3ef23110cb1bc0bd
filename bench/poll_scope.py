"""The poll under number scope, measured in one process through Django's test client on
PostgreSQL (docs/benchmarks.md, "Poll under number scope"):

    .venv/bin/python -m bench.poll_scope [--conversations 2000] [--changes 5000] [--polls 300]

Loads its own database afresh (POLL_BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/waba_poll_bench; dropped and created again, so its name
must contain "bench") with two business numbers of `--conversations` conversations each, a
Supervisor of every number and an Agent limited to the first, then times, per request:
signing a user in (the backend's one statement), an idle poll of each, and the agent's poll
after `--changes` changes on the second number (what it must look past to answer 204).
Prints the statements per request, the median and 90th percentile wall time and the median
CPU time of the process. Compare versions of the code with each other, on the same machine.
"""

import argparse
import os
import statistics
import time
from functools import partial

from psycopg import connect, sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/waba_poll_bench"


def fresh_database(url):
    server, name = url.rsplit("/", 1)
    if "bench" not in name:
        raise SystemExit(f"{name}: the database is dropped first, so its name must hold 'bench'")
    with connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def load(conversations):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from messaging.models import BusinessNumber, Contact, Conversation, InboxChange
    from staff.models import StaffProfile

    call_command("migrate", verbosity=0)
    now = timezone.now()
    numbers, by_number = [], {}
    for serial in (1, 2):
        number = BusinessNumber.objects.create(phone_number_id=str(serial))
        contacts = Contact.objects.bulk_create(
            Contact(wa_id=f"9665{serial}{i:07d}") for i in range(conversations)
        )
        by_number[number.pk] = Conversation.objects.bulk_create(
            Conversation(business_number=number, contact=contact, last_message_at=now)
            for contact in contacts
        )
        InboxChange.objects.bulk_create(InboxChange(conversation=c) for c in by_number[number.pk])
        numbers.append(number)
    users = {}
    for name, role in [("boss", "Supervisor"), ("agent", "Agent")]:
        users[name] = get_user_model().objects.create_user(name, is_staff=True)
        users[name].groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=users["agent"]).numbers.add(numbers[0])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return users, by_number[numbers[1].pk]


def timed(label, call, repeat):
    from django.db import connection

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    for _ in range(20):
        call()  # warm: connections, caches, compiled statements
    with connection.execute_wrapper(count):
        answer = call()
    status = answer if isinstance(answer, int) else ""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(
        f"{label:<52} {status:>4}  {len(statements)} statements  wall "
        f"{statistics.median(walls) * 1000:6.2f} ms (p90 "
        f"{statistics.quantiles(walls, n=10)[-1] * 1000:6.2f})  CPU "
        f"{statistics.median(cpus) * 1000:6.2f} ms"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--polls", type=int, default=300)
    args = parser.parse_args()
    url = os.environ.get("POLL_BENCH_DATABASE_URL", DEFAULT_URL)
    fresh_database(url)
    os.environ["BENCH_DATABASE_URL"] = url
    from bench.profile import configure

    configure()  # bench.settings: the production settings, DEBUG off
    from django.test import Client

    from messaging.models import InboxChange
    from staff.backends import OneQueryModelBackend

    users, elsewhere = load(args.conversations)
    clients = {name: Client() for name in users}
    for name, client in clients.items():
        client.force_login(users[name])
    since = InboxChange.objects.latest("pk").pk

    def poll(client):
        return client.get(f"/poll/?since={since}").status_code

    backend = OneQueryModelBackend()
    for name, user in users.items():
        signed_in = partial(backend.get_user, user.pk)
        timed(f"{name}: user, permissions and numbers read", signed_in, args.polls)
    timed("supervisor of every number, idle poll", partial(poll, clients["boss"]), args.polls)
    timed("agent limited to number 1, idle poll", partial(poll, clients["agent"]), args.polls)
    InboxChange.objects.bulk_create(
        InboxChange(conversation=elsewhere[i % len(elsewhere)]) for i in range(args.changes)
    )
    busy = f"agent, after {args.changes} changes on number 2"
    timed(busy, partial(poll, clients["agent"]), args.polls)


if __name__ == "__main__":
    main()

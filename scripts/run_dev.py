"""`make run`: migrate, load demo data, then serve the inbox and run the task workers together.

Development defaults fill only variables that are unset in both the environment and .env, so a
developer's own configuration (e.g. DATABASE_URL=postgres://…) always wins. Ctrl-C stops every
process; if one dies, the others are stopped too.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Where the development server listens unless RUN_ADDRESS (environment or .env) says otherwise.
ADDRESS = "127.0.0.1:8000"


# The task workers, by the queues they serve (messaging.queues): one for staff replies alone,
# so a reply never waits for a long automation or upkeep task to finish, and one for every
# queue, taking the most urgent waiting task first.
WORKER_QUEUES = ("sending", "*")


# Development stand-ins for secrets that production reads from the environment.
DEVELOPMENT_SECRETS = {
    "SECRET_KEY": "django-insecure-local-development-only",
    "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
    "WHATSAPP_APP_SECRET": "dev-app-secret",
}


def development_defaults(environ):
    """What `make run` adds to `environ` (the variables already set, .env included).

    A secret counts as set when either NAME or NAME_FILE is (the settings refuse both at
    once), and a configured access token, in either form, keeps the real transport.
    """

    def is_set(name):
        return bool(environ.get(name) or environ.get(f"{name}_FILE"))

    defaults = {"DEBUG": "on"} if not environ.get("DEBUG") else {}
    defaults |= {name: value for name, value in DEVELOPMENT_SECRETS.items() if not is_set(name)}
    if not environ.get("WHATSAPP_BACKEND") and not is_set("WHATSAPP_ACCESS_TOKEN"):
        defaults["WHATSAPP_BACKEND"] = "console"
    return defaults


def load_environment():
    import environ

    env_file = BASE_DIR / ".env"
    if env_file.is_file():
        environ.Env.read_env(str(env_file))
    os.environ.update(development_defaults(os.environ))
    if not os.environ.get("DEMO_PASSWORD"):
        os.environ["DEMO_PASSWORD"] = demo_password()
    os.environ["PYTHONUNBUFFERED"] = "1"


def demo_password():
    """One random password per checkout, kept in a git-ignored file, so it survives restarts."""
    path = BASE_DIR / ".demo-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def serving_address(environ):
    return environ.get("RUN_ADDRESS", "").strip() or ADDRESS


def manage(*args):
    return [sys.executable, str(BASE_DIR / "manage.py"), *args]


def main():
    load_environment()
    address = serving_address(os.environ)
    for step in (["migrate", "--no-input"], ["seed_demo", "--address", address]):
        subprocess.run(manage(*step), check=True, cwd=BASE_DIR)
    print(f"\nServing http://{address}/ with the task workers. Stop with Ctrl-C.\n", flush=True)
    # Ctrl-C must reach this process even when started from a shell that ignores it; the
    # children live in their own process groups (runserver's autoreloader forks a child of
    # its own) and are stopped from here, group by group.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    processes = [
        subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
        for command in commands(address)
    ]
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping the server and the task workers…", flush=True)
        stop(processes)
        return 0
    print("A process stopped unexpectedly; stopping the others.", file=sys.stderr)
    stop(processes)
    return 1


def commands(address):
    """The development server and the task workers."""
    workers = [manage("db_worker", "--queue-name", queue) for queue in WORKER_QUEUES]
    return [manage("runserver", address), *workers]


def stop(processes):
    """SIGTERM each process group (the worker finishes its current task), SIGKILL after 10 s."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)

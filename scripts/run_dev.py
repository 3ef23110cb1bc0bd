"""`make run`: migrate, load demo data, then serve the inbox and run the task worker together.

Development defaults fill only variables that are unset in both the environment and .env, so a
developer's own configuration (e.g. DATABASE_URL=postgres://…) always wins. Ctrl-C stops both
processes; if either one dies, the other is stopped too.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ADDRESS = "127.0.0.1:8000"


def load_environment():
    import environ

    env_file = BASE_DIR / ".env"
    if env_file.is_file():
        environ.Env.read_env(str(env_file))
    defaults = {
        "DEBUG": "on",
        "SECRET_KEY": "django-insecure-local-development-only",
        "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
        "WHATSAPP_APP_SECRET": "dev-app-secret",
    }
    if not os.environ.get("WHATSAPP_ACCESS_TOKEN"):
        defaults["WHATSAPP_BACKEND"] = "console"
    for name, value in defaults.items():
        if not os.environ.get(name):
            os.environ[name] = value
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


def manage(*args):
    return [sys.executable, str(BASE_DIR / "manage.py"), *args]


def main():
    load_environment()
    for step in (["migrate", "--no-input"], ["seed_demo"]):
        subprocess.run(manage(*step), check=True, cwd=BASE_DIR)
    print(f"\nServing http://{ADDRESS}/ with the task worker. Stop both with Ctrl-C.\n", flush=True)
    processes = [
        subprocess.Popen(manage("runserver", ADDRESS), cwd=BASE_DIR),
        subprocess.Popen(manage("db_worker", "--queue-name", "*"), cwd=BASE_DIR),
    ]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    exit_code = 0
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        exit_code = next(p.returncode for p in processes if p.returncode is not None) or 1
        print("A process stopped unexpectedly; stopping the other.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    return exit_code


def stop(processes):
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)

"""scripts/ci_database.py: CI's PostgreSQL database, or a clear word when there is no server."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ci_database.py"


def test_an_unreachable_server_is_one_clear_line_not_a_traceback():
    # Port 1 on loopback: nothing listens there, so the connection is refused at once. No
    # time to wait: one attempt.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "postgres://postgres@127.0.0.1:1/postgres", "x", "0"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("PostgreSQL does not answer at 127.0.0.1:1 (waited 0 s: ")
    assert "Connection refused" in result.stderr
    assert "CI_POSTGRES_URL" in result.stderr

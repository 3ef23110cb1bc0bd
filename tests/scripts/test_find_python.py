"""scripts/find-python: how `make` chooses the interpreter for .venv."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "find-python"


def fake_python(directory, name, works=True):
    path = directory / name
    if works:
        path.symlink_to(sys.executable)
    else:  # like a pyenv shim for a version that is not selected
        path.write_text('#!/bin/sh\necho "pyenv: $0: command not found" >&2\nexit 127\n')
        path.chmod(0o755)
    return path


# What the script runs besides the Pythons it tries. Only these are on PATH, so a real Python
# of the machine's (e.g. /usr/bin/python3.13) can never be found instead of the fakes.
TOOLS = ["sh", "ls", "sort"]


def find_python(bin_dir, home):
    tools = home / "tools"
    if not tools.exists():
        tools.mkdir()
        for tool in TOOLS:
            (tools / tool).symlink_to(shutil.which(tool))
    return subprocess.run(
        [str(tools / "sh"), str(SCRIPT)],
        env={"PATH": f"{bin_dir}:{tools}", "HOME": str(home), "PYENV_ROOT": str(home / ".pyenv")},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def bin_dir(tmp_path):
    path = tmp_path / "bin"
    path.mkdir()
    return path


def test_it_prefers_python3_13(bin_dir, tmp_path):
    expected = fake_python(bin_dir, "python3.13")
    fake_python(bin_dir, "python3")

    assert find_python(bin_dir, tmp_path).stdout.strip() == str(expected)


def test_it_skips_shims_that_do_not_run_and_falls_back_to_pyenv_builds(bin_dir, tmp_path):
    fake_python(bin_dir, "python3.13", works=False)
    fake_python(bin_dir, "python3.12", works=False)
    for version in ("3.12.1", "3.13.0"):
        build = tmp_path / ".pyenv" / "versions" / version / "bin"
        build.mkdir(parents=True)
        fake_python(build, "python3")

    result = find_python(bin_dir, tmp_path)

    assert result.stdout.strip() == str(tmp_path / ".pyenv/versions/3.13.0/bin/python3")


def test_it_accepts_python3_when_new_enough(bin_dir, tmp_path):
    expected = fake_python(bin_dir, "python3")

    assert find_python(bin_dir, tmp_path).stdout.strip() == str(expected)


def test_it_explains_what_to_do_when_nothing_fits(bin_dir, tmp_path):
    fake_python(bin_dir, "python3.13", works=False)

    result = find_python(bin_dir, tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    assert "No Python >= 3.12 found" in result.stderr

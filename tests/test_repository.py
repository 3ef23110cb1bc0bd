"""What the repository must never contain (issue 2: "`git grep` finds no registry host name
and no secret"): package-registry addresses, and credentials. Installs name packages and exact
versions only (requirements.lock), so the ordinary clients' own configuration says where from.

Every tracked text file is read, as `git grep` would. The host names are built from their
parts here, or this file would be the first to contain them.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

REGISTRY_HOSTS = [
    ".".join(parts)
    for parts in [
        ("pypi", "org"),
        ("pypi", "python", "org"),
        ("files", "pythonhosted", "org"),
        ("deb", "debian", "org"),
        ("security", "debian", "org"),
        ("ftp", "debian", "org"),
        ("archive", "ubuntu", "com"),
        ("registry", "npmjs", "org"),
        ("registry", "yarnpkg", "com"),
        ("proxy", "golang", "org"),
        ("index", "docker", "io"),
    ]
]
# Credentials in the shapes their issuers give them. The prefixes are split for the same reason.
CREDENTIALS = {
    "a Meta access token": "E" + r"AA[A-Za-z0-9]{60,}",
    "an AWS access key": "AK" + r"IA[0-9A-Z]{16}",
    "a private key": "-----BEGIN " + r"[A-Z ]*PRIVATE KEY-----",
    "a GitHub token": "gh" + r"[pousr]_[A-Za-z0-9]{36,}",
    "a Slack token": "xo" + r"x[abprs]-[A-Za-z0-9-]{10,}",
    "a Google API key": "AI" + r"za[0-9A-Za-z_-]{35}",
}
# A password inside a URL (scheme://user:password@host) must be a placeholder in capitals or
# the word "password", as in the README and .env.example.
URL_PASSWORD = re.compile(r"://[^/\s:@\"'`]+:([^/\s@\"'`]+)@")


def tracked_text_files():
    git = shutil.which("git")
    listing = git and subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if not listing or listing.returncode != 0:
        pytest.skip("not a git checkout (or no git): nothing is tracked to search")
    for name in filter(None, listing.stdout.decode().split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        data = path.read_bytes()
        if b"\0" not in data:  # binary files (images, the compiled catalogue) are skipped
            yield name, data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def files():
    return dict(tracked_text_files())


def test_the_search_reads_the_repository(files):
    assert {"pyproject.toml", "requirements.lock", "config/settings.py", ".env.example"} <= set(
        files
    )


def test_no_file_names_a_package_registry(files):
    found = {
        (name, host) for name, text in files.items() for host in REGISTRY_HOSTS if host in text
    }

    assert found == set()


def test_the_lock_file_pins_names_and_versions_only(files):
    pins = [line for line in files["requirements.lock"].splitlines() if not line.startswith("#")]

    assert pins
    assert [
        line for line in pins if not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+-]+", line)
    ] == []


def test_no_file_holds_a_credential(files):
    found = {
        (name, kind)
        for name, text in files.items()
        for kind, pattern in CREDENTIALS.items()
        if re.search(pattern, text)
    }

    assert found == set()


def test_passwords_in_urls_are_placeholders(files):
    found = {
        (name, password)
        for name, text in files.items()
        for password in URL_PASSWORD.findall(text)
        if not (password.isupper() or password == "password")
    }

    assert found == set()

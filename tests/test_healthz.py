import pytest
from django.db import connections


@pytest.fixture
def unreachable_database(django_db_blocker):
    """Point the default connection at a database that cannot be reached, then restore it."""
    original = connections["default"]
    broken = connections.create_connection("default")
    if broken.vendor == "sqlite":
        broken.settings_dict = {**broken.settings_dict, "NAME": "/nonexistent/dir/db.sqlite3"}
    else:
        broken.settings_dict = {**broken.settings_dict, "HOST": "127.0.0.1", "PORT": "1"}
    connections["default"] = broken
    with django_db_blocker.unblock():
        yield
    broken.close()
    connections["default"] = original


@pytest.mark.django_db
def test_it_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_reports_503_when_the_database_is_unreachable(client, unreachable_database):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"


@pytest.mark.django_db
def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405

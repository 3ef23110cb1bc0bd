import io
import re

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def authenticate(**credentials):
    """As the login page does: django-axes (login throttling) needs the request."""
    return django_authenticate(RequestFactory().post("/accounts/login/"), **credentials)


def seed(**options):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_it_creates_a_staff_account_and_prints_its_login():
    output = seed(password="a-demo-password")

    user = authenticate(username="demo", password="a-demo-password")
    assert user is not None
    assert user.is_staff
    assert "demo / a-demo-password" in output


def test_without_a_password_it_picks_a_random_one_that_works():
    output = seed(password=None)

    password = re.search(r"as demo / (\S+)", output).group(1)
    assert len(password) >= 12
    assert authenticate(username="demo", password=password) is not None


def test_running_it_again_updates_instead_of_duplicating():
    seed(password="first-password")
    seed(password="second-password")

    assert get_user_model().objects.filter(username="demo").count() == 1
    assert authenticate(username="demo", password="second-password") is not None


def test_an_unchanged_password_is_not_rehashed_so_sessions_survive():
    seed(password="same-password")
    before = get_user_model().objects.get(username="demo").password

    seed(password="same-password")

    assert get_user_model().objects.get(username="demo").password == before


def test_it_delivers_demo_conversations_through_the_webhook_path_once():
    from messaging.models import Contact, Conversation, Message, WebhookEvent

    seed(password="pw-one-two-three")
    counts = (WebhookEvent.objects.count(), Message.objects.count(), Conversation.objects.count())
    seed(password="pw-one-two-three")

    assert counts == (
        WebhookEvent.objects.count(),
        Message.objects.count(),
        Conversation.objects.count(),
    )
    assert counts[2] == 4
    assert not WebhookEvent.objects.exclude(state="processed").exists()
    assert Contact.objects.filter(wa_id=None, username="noor.reads").exists()
    assert Message.objects.get(wamid="wamid.DEMO-omar-1").reactions == {"contact": "👍"}
    assert Message.objects.get(wamid="wamid.DEMO-reply-1").status == "read"
    failed = Message.objects.get(wamid="wamid.DEMO-reply-3")
    assert (failed.status, failed.error_code) == ("failed", 131047)

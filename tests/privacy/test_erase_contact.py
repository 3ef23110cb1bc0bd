"""`manage.py erase_contact <phone-or-BSUID> [--no-input]`."""

import io

import pytest
from django.core.management import CommandError, call_command

from messaging.models import Contact
from privacy.models import AuditEvent, DeletionRequest, ErasureTombstone
from privacy.scrub import id_hash
from tests.erasure_support import (
    OMAR_PHONE,
    ZAINAB_BSUID,
    ZAINAB_PHONE,
    traces,
    zainab_needles,
)

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("erase_contact", *args, stdout=out)
    return out.getvalue()


def test_with_no_input_it_erases_and_records_a_completed_request(world):
    output = run(f"+{ZAINAB_PHONE}", "--no-input")

    assert "Messages (content and metadata): 5" in output
    assert "Raw webhook bodies rewritten without this person: 3" in output
    request = DeletionRequest.objects.get()
    assert request.status == DeletionRequest.Status.COMPLETED
    assert request.channel == DeletionRequest.Channel.EMAIL
    assert request.erased["messages"] == 5
    assert (request.phone, request.user_id) == ("", "")
    assert f"Deletion request #{request.pk} completed" in output
    assert traces(zainab_needles()) == []
    assert Contact.objects.filter(wa_id=OMAR_PHONE).exists()


def test_it_shows_the_counts_and_asks_before_erasing(world, monkeypatch):
    questions = []
    monkeypatch.setattr("builtins.input", lambda prompt: questions.append(prompt) or "yes")

    output = run(ZAINAB_BSUID)

    assert len(questions) == 1
    assert output.index("Messages (content and metadata): 5") < output.index("Erased:")
    assert not Contact.objects.filter(user_id=ZAINAB_BSUID).exists()


def test_answering_anything_but_yes_changes_nothing(world, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "n")

    output = run(ZAINAB_PHONE)

    assert "cancelled" in output
    assert Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()
    assert not DeletionRequest.objects.exists()
    assert not ErasureTombstone.objects.exists()


def test_the_output_names_nobody(world):
    output = run(ZAINAB_PHONE, "--no-input")

    assert not any(needle in output for needle in zainab_needles())


def test_an_unknown_id_still_leaves_a_tombstone_and_a_request(db):
    output = run("+44 7700 900123", "--no-input", "--channel", "phone")

    assert "No contact record has this id" in output
    request = DeletionRequest.objects.get()
    assert request.channel == DeletionRequest.Channel.PHONE
    assert request.status == DeletionRequest.Status.COMPLETED
    assert ErasureTombstone.objects.get().id_hash == id_hash("447700900123")


def test_the_handler_can_be_named(world, staff_user):
    run(ZAINAB_PHONE, "--no-input", "--handled-by", staff_user.username)

    request = DeletionRequest.objects.get()
    assert (request.handled_by, request.handled_by_name) == (staff_user, "amina")
    erasure = AuditEvent.objects.get(action="erase")
    assert (erasure.actor, erasure.actor_name) == (staff_user, "amina")


def test_without_a_handler_the_operating_system_user_is_recorded(world, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "opsadmin")

    run(ZAINAB_PHONE, "--no-input")

    request = DeletionRequest.objects.get()
    assert (request.handled_by, request.handled_by_name) == (None, "opsadmin (command line)")
    erasure = AuditEvent.objects.get(action="erase")
    assert (erasure.actor, erasure.actor_name) == (None, "opsadmin (command line)")


def test_without_any_login_name_it_is_still_recorded_as_the_command_line(db, monkeypatch):
    def no_login_name():
        raise OSError("no username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_login_name)

    run(ZAINAB_PHONE, "--no-input")

    assert DeletionRequest.objects.get().handled_by_name == "command line"
    assert AuditEvent.objects.get(action="erase").actor_name == "command line"


def test_nonsense_is_refused(db):
    with pytest.raises(CommandError):
        run("   ", "--no-input")
    with pytest.raises(CommandError):
        run(ZAINAB_PHONE, "--no-input", "--handled-by", "nobody")
    assert not DeletionRequest.objects.exists()

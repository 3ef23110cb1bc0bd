"""The conversation header (inbox/conversation_header.html) and the contact panel beside it
(inbox/contact_panel.html), as the server renders them."""

import re

import pytest
from django.urls import reverse

from automation.models import ConversationLabel, Label, Note
from messaging.models import Conversation
from privacy.models import DeletionRequest
from staff.models import StaffProfile
from tests.number_scope_support import SAMI_TEXT_2, two_numbers

pytestmark = pytest.mark.django_db


def page(client, conversation):
    return client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()


def header_of(html):
    return html.split('id="conversation-header"', 1)[1].split("</header>", 1)[0]


def panel_of(html):
    return html.split('id="contact-panel"', 1)[1].split("</aside>", 1)[0]


def menu_of(html):
    return header_of(html).split('class="more-menu"', 1)[1]


def test_the_deletion_request_waits_behind_a_confirmation_in_the_more_menu(
    staff_client, conversation
):
    html = page(staff_client, conversation)

    menu = menu_of(html)
    confirmation = menu.split('<details class="confirm">', 1)[1].split("</details>", 1)[0]
    assert reverse("inbox:deletion_request", args=[conversation.pk]) in confirmation
    assert "Record deletion request" in confirmation
    # Not a button of the header's own: it takes opening the menu, then the question.
    actions = header_of(html).split('class="more-menu"', 1)[0]
    assert "deletion-request" not in actions


def test_an_open_deletion_request_shows_as_a_chip_and_leaves_the_menu(
    staff_client, staff_user, conversation
):
    deletion, _ = DeletionRequest.objects.record_from_inbox(conversation.contact, by=staff_user)

    html = page(staff_client, conversation)

    header = header_of(html)
    assert 'class="chip chip-deletion"' in header
    assert f"Deletion request #{deletion.pk} is open" in header
    assert "Customer asked for deletion" not in header
    assert f"#{deletion.pk} open" in panel_of(html)


def test_a_handled_deletion_request_is_no_longer_shown(staff_client, staff_user, conversation):
    deletion, _ = DeletionRequest.objects.record_from_inbox(conversation.contact, by=staff_user)
    DeletionRequest.objects.filter(pk=deletion.pk).update(
        status=DeletionRequest.Status.REJECTED, rejection_reason="Not the account holder"
    )

    html = page(staff_client, conversation)

    assert "chip-deletion" not in html
    assert "Customer asked for deletion" in menu_of(html)


def test_header_actions_are_svg_icons_named_for_screen_readers(staff_client, conversation):
    header = header_of(page(staff_client, conversation))

    for name in ("All conversations", "Assign to me", "Contact details", "More actions"):
        assert re.search(
            rf'<svg class="icon [^"]*" aria-hidden="true"[^>]*><use href="[^"]*sprite[^"]*#'
            rf'[a-z-]+"></use></svg><span class="visually-hidden">{name}</span>',
            header,
        ), name


def test_the_contact_panel_lists_the_contacts_other_conversations_labels_and_notes(
    staff_client, staff_user
):
    numbers = two_numbers()
    here, there = Conversation.objects.filter(contact=numbers.sami).order_by("business_number")
    label = Label.objects.create(name="VIP")
    ConversationLabel.objects.create(conversation=there, label=label)
    Note.objects.create(conversation=there, author=staff_user, text="Prefers Arabic replies")

    panel = panel_of(page(staff_client, here))

    assert reverse("inbox:conversation", args=[there.pk]) in panel
    assert str(numbers.number_2) in panel
    assert ">VIP<" in panel
    assert "Prefers Arabic replies" in panel


def test_the_contact_panel_keeps_to_the_numbers_its_reader_may_open(staff_client, staff_user):
    numbers = two_numbers()
    StaffProfile.objects.create(user=staff_user).numbers.add(numbers.number_1)
    here, there = Conversation.objects.filter(contact=numbers.sami).order_by("business_number")
    Note.objects.create(conversation=there, author=staff_user, text="A note on number two")

    html = page(staff_client, here)

    panel = panel_of(html)
    assert reverse("inbox:conversation", args=[there.pk]) not in panel
    assert "A note on number two" not in panel
    assert SAMI_TEXT_2 not in html


def test_the_contact_panel_costs_the_same_queries_however_many_notes_there_are(
    staff_client, staff_user, django_assert_max_num_queries
):
    numbers = two_numbers()
    here = Conversation.objects.get(contact=numbers.sami, business_number=numbers.number_1)
    page(staff_client, here)
    with django_assert_max_num_queries(1000) as captured:
        page(staff_client, here)
    few = len(captured)
    there = Conversation.objects.get(contact=numbers.sami, business_number=numbers.number_2)
    for i in range(10):
        Note.objects.create(conversation=there, author=staff_user, text=f"note {i}")
        Note.objects.create(conversation=here, author=staff_user, text=f"here {i}")

    with django_assert_max_num_queries(few):
        page(staff_client, here)

"""Number scope (StaffProfile.objects.number_scope) and what it lets each person see of the
messaging models (`Model.objects.visible_to(user)`)."""

import pytest
from django.utils import timezone

from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    StatusEvent,
    WebhookEvent,
)
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales():
    return conversation_on("111", "966500000001")


@pytest.fixture
def support():
    return conversation_on("222", "966500000002")


def conversation_on(phone_number_id, wa_id):
    number, _ = BusinessNumber.objects.get_or_create(phone_number_id=phone_number_id)
    contact = Contact.objects.create(wa_id=wa_id)
    return Conversation.objects.create(business_number=number, contact=contact)


def message_in(conversation):
    return Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        type="text",
        text="Hello",
        wamid=f"wamid.{conversation.pk}",
        timestamp=timezone.now(),
        status=Message.Status.RECEIVED,
    )


@pytest.fixture
def everywhere(django_user_model):
    """Staff without a profile: every number."""
    return django_user_model.objects.create_user("everywhere", is_staff=True)


@pytest.fixture
def sales_only(django_user_model, sales):
    user = django_user_model.objects.create_user("sales-only", is_staff=True)
    StaffProfile.objects.create(user=user).numbers.add(sales.business_number)
    return django_user_model.objects.get(pk=user.pk)


def test_someone_without_a_profile_sees_every_number(everywhere):
    assert StaffProfile.objects.number_scope(everywhere) is None


def test_a_profile_listing_no_numbers_sees_every_number(everywhere):
    StaffProfile.objects.create(user=everywhere, language="ar")

    assert StaffProfile.objects.number_scope(everywhere) is None


def test_a_profile_listing_numbers_sees_only_those(sales_only, sales):
    assert StaffProfile.objects.number_scope(sales_only) == {sales.business_number_id}


def test_a_superuser_sees_every_number_whatever_their_profile(django_user_model, sales):
    root = django_user_model.objects.create_superuser("root")
    StaffProfile.objects.create(user=root).numbers.add(sales.business_number)

    assert StaffProfile.objects.number_scope(root) is None


def test_the_scope_is_read_once_per_user_object(sales_only, django_assert_num_queries):
    with django_assert_num_queries(1):
        StaffProfile.objects.number_scope(sales_only)
        StaffProfile.objects.number_scope(sales_only)


def test_it_shows_a_scoped_person_only_their_numbers_conversations(sales_only, sales, support):
    assert list(Conversation.objects.visible_to(sales_only)) == [sales]
    assert list(BusinessNumber.objects.visible_to(sales_only)) == [sales.business_number]


def test_it_shows_everyone_else_every_conversation(everywhere, sales, support):
    assert set(Conversation.objects.visible_to(everywhere)) == {sales, support}
    assert BusinessNumber.objects.visible_to(everywhere).count() == 2


def test_it_narrows_a_queryset_already_filtered(sales_only, sales, support):
    open_ones = Conversation.objects.filter(state=Conversation.State.OPEN)

    assert list(open_ones.visible_to(sales_only)) == [sales]
    assert not open_ones.filter(pk=support.pk).visible_to(sales_only).exists()


def test_it_shows_the_contacts_who_wrote_to_a_visible_number(
    sales_only, everywhere, sales, support
):
    assert list(Contact.objects.visible_to(sales_only)) == [sales.contact]
    assert set(Contact.objects.visible_to(everywhere)) == {sales.contact, support.contact}


def test_a_contact_who_wrote_to_a_visible_number_and_another_is_visible_once(
    sales_only, sales, support
):
    Conversation.objects.create(business_number=sales.business_number, contact=support.contact)

    visible = list(Contact.objects.visible_to(sales_only))

    assert sorted(visible, key=lambda contact: contact.pk) == [sales.contact, support.contact]


def test_it_shows_messages_and_their_statuses_only_on_visible_numbers(
    sales_only, everywhere, sales, support
):
    seen, unseen = message_in(sales), message_in(support)
    for message in (seen, unseen):
        StatusEvent.objects.create(
            wamid=message.wamid, message=message, status="read", timestamp=timezone.now()
        )
    StatusEvent.objects.create(wamid="wamid.unknown", status="read", timestamp=timezone.now())

    assert list(Message.objects.visible_to(sales_only)) == [seen]
    assert list(StatusEvent.objects.visible_to(sales_only)) == [seen.status_events.get()]
    assert Message.objects.visible_to(everywhere).count() == 2
    assert StatusEvent.objects.visible_to(everywhere).count() == 3


def test_raw_webhook_bodies_are_only_for_people_who_see_every_number(sales_only, everywhere):
    WebhookEvent.objects.create(body=b"{}", body_sha256="0" * 64)

    assert not WebhookEvent.objects.visible_to(sales_only).exists()
    assert WebhookEvent.objects.visible_to(everywhere).count() == 1


def test_a_related_manager_narrows_too(sales_only, sales, support):
    message_in(support)

    assert not support.messages.visible_to(sales_only).exists()

"""Configuring automation in the admin: validation of routing rules, business hours, and who
may configure what."""

import re
from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError

from automation.hours import is_open
from automation.models import (
    BusinessHours,
    Holiday,
    Label,
    OpeningPeriod,
    QuickReply,
    RoutingRule,
)
from automation.patterns import check_regex
from automation.text import fill, script_language
from messaging.models import BusinessNumber, Contact
from tests.staff_support import grant
from tests.teamwork_support import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def label():
    return Label.objects.create(name="Billing")


def rule_form(**fields):
    return {
        "name": "Refunds",
        "position": "0",
        "is_active": "on",
        "match": "regex",
        "pattern": "",
        "action": "label",
        **fields,
    }


# Regular expressions: Python's syntax, checked when saved, matched by RE2 (linear time).


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("refund(", "not a valid regular expression"),
        ("x" * 201, "at most 200 characters"),
        (r"(\w)\1", "Back-references"),
        (r"(?P<x>a)(?P=x)", "Back-references"),
        (r"refund(?!ed)", "Look-ahead and look-behind"),
        (r"(?<=no )refund", "Look-ahead and look-behind"),
        (r"(?>a+)b", "Atomic groups"),
        (r"a++b", "possessive repeats"),
        (r"[^\W\d]+", "Sets such as"),
        (r"order\b\s*\d", "must stand at the start or end of a word"),
        (r"a\bb", "can never match"),
        (r"\w{1001}", "too large to match quickly"),
        (r"(\w{100}){20}", "too large to match quickly"),
    ],
    ids=[
        "syntax",
        "length",
        "backreference",
        "named-backreference",
        "lookahead",
        "lookbehind",
        "atomic",
        "possessive",
        "negated-complement",
        "boundary-placement",
        "boundary-never",
        "repeat-count",
        "program-size",
    ],
)
def test_invalid_or_unsupported_regular_expressions_are_refused_saying_why(pattern, reason):
    with pytest.raises(ValidationError) as refused:
        check_regex(pattern)

    assert reason in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    "pattern",
    [
        r"refund|money back",
        r"order\s*#?\d{4,8}",
        r"^(hi|hello)\b",
        r"(ab){2}",
        r".*x.*y",
        r"(a+)+$",
        r"(a|aa)*b",
        r"\bفاتورة\b",  # noqa: RUF001 (Arabic letters)
    ],
)
def test_ordinary_and_formerly_risky_regular_expressions_are_accepted(pattern):
    assert check_regex(pattern).search("") is None


# Python's meaning, kept: the same answer as `re` (ignoring case) on every pair below (RUF001:
# the Arabic letters and digits are meant).
PATTERNS = [
    r"refund|money back", r"order\s*#?\d{4,8}", r"^(hi|hello)\b", r"(ab){2}", r".*x.*y",
    r"\bhello\b", r"\w+@\w+\.com", r"^\d+$", r"[^\d\s]+", r"[\w-]{3}", r"\W", r"[\Wa]",
    r"colou?r", r"(?i)ABC", r"x$", r"(?m)^x$", r"a.c", r"(?s)a.c", r"\Bell", r"hel\B",
    r"[٠-٩]{3}", r"\d{3}", r"\s\s", r"[a-c]+?z", r"(?:x|y)+z", r"\Ahi", r"bye\Z",  # noqa: RUF001
    r"\bمرحبا", r"تم\b", r"\bفاتورة\b", r"\[x\]", r"a{2,}", r"\.", r"[.]", r"\^x", r"x\$",  # noqa: RUF001
    r"(?x) hel  lo  # spaces ignored", r"(?a)\w+\b", r"[^a-z]", r"\S+\s\S+",
]  # fmt: skip
TEXTS = [
    "refund please", "order #12345", "hi there", "hello", "ababx", "x then y", "أين فاتورة؟",
    "فاتورةكم", "say hello!", "a@b.com", "12345", "٣٤٥", "abc-def", "colour", "abc", "x\n",
    "y\nx\nz", "a\nc", "bell", "٠١٢ order", "a  b", "abcz", "xyxz", "bye", "مرحبا بك",
    "تم الدفع", "[x]", "aa", ".", "^x", "x$", "", "hellohello", "shelf", "HELLO World",
]  # fmt: skip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_rules_match_as_pythons_re_would(pattern):
    compiled = check_regex(pattern)

    assert [compiled.search(text) is not None for text in TEXTS] == [
        re.search(pattern, text, re.IGNORECASE) is not None for text in TEXTS
    ]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"\bرصيد\b", "ما هو رصيد حسابي؟", True),
        (r"\bرصيد\b", "رصيدي", False),
        (r"order \d{4}", "order ٤٥٦٧", True),
        (r"^\w+$", "مُحَمَّد", True),  # marks belong to their word (Python's \w says no)
        (r"\s", "\u00a0", True),
        (r"(?a)\d", "٣", False),
    ],
)
def test_classes_and_word_boundaries_work_in_arabic(pattern, text, expected):
    assert (check_regex(pattern).search(text) is not None) is expected


def test_the_admin_refuses_a_rule_with_a_bad_expression_and_saves_a_good_one(admin_client, label):
    refused = admin_client.post(
        "/admin/automation/routingrule/add/", rule_form(pattern=r"(\w+) \1", label=label.pk)
    )
    saved = admin_client.post(
        "/admin/automation/routingrule/add/", rule_form(pattern=r"(a+)+\w*", label=label.pk)
    )

    assert refused.status_code == 200
    assert "Back-references" in refused.content.decode()
    assert saved.status_code == 302
    assert RoutingRule.objects.get().pattern == r"(a+)+\w*"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"match": "contains", "pattern": ""}, "pattern", "needs a keyword"),
        ({"match": "new_contact", "pattern": "hello"}, "pattern", "takes no keyword"),
        ({"match": "any", "action": "assign"}, "assignee", "Choose the person"),
        ({"match": "any", "action": "round_robin"}, "group", "Choose the group"),
        ({"match": "any", "action": "label"}, "label", "Choose the label"),
        ({"match": "any", "action": "quick_reply"}, "quick_reply", "Choose the quick reply"),
        ({"match": "any", "action": "priority"}, "priority", "Choose the priority"),
    ],
    ids=str,
)
def test_a_rule_needs_what_its_match_and_action_use(fields, field, message):
    rule = RoutingRule(name="x", **{"action": "label", **fields})

    with pytest.raises(ValidationError) as refused:
        rule.full_clean()

    assert message in " ".join(refused.value.message_dict[field])


# Who configures


def test_a_supervisor_with_the_model_permissions_configures_routing_rules(client, supervisor):
    supervisor = grant(supervisor, "view_routingrule", "change_routingrule", "add_routingrule")
    client.force_login(supervisor)

    assert client.get("/admin/automation/routingrule/").status_code == 200
    assert client.get("/admin/automation/routingrule/add/").status_code == 200
    assert client.get("/admin/automation/autoreply/").status_code == 403


def test_agents_without_the_permissions_cannot_reach_the_configuration(client, staff_user):
    client.force_login(staff_user)

    for model in ["routingrule", "quickreply", "label", "businesshours", "autoreply"]:
        assert client.get(f"/admin/automation/{model}/").status_code == 403, model


@pytest.mark.parametrize(
    "model",
    [
        "label",
        "quickreply",
        "businesshours",
        "autoreply",
        "routingrule",
        "staffpreferences",
        "staffnotification",
        "automationrun",
        "autoreplyclaim",
    ],
)
def test_every_automation_admin_page_renders(admin_client, model, label):
    deliver()
    hours = BusinessHours.objects.create(business_number=BusinessNumber.objects.get())
    OpeningPeriod.objects.create(hours=hours, weekday=0, opens=time(9), closes=time(17))
    QuickReply.objects.create(shortcut="hours", title="Hours")
    RoutingRule.objects.create(name="r", match="any", action="label", label=label)

    assert admin_client.get(f"/admin/automation/{model}/").status_code == 200
    assert admin_client.get(f"/admin/automation/{model}/add/").status_code in {200, 403}


def test_a_time_zone_must_be_a_real_one():
    hours = BusinessHours(business_number=BusinessNumber(pk=1), time_zone="Mars/Olympus")

    with pytest.raises(ValidationError) as refused:
        hours.full_clean(exclude=["business_number"])

    assert "time_zone" in refused.value.message_dict


# Business hours


@pytest.fixture
def riyadh_hours():
    number = BusinessNumber.objects.create(phone_number_id="1")
    hours = BusinessHours.objects.create(business_number=number, time_zone="Asia/Riyadh")
    # Sunday 9:00-17:00, and Thursday night 20:00 until 02:00 on Friday.
    OpeningPeriod.objects.create(hours=hours, weekday=6, opens=time(9), closes=time(17))
    OpeningPeriod.objects.create(hours=hours, weekday=3, opens=time(20), closes=time(2))
    Holiday.objects.create(hours=hours, date=date(2026, 11, 29), name="A holiday")
    return BusinessHours.objects.prefetch_related("periods", "holidays").get()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 22, 6, 0, tzinfo=UTC), True),  # Sunday 9:00 in Riyadh
        (datetime(2026, 11, 22, 5, 59, tzinfo=UTC), False),  # Sunday 8:59 in Riyadh
        (datetime(2026, 11, 22, 14, 0, tzinfo=UTC), False),  # Sunday 17:00: closed
        (datetime(2026, 11, 26, 22, 0, tzinfo=UTC), True),  # Friday 1:00: Thursday night
        (datetime(2026, 11, 26, 23, 30, tzinfo=UTC), False),  # Friday 2:30
        (datetime(2026, 11, 29, 8, 0, tzinfo=UTC), False),  # Sunday, but a holiday
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), False),  # Tuesday
    ],
    ids=str,
)
def test_business_hours_follow_the_weekly_schedule_time_zone_and_holidays(
    riyadh_hours, moment, expected
):
    assert is_open(riyadh_hours, moment) is expected


@pytest.mark.parametrize(
    ("holiday", "moment", "expected"),
    [
        # Thursday a holiday: its overnight period does not open, not even past midnight.
        (date(2026, 11, 26), datetime(2026, 11, 26, 18, 0, tzinfo=UTC), False),  # Thu 21:00
        (date(2026, 11, 26), datetime(2026, 11, 26, 22, 0, tzinfo=UTC), False),  # Fri 1:00
        # Friday a holiday: Thursday's period, begun on a working day, runs to its end.
        (date(2026, 11, 27), datetime(2026, 11, 26, 18, 0, tzinfo=UTC), True),  # Thu 21:00
        (date(2026, 11, 27), datetime(2026, 11, 26, 22, 0, tzinfo=UTC), True),  # Fri 1:00
        (date(2026, 11, 27), datetime(2026, 11, 27, 0, 0, tzinfo=UTC), False),  # Fri 3:00
    ],
    ids=str,
)
def test_a_holiday_cancels_the_overnight_period_that_starts_on_it(holiday, moment, expected):
    number = BusinessNumber.objects.create(phone_number_id="1")
    hours = BusinessHours.objects.create(business_number=number, time_zone="Asia/Riyadh")
    OpeningPeriod.objects.create(hours=hours, weekday=3, opens=time(20), closes=time(2))
    Holiday.objects.create(hours=hours, date=holiday)
    hours = BusinessHours.objects.prefetch_related("periods", "holidays").get()

    assert is_open(hours, moment) is expected


def test_a_number_without_business_hours_is_always_open():
    assert is_open(None, datetime(2026, 11, 24, 3, 0, tzinfo=UTC)) is True


# Placeholders and language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello {name}, I am {agent}.", "Hello Amina Khalid, I am Salma."),
        ("Hi {first_name}!", "Hi Amina!"),
        ("Dear {unknown}", "Dear {unknown}"),
    ],
)
def test_placeholders_are_filled_from_the_contact_and_the_agent(supervisor, text, expected):
    contact = Contact(wa_id="966500000001", profile_name="Amina Khalid")

    assert fill(text, contact=contact, agent=supervisor) == expected


def test_a_contact_known_only_by_number_leaves_no_gap_where_the_name_was():
    contact = Contact(wa_id="966500000001")

    assert fill("Hello {first_name}, welcome!\nLine two", contact=contact) == (
        "Hello, welcome!\nLine two"
    )


@pytest.mark.parametrize(
    ("text", "language"), [("مرحبا", "ar"), ("Hello", "en"), ("👍 123", None), ("", None)]
)
def test_the_answer_language_follows_the_script_of_the_customers_text(text, language):
    assert script_language(text) == language

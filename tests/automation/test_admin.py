"""Configuring automation in the admin: validation of routing rules, business hours, and who
may configure what."""

import re
from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError

from automation.hours import is_open
from automation.models import (
    AutomationRun,
    AutoReply,
    AutoReplyClaim,
    BusinessHours,
    Holiday,
    Label,
    OpeningPeriod,
    QuickReply,
    RoutingRule,
    StaffNotification,
)
from automation.patterns import check_regex
from automation.text import fill, script_language
from messaging.models import BusinessNumber, Contact
from tests.scope_support import does_not_exist, member
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


# Number scope: a supervisor limited to some numbers configures only those numbers.

SCOPED_SETTINGS = {"autoreply": "auto_reply", "routingrule": "rule", "businesshours": "hours"}


def html_of(response):
    return response.content.decode()


@pytest.mark.parametrize("model", list(SCOPED_SETTINGS))
def test_it_lists_only_the_rows_of_a_limited_supervisors_own_numbers(
    sales_supervisor, numbers, model
):
    attribute = SCOPED_SETTINGS[model]
    ours, theirs = getattr(numbers.ours, attribute), getattr(numbers.theirs, attribute)

    html = html_of(sales_supervisor.get(f"/admin/automation/{model}/"))

    assert f"/admin/automation/{model}/{ours.pk}/change/" in html
    assert f"/admin/automation/{model}/{theirs.pk}/change/" not in html
    assert not [mark for mark in numbers.theirs.marks if mark in html]


@pytest.mark.parametrize("model", list(SCOPED_SETTINGS))
def test_it_refuses_a_limited_supervisor_the_rows_of_another_number(
    sales_supervisor, numbers, model
):
    theirs = getattr(numbers.theirs, SCOPED_SETTINGS[model])
    base = f"/admin/automation/{model}/{theirs.pk}"

    for page in ["change", "history", "delete"]:
        assert does_not_exist(sales_supervisor.get(f"{base}/{page}/")), page
    deleted = sales_supervisor.post(f"{base}/delete/", {"post": "yes"})
    changed = sales_supervisor.post(f"{base}/change/", {"time_zone": "UTC", "text": "Hacked"})

    assert does_not_exist(deleted)
    assert does_not_exist(changed)
    assert type(theirs).objects.filter(pk=theirs.pk).exists()
    assert "Hacked" not in str(type(theirs).objects.filter(pk=theirs.pk).values().get())


def test_its_list_editing_cannot_reach_another_numbers_rows(sales_supervisor, numbers):
    theirs = numbers.theirs.auto_reply

    sales_supervisor.post(
        "/admin/automation/autoreply/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": theirs.pk,
            "_save": "Save",
        },
    )

    theirs.refresh_from_db()
    assert theirs.is_active


def auto_reply_form(number):
    return {"kind": "away", "business_number": number, "language": "en", "text": "Closed now"}


def rule_for(number, label):
    return rule_form(match="any", business_number=number, label=label.pk)


def hours_form(number):
    inlines = {
        f"{prefix}-{field}": value
        for prefix in ["periods", "holidays"]
        for field, value in [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0")]
    }
    return {"business_number": number, "time_zone": "UTC", "away_interval_hours": "24", **inlines}


def test_it_offers_a_limited_supervisor_only_their_own_numbers_to_configure(
    sales_supervisor, numbers
):
    for model in SCOPED_SETTINGS:
        html = html_of(sales_supervisor.get(f"/admin/automation/{model}/add/"))
        choices = re.search(r'<select name="business_number".*?</select>', html, re.S).group()

        assert f'value="{numbers.ours.number.pk}"' in choices, model
        assert f'value="{numbers.theirs.number.pk}"' not in choices, model
        assert not [mark for mark in numbers.theirs.marks if mark in html], model


@pytest.mark.parametrize("number", ["theirs", "every number"])
def test_it_refuses_a_limited_supervisor_adding_automation_for_numbers_beyond_theirs(
    sales_supervisor, numbers, number
):
    # BusinessHours has no row for "every number": the form must name one.
    chosen = "" if number == "every number" else numbers.theirs.number.pk
    BusinessHours.objects.filter(business_number=numbers.theirs.number).delete()
    label = numbers.ours.label
    before = {model: model.objects.count() for model in [AutoReply, RoutingRule, BusinessHours]}

    answers = [
        sales_supervisor.post("/admin/automation/autoreply/add/", auto_reply_form(chosen)),
        sales_supervisor.post("/admin/automation/routingrule/add/", rule_for(chosen, label)),
        sales_supervisor.post("/admin/automation/businesshours/add/", hours_form(chosen)),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    for answer in answers:
        assert answer.context["adminform"].form.errors["business_number"]
    assert before == {model: model.objects.count() for model in before}


def test_a_limited_supervisor_configures_their_own_number(sales_supervisor, numbers):
    ours = numbers.ours.number
    BusinessHours.objects.filter(business_number=ours).delete()

    answers = [
        sales_supervisor.post("/admin/automation/autoreply/add/", auto_reply_form(ours.pk)),
        sales_supervisor.post(
            "/admin/automation/routingrule/add/", rule_for(ours.pk, numbers.ours.label)
        ),
        sales_supervisor.post("/admin/automation/businesshours/add/", hours_form(ours.pk)),
    ]

    assert [answer.status_code for answer in answers] == [302, 302, 302]
    assert AutoReply.objects.get(kind="away").business_number == ours
    assert RoutingRule.objects.get(name="Refunds").business_number == ours
    assert BusinessHours.objects.filter(business_number=ours).exists()


def test_a_supervisor_of_every_number_keeps_every_row_and_the_rows_for_every_number(
    client, django_user_model, numbers
):
    everywhere = AutoReply.objects.create(kind="away", language="en", text="For every number")
    client.force_login(member(django_user_model, "boss", "Supervisor"))

    html = html_of(client.get("/admin/automation/autoreply/"))
    added = client.post("/admin/automation/routingrule/add/", rule_for("", numbers.ours.label))

    for reply in [numbers.ours.auto_reply, numbers.theirs.auto_reply, everywhere]:
        assert f"/admin/automation/autoreply/{reply.pk}/change/" in html
    assert added.status_code == 302
    assert RoutingRule.objects.get(name="Refunds").business_number is None


def test_a_limited_supervisor_does_not_see_rows_for_every_number(sales_supervisor, numbers):
    everywhere = AutoReply.objects.create(kind="away", language="en", text="For every number")

    html = html_of(sales_supervisor.get("/admin/automation/autoreply/"))

    assert f"/admin/automation/autoreply/{everywhere.pk}/" not in html
    assert does_not_exist(
        sales_supervisor.get(f"/admin/automation/autoreply/{everywhere.pk}/change/")
    )


@pytest.mark.parametrize("model", ["staffnotification", "automationrun", "autoreplyclaim"])
def test_automation_records_of_another_number_do_not_exist_for_limited_staff(
    client, django_user_model, numbers, model
):
    user = member(django_user_model, "sales-boss", "Supervisor", numbers=[numbers.ours.number])
    client.force_login(grant(user, f"view_{model}"))
    records = {
        "staffnotification": StaffNotification.objects.filter,
        "automationrun": AutomationRun.objects.filter,
        "autoreplyclaim": AutoReplyClaim.objects.filter,
    }[model]
    field = "message__conversation" if model == "automationrun" else "conversation"
    ours = records(**{field: numbers.ours.conversation}).get()
    theirs = records(**{field: numbers.theirs.conversation}).get()

    html = html_of(client.get(f"/admin/automation/{model}/"))

    assert f"/admin/automation/{model}/{ours.pk}/change/" in html
    assert f"/admin/automation/{model}/{theirs.pk}/change/" not in html
    assert does_not_exist(client.get(f"/admin/automation/{model}/{theirs.pk}/change/"))
    assert not [mark for mark in numbers.theirs.marks if mark in html]


@pytest.mark.parametrize("model", ["label", "quickreply"])
def test_settings_every_number_shares_are_looked_up_and_added_not_changed_by_limited_supervisors(
    sales_supervisor, numbers, model
):
    shared = (
        numbers.theirs.label
        if model == "label"
        else QuickReply.objects.create(shortcut="hours", title="Hours")
    )
    base = f"/admin/automation/{model}/"

    listed = sales_supervisor.get(base)
    opened = sales_supervisor.get(f"{base}{shared.pk}/change/")
    adding = sales_supervisor.get(f"{base}add/")
    answers = [
        sales_supervisor.post(f"{base}{shared.pk}/change/", {"name": "Renamed"}),
        sales_supervisor.get(f"{base}{shared.pk}/delete/"),
        sales_supervisor.post(f"{base}{shared.pk}/delete/", {"post": "yes"}),
    ]

    assert (listed.status_code, opened.status_code, adding.status_code) == (200, 200, 200)
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert type(shared).objects.filter(pk=shared.pk).exists()
    assert "Rule of Support line" not in html_of(opened)

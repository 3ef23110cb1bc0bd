import logging

import pytest

from config.logging import OneLineRedactingFormatter


@pytest.fixture
def formatter():
    return OneLineRedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")


def record(msg, *args, exc_info=None):
    return logging.LogRecord("messaging", logging.INFO, __file__, 1, msg, args, exc_info)


def test_it_masks_phone_numbers_in_messages_and_arguments(formatter):
    line = formatter.format(record("reply to %s failed for +966501234567", "15551234567"))

    assert "966501234567" not in line
    assert "15551234567" not in line
    assert line.count("[redacted]") == 2


def test_it_masks_the_digits_of_business_scoped_user_ids(formatter):
    assert "13491208655302741918" not in formatter.format(record("US.13491208655302741918"))


def test_it_drops_query_strings_from_request_lines(formatter):
    line = formatter.format(record('"GET /?q=Amina+Khalid&page=2 HTTP/1.1" 200 5120'))

    assert "Amina" not in line
    assert '"GET /?[redacted] HTTP/1.1" 200 5120' in line


def test_it_keeps_short_numbers_and_the_timestamp_readable(formatter):
    line = formatter.format(record("conversation 4521 has 37 messages"))

    assert "conversation 4521 has 37 messages" in line
    assert "[redacted]" not in line.split(" INFO ")[0]


def test_it_keeps_task_ids_whole_even_when_a_group_is_mostly_digits(formatter):
    task_id = "18d585b9-fde6-4726-8746-20345671fd9d"

    line = formatter.format(record("Task id=%s state=SUCCESSFUL to 966501234567", task_id))

    assert task_id in line
    assert "966501234567" not in line


def test_a_traceback_stays_on_one_line_and_is_masked(formatter):
    try:
        raise ValueError("no contact for 201001234567")
    except ValueError:
        import sys

        line = formatter.format(record("apply failed", exc_info=sys.exc_info()))

    assert "\n" not in line
    assert "Traceback" in line
    assert "ValueError" in line
    assert "201001234567" not in line


def test_settings_send_all_logs_through_the_redacting_formatter(settings):
    formatter = settings.LOGGING["formatters"]["line"]["()"]

    assert formatter == "config.logging.OneLineRedactingFormatter"
    assert settings.LOGGING["handlers"]["stdout"]["stream"] == "ext://sys.stdout"

import logging
import re

# Phone numbers, WhatsApp ids (wa_id is the phone number) and the digits of business-scoped
# user ids are runs of 7+ digits; our own row ids and HTTP figures are shorter.
PHONE_LIKE = re.compile(r"\+?\d{7,}")
# Task ids are UUIDs whose hex groups can hold 7+ digits in a row: they are not personal data
# and must stay readable to follow a task through the worker's log.
UUID_OR_PHONE_LIKE = re.compile(
    r"(?P<uuid>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)|"
    + PHONE_LIKE.pattern,
    re.IGNORECASE,
)
# Query strings carry search terms (names, phone numbers, message text): keep only the path.
QUERY_STRING = re.compile(r"(/[^\s\"?]*)\?[^\s\"]*")


def redact(text):
    text = QUERY_STRING.sub(r"\1?[redacted]", text)
    return UUID_OR_PHONE_LIKE.sub(lambda match: match["uuid"] or "[redacted]", text)


class OneLineRedactingFormatter(logging.Formatter):
    """One log line per event (tracebacks folded into it), personal data masked.

    Redaction covers the message with its arguments, exception text and stack; the timestamp
    and logger name are left alone.
    """

    def format(self, record):
        record = logging.makeLogRecord(record.__dict__)
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = redact(self.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return super().format(record).replace("\r", "").replace("\n", " | ")

"""A transport for tests: requests are kept in `outbox`; failures can be queued up."""

import itertools

from messaging.backends.base import BaseBackend, SendResult

# (phone_number_id, payload) for every accepted request, like django.core.mail.outbox.
outbox = []
# SendErrors to raise, first in first out, before accepting requests again.
failures = []
_counter = itertools.count(1)


def reset():
    outbox.clear()
    failures.clear()


class LocmemBackend(BaseBackend):
    def send(self, phone_number_id, payload):
        if failures:
            raise failures.pop(0)
        outbox.append((phone_number_id, payload))
        return SendResult(wamid=f"wamid.LOCMEM{next(_counter):08d}")

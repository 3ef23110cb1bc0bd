"""Background work by urgency: one queue per kind of work, and a priority that orders it for
a worker serving several queues (`db_worker` serves them all by default).

A worker claims the waiting task of highest priority first, so a staff reply is taken before
any webhook body, upkeep run or automation task waiting beside it. Priority only orders
claims: a reply still waits for the task a worker is in the middle of, which is why a
deployment gives the sending queue a worker of its own (README, "Running it").

The queue names are also listed in settings.TASKS, which Django checks when a task is queued.
"""

from typing import NamedTuple


class Queue(NamedTuple):
    name: str
    priority: int


# Staff replies and read receipts: someone is waiting for them, and they are few.
SENDING = Queue("sending", 100)
# Applying stored webhook bodies: what staff see waits on it.
WEBHOOKS = Queue("webhooks", 50)
# The periodic run: one task a minute that recovers lost sends and stranded bodies.
MAINTENANCE = Queue("maintenance", 30)
# E-mails to staff (notifications, account events).
NOTIFICATIONS = Queue("notifications", 20)
# Routing rules and automatic replies: the bulk of the work after a burst, and the slowest.
AUTOMATION = Queue("automation", 10)

"""Teamwork and automation: labels, quick replies, internal notes, business hours, automatic
replies, routing rules, staff notifications, and the rows that make automation run once.

Supervisors configure everything here in the admin (model permissions `automation.add_…`,
`change_…`, `delete_…`, `view_…`); agents use labels, notes and quick replies in the inbox
(`automation.apply_label`, `automation.add_note`; quick replies need the reply permission).

One module per job: `conversations` (labels, priorities, notes), `replies` (quick and
automatic replies), `schedule` (business hours), `routing` (rules and the run that applies
them once), `notifications` (staff preferences and e-mails). Code imports from this package.
"""

from automation.models.conversations import (
    ConversationLabel,
    ConversationPriority,
    Label,
    Note,
    ReplyNotSent,
)
from automation.models.notifications import StaffNotification, StaffPreferences, WaitAlert
from automation.models.replies import AutoReply, AutoReplyClaim, QuickReply, QuickReplyText
from automation.models.routing import AutomationRun, RoundRobinState, RoutingRule
from automation.models.schedule import BusinessHours, Holiday, OpeningPeriod, validate_time_zone
from automation.patterns import PATTERN_LIMIT

__all__ = [
    "PATTERN_LIMIT",
    "AutoReply",
    "AutoReplyClaim",
    "AutomationRun",
    "BusinessHours",
    "ConversationLabel",
    "ConversationPriority",
    "Holiday",
    "Label",
    "Note",
    "OpeningPeriod",
    "QuickReply",
    "QuickReplyText",
    "ReplyNotSent",
    "RoundRobinState",
    "RoutingRule",
    "StaffNotification",
    "StaffPreferences",
    "WaitAlert",
    "validate_time_zone",
]

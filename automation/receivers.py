"""automation's answers to what messaging announces (connected in AutomationConfig.ready())."""

from automation.engine import run_automation
from automation.models import ConversationPriority


def run_for_new_messages(sender, message_ids, **kwargs):
    """A webhook body's new inbound messages have committed: routing and automatic replies
    run for them in one task, never inside the webhook request."""
    run_automation.enqueue(*message_ids)


def merge_priorities(sender, keep, other, **kwargs):
    ConversationPriority.objects.merge(keep, other)

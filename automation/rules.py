"""Matching routing rules against an inbound message (their patterns: automation.patterns)."""

import logging
from functools import lru_cache

from django.core.exceptions import ValidationError

from automation.models import RoutingRule
from automation.patterns import check_regex, normalise

logger = logging.getLogger(__name__)

Match = RoutingRule.Match


def matches(rule, message, *, is_first):
    """Whether `rule` applies to inbound `message` (is_first: the contact's first message to
    this business number)."""
    conversation = message.conversation
    if rule.business_number_id and rule.business_number_id != conversation.business_number_id:
        return False
    if rule.match == Match.ANY:
        return True
    if rule.match == Match.NEW_CONTACT:
        return is_first
    if rule.match == Match.REPLY_ID:
        data = message.data if isinstance(message.data, dict) else {}
        ids = {str(data.get("reply_id") or ""), str(data.get("payload") or "")} - {""}
        return rule.pattern.strip() in ids
    text = message.text or ""
    if rule.match == Match.EXACT:
        return bool(text) and normalise(text) == normalise(rule.pattern)
    if rule.match == Match.CONTAINS:
        keyword = normalise(rule.pattern)
        return bool(keyword) and keyword in normalise(text)
    if rule.match == Match.REGEX:
        compiled = _compiled(rule.pattern)
        if compiled is None:
            # Saved before validation changed (or by hand): never run, and said so.
            logger.warning("rule %s: its regular expression is refused; edit it", rule.pk)
            return False
        return compiled.search(text) is not None
    return False


@lru_cache(maxsize=256)
def _compiled(pattern):
    try:
        return check_regex(pattern)
    except ValidationError:
        return None

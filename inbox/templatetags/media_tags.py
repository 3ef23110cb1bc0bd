"""Template helpers for media messages and the attachment form."""

import uuid

from django import template

from messaging.media import ACCEPT, MAX_UPLOAD_BYTES

register = template.Library()


@register.simple_tag
def new_client_token():
    """A fresh double-submit token for a form rendered inside someone else's view."""
    return uuid.uuid4()


@register.simple_tag
def attachment_accept():
    """The file picker's `accept` list: the types (and extensions) WhatsApp can send."""
    return ACCEPT


@register.simple_tag
def attachment_max_bytes():
    return MAX_UPLOAD_BYTES

from django import template

from messaging.checks import credential_status

register = template.Library()


@register.simple_tag
def whatsapp_credentials() -> dict[str, int | bool]:
    """`{% whatsapp_credentials as credentials %}`: which credentials are set, never their
    values (see messaging.checks.credential_status)."""
    return credential_status()

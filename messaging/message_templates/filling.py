"""Filling templates in: staff's values checked against Meta's rules, the preview the customer
will read, and the `template` object of the Cloud API request."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.message_templates.reading import (
    BUTTON_URL_LIMIT,
    HEADER_TEXT_LIMIT,
    LINE_BREAK,
    MEDIA_HEADERS,
    MEDIA_KEY,
    PLACEHOLDER,
    TOO_MANY_SPACES,
    Parameter,
    buttons_of,
    component_text,
    components_of,
    header_format,
    required_parameters,
    unsupported_reason,
)
from messaging.models import Message, MessageTemplate

# The media header in the preview.
MEDIA_PREVIEWS = {
    "image": gettext_lazy("🖼️ Image: %(link)s"),
    "video": gettext_lazy("🎬 Video: %(link)s"),
    "document": gettext_lazy("📄 Document: %(link)s"),
}


def validate(template: MessageTemplate, values: Mapping[str, Any]) -> dict[str, str]:
    """Check `values` (by `Parameter.field`) against what the template needs and Meta's rules.

    Returns the cleaned values (stripped); raises ValidationError naming every missing,
    unexpected, too long or badly formatted value (keyed by field; unexpected ones and
    template-level problems under NON_FIELD_ERRORS).
    """
    reason = unsupported_reason(template)
    if reason:
        raise ValidationError({NON_FIELD_ERRORS: [reason]})
    parameters = required_parameters(template)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for parameter in parameters:
        raw = values.get(parameter.field)
        value = "" if raw is None else str(raw).strip()
        problems = []
        what = {"parameter": parameter.description}
        if not value:
            problems.append(_("%(parameter)s is missing.") % what)
        if LINE_BREAK.search(value):
            problems.append(_("%(parameter)s cannot contain line breaks.") % what)
        if "\t" in value:
            problems.append(_("%(parameter)s cannot contain tabs.") % what)
        if TOO_MANY_SPACES.search(value):
            problems.append(
                _("%(parameter)s cannot contain more than four spaces in a row.") % what
            )
        if parameter.sub_type == "copy_code" and " " in value:
            problems.append(_("%(parameter)s cannot contain spaces.") % what)
        if parameter.is_media and value and not is_https_link(value):
            problems.append(
                _("%(parameter)s must be a full https:// address that WhatsApp can fetch.") % what
            )
        if len(value) > parameter.max_length:
            problems.append(_too_long(parameter, len(value)))
        if problems:
            errors[parameter.field] = problems
        else:
            cleaned[parameter.field] = value
    unexpected = sorted(set(values) - {p.field for p in parameters})
    if unexpected:
        names = ", ".join(unexpected)
        errors[NON_FIELD_ERRORS] = [
            _("This template has no parameters called %(names)s.") % {"names": names}
        ]
    if errors:
        raise ValidationError(errors)
    return cleaned


def is_https_link(value: str) -> bool:
    """A well-formed https URL (Meta fetches it; plain http would expose the file on the way)."""
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        return False
    return not any(c.isspace() for c in value)


def _too_long(parameter: Parameter, length: int) -> str:
    what: dict[str, str | int] = {
        "parameter": parameter.description,
        "length": length,
        "max": parameter.max_length,
    }
    if parameter.component == "header" and not parameter.is_media:
        return _(
            "%(parameter)s is %(length)d characters long; the whole header may have at most "
            "%(limit)d, so this may have at most %(max)d."
        ) % (what | {"limit": HEADER_TEXT_LIMIT})
    if parameter.sub_type == "url":
        return _(
            "%(parameter)s is %(length)d characters long; the whole link may have at most "
            "%(limit)d, so this may have at most %(max)d."
        ) % (what | {"limit": BUTTON_URL_LIMIT})
    return _("%(parameter)s is %(length)d characters long; WhatsApp allows at most %(max)d.") % what


def _fill(text: str, component: str, values: Mapping[str, Any], index: int | None = None) -> str:
    """`text` with its placeholders replaced by values; missing ones stay visible."""

    def value(match: re.Match[str]) -> str:
        field = Parameter(component, match.group(1), index=index).field
        return values.get(field) or match.group(0)

    return PLACEHOLDER.sub(value, text)


@dataclass(frozen=True)
class Preview:
    header: str = ""
    body: str = ""
    footer: str = ""
    buttons: tuple[str, ...] = ()  # button labels

    def __str__(self) -> str:
        return "\n\n".join(part for part in (self.header, self.body, self.footer) if part)


def preview_parts(template: MessageTemplate, values: Mapping[str, Any]) -> Preview:
    """What the customer will see, part by part (the inbox shows the buttons separately)."""
    header = next(iter(components_of(template, "HEADER")), None)
    header_text = ""
    if header and header_format(header) == "TEXT":
        header_text = _fill(component_text(header), "header", values)
    elif header and header_format(header) in MEDIA_HEADERS:
        link = values.get(Parameter("header", MEDIA_KEY).field) or "…"
        header_text = MEDIA_PREVIEWS[header_format(header).lower()] % {"link": link}
    body = _fill(component_text(next(iter(components_of(template, "BODY")), None)), "body", values)
    footer = component_text(next(iter(components_of(template, "FOOTER")), None))
    buttons = tuple(
        str(b.get("text") or b.get("type", "")) for b in buttons_of(template) if b.get("text")
    )
    return Preview(header=header_text, body=body, footer=footer, buttons=buttons)


def render_preview(template: MessageTemplate, values: Mapping[str, Any]) -> str:
    """The text the customer will read: header, body and footer with the values filled in
    (placeholders left visible where a value is missing)."""
    return str(preview_parts(template, values))


def build_components(template: MessageTemplate, cleaned: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `components` of the Cloud API request for validated values."""
    header: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    buttons: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    for parameter in required_parameters(template):
        value = cleaned[parameter.field]
        if parameter.is_media:
            header.append(
                {"type": parameter.sub_type, parameter.sub_type: media_object(parameter, value)}
            )
            continue
        if parameter.sub_type == "copy_code":
            buttons[parameter.button_index] = (
                parameter.sub_type,
                [{"type": "coupon_code", "coupon_code": value}],
            )
            continue
        item: dict[str, Any] = {"type": "text"}
        if parameter.named:
            item["parameter_name"] = parameter.key
        item["text"] = value
        if parameter.component == "header":
            header.append(item)
        elif parameter.component == "body":
            body.append(item)
        else:
            buttons.setdefault(parameter.button_index, (parameter.sub_type, []))[1].append(item)
    components: list[dict[str, Any]] = []
    if header:
        components.append({"type": "header", "parameters": header})
    if body:
        components.append({"type": "body", "parameters": body})
    for index, (sub_type, parameters) in sorted(buttons.items()):
        components.append(
            {"type": "button", "sub_type": sub_type, "index": index, "parameters": parameters}
        )
    return components


def media_object(parameter: Parameter, link: str) -> dict[str, str]:
    """A media header's object: the link, and for a document the name the customer sees (the
    link's last path segment, when it has one)."""
    media = {"link": link}
    if parameter.sub_type == "document":
        name = PurePosixPath(unquote(urlsplit(link).path)).name
        if name:
            media["filename"] = name[:200]
    return media


def template_payload(message: Message) -> dict[str, Any]:
    """The `template` object of the Cloud API request for a queued template message.

    Built from the copy stored on the message when it was queued, so a template edited or
    removed since still sends exactly what staff saw in the preview.
    """
    stored = message.data["template"]
    payload: dict[str, Any] = {"name": stored["name"], "language": {"code": stored["language"]}}
    if stored.get("components"):
        payload["components"] = stored["components"]
    return payload

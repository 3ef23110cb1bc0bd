"""Message templates: mirrored from Meta, filled in by staff, sendable outside the 24-hour window.

- `sync_templates()` mirrors `GET /{waba-id}/message_templates` into MessageTemplate rows, and
  `apply_template_update()` keeps them current from template webhooks between syncs.
- `required_parameters()` reads what a template needs from its components (Meta's format);
  `validate()` checks staff's values against Meta's rules before anything is queued, so a
  parameter count (132000) or format (132012, 132018) error never comes back from Meta.
- `render_preview()` is what the customer will read; `template_payload()` is the `template`
  object of the Cloud API request; `queue_template_message()` puts one in the outbox.

Supported: TEXT headers, IMAGE, VIDEO and DOCUMENT headers (staff give an https link to the
file, which Meta fetches: "Send Message Template Media" in Meta's examples), body and footer,
and buttons of type QUICK_REPLY, URL (a variable URL suffix), PHONE_NUMBER and COPY_CODE.
Templates that need anything else (a location header, carousels, flows, catalogues, one-time
passwords) are listed but cannot be sent from the inbox: `unsupported_reason()` says why.

Values are keyed by `Parameter.field`: "header-1", "body-2", "body-first_name", "button0-1"
(the variable of the first button), "header-media" (the link of a media header).
"""

import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.models import BusinessNumber, MessageTemplate
from messaging.tasks import pause_numbers

logger = logging.getLogger(__name__)

APPROVED = "APPROVED"

# Meta's limits for what a template message may carry.
HEADER_TEXT_LIMIT = 60  # the whole header, with its variable filled in
BODY_PARAMETER_LIMIT = 1024  # each body variable
BUTTON_URL_LIMIT = 2000  # the whole button URL, with its suffix filled in
COUPON_CODE_LIMIT = 15  # a COPY_CODE button's code
MEDIA_LINK_LIMIT = 2000  # a media header's link
# Header formats staff can fill in with a link to the file.
MEDIA_HEADERS = {"IMAGE", "VIDEO", "DOCUMENT"}
MEDIA_KEY = "media"

# {{1}} (positional) or {{first_name}} (named).
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
POSITIONAL_KEY = re.compile(r"[1-9][0-9]*")
NAMED_KEY = re.compile(r"[a-z_][a-z0-9_]*")
# Meta refuses parameter text with line breaks, tabs or more than four spaces in a row
# ("Param text cannot have new-line/tab characters or more than 4 consecutive spaces").
LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")
TOO_MANY_SPACES = re.compile(r" {5,}")

TEXT_BUTTONS = {"QUICK_REPLY", "PHONE_NUMBER"}  # no variables to fill in
SUPPORTED_BUTTONS = TEXT_BUTTONS | {"URL", "COPY_CODE"}
SUPPORTED_COMPONENTS = {"HEADER", "BODY", "FOOTER", "BUTTONS"}


class TemplateSyncError(Exception):
    """Templates could not be fetched; the message says why, for the person who asked."""


# Reading templates.


@dataclass(frozen=True)
class Parameter:
    """One variable a template needs a value for."""

    component: str  # "header", "body" or "button"
    key: str  # "1", "2", … (positional), a name (named), or "media" (a media header)
    index: int | None = None  # the button's position among the template's buttons
    sub_type: str = ""  # "url" or "copy_code" for buttons; "image", "video", "document"
    example: str = ""
    max_length: int = BODY_PARAMETER_LIMIT

    @property
    def field(self) -> str:
        if self.component == "button":
            return f"button{self.index}-{self.key}"
        return f"{self.component}-{self.key}"

    @property
    def is_media(self) -> bool:
        return self.component == "header" and self.key == MEDIA_KEY and bool(self.sub_type)

    @property
    def placeholder(self) -> str:
        if self.is_media:
            return "https://"
        return "{{" + self.key + "}}"

    @property
    def named(self) -> bool:
        return not self.is_media and not POSITIONAL_KEY.fullmatch(self.key)

    @property
    def where(self) -> str:
        """Which part of the message the variable is in, for labels."""
        if self.is_media:
            return str(MEDIA_LABELS[self.sub_type])
        if self.component == "header":
            return _("Header")
        if self.component == "body":
            return _("Body")
        if self.sub_type == "copy_code":
            return _("Button %(number)d, code to copy") % {"number": self.index + 1}
        return _("Button %(number)d, link") % {"number": self.index + 1}

    @property
    def description(self) -> str:
        """The variable in a sentence: "{{1}} in the body"."""
        what = {"placeholder": self.placeholder}
        if self.is_media:
            return str(MEDIA_DESCRIPTIONS[self.sub_type])
        if self.component == "header":
            return _("%(placeholder)s in the header") % what
        if self.component == "body":
            return _("%(placeholder)s in the body") % what
        what["number"] = self.index + 1
        if self.sub_type == "copy_code":
            return _("The code to copy of button %(number)d") % what
        return _("%(placeholder)s in the link of button %(number)d") % what


# Labels of a media header's field: what to link to.
MEDIA_LABELS = {
    "image": gettext_lazy("Header image: a link to the file (https)"),
    "video": gettext_lazy("Header video: a link to the file (https)"),
    "document": gettext_lazy("Header document: a link to the file (https)"),
}
MEDIA_DESCRIPTIONS = {
    "image": gettext_lazy("The link to the header image"),
    "video": gettext_lazy("The link to the header video"),
    "document": gettext_lazy("The link to the header document"),
}
# The media header in the preview.
MEDIA_PREVIEWS = {
    "image": gettext_lazy("🖼️ Image: %(link)s"),
    "video": gettext_lazy("🎬 Video: %(link)s"),
    "document": gettext_lazy("📄 Document: %(link)s"),
}


def header_format(component) -> str:
    return str(component.get("format", "TEXT")).upper()


def components_of(template, kind) -> list[dict]:
    """The template's components of one type (HEADER, BODY, FOOTER, BUTTONS)."""
    components = template.components if isinstance(template.components, list) else []
    return [c for c in components if isinstance(c, dict) and str(c.get("type", "")).upper() == kind]


def _text(component) -> str:
    text = component.get("text") if component else ""
    return text if isinstance(text, str) else ""


def _keys(text) -> list[str]:
    """Distinct placeholder keys of a text: positional ones in number order, named ones in
    order of appearance."""
    keys = list(dict.fromkeys(PLACEHOLDER.findall(text)))
    if keys and all(POSITIONAL_KEY.fullmatch(k) for k in keys):
        keys.sort(key=int)
    return keys


def _examples(component, kind) -> dict[str, str]:
    """Meta's example values for a HEADER or BODY component, by placeholder key."""
    example = component.get("example") if isinstance(component.get("example"), dict) else {}
    found = {}
    named = example.get(f"{kind}_text_named_params")
    for item in named if isinstance(named, list) else []:
        if isinstance(item, dict) and item.get("param_name"):
            found[str(item["param_name"])] = str(item.get("example", ""))
    positional = example.get(f"{kind}_text") or []
    if not isinstance(positional, list):
        positional = []
    if positional and isinstance(positional[0], list):  # body: [["Mark", "FALL25"]]
        positional = positional[0]
    for number, value in enumerate(positional, start=1):
        found.setdefault(str(number), str(value))
    return found


def _buttons(template) -> list[dict]:
    buttons = []
    for component in components_of(template, "BUTTONS"):
        buttons += [b for b in component.get("buttons") or [] if isinstance(b, dict)]
    return buttons


def required_parameters(template) -> list[Parameter]:
    """Every variable the template needs, header first, then body, then buttons."""
    parameters = []
    for kind in ("header", "body"):
        for component in components_of(template, kind.upper()):
            if kind == "header" and header_format(component) in MEDIA_HEADERS:
                parameters.append(
                    Parameter(
                        "header",
                        MEDIA_KEY,
                        sub_type=header_format(component).lower(),
                        max_length=MEDIA_LINK_LIMIT,
                    )
                )
                continue
            if kind == "header" and header_format(component) != "TEXT":
                continue
            text = _text(component)
            examples = _examples(component, kind)
            fixed = len(PLACEHOLDER.sub("", text))
            for key in _keys(text):
                limit = (
                    max(HEADER_TEXT_LIMIT - fixed, 1) if kind == "header" else BODY_PARAMETER_LIMIT
                )
                parameters.append(
                    Parameter(kind, key, example=examples.get(key, ""), max_length=limit)
                )
    for index, button in enumerate(_buttons(template)):
        kind = str(button.get("type", "")).upper()
        example = button.get("example")
        if isinstance(example, list):
            example = example[0] if example else ""
        if kind == "URL":
            url = button.get("url") if isinstance(button.get("url"), str) else ""
            fixed = len(PLACEHOLDER.sub("", url))
            # Meta's example is the whole URL; the variable is only its end.
            prefix = url.split("{{", 1)[0]
            if isinstance(example, str) and prefix and example.startswith(prefix):
                example = example.removeprefix(prefix)
            for key in _keys(url):
                parameters.append(
                    Parameter(
                        "button",
                        key,
                        index=index,
                        sub_type="url",
                        example=str(example or ""),
                        max_length=max(BUTTON_URL_LIMIT - fixed, 1),
                    )
                )
        elif kind == "COPY_CODE":
            parameters.append(
                Parameter(
                    "button",
                    "1",
                    index=index,
                    sub_type="copy_code",
                    example=str(example or ""),
                    max_length=COUPON_CODE_LIMIT,
                )
            )
    return parameters


def unsupported_reason(template) -> str:
    """Why the inbox cannot send this template, or "" when it can."""
    if template.category == MessageTemplate.Category.AUTHENTICATION:
        return _(
            "Authentication templates carry one-time codes and are sent by your own systems, "
            "not from the inbox."
        )
    for header in components_of(template, "HEADER"):
        if header_format(header) not in MEDIA_HEADERS | {"TEXT"}:
            return _(
                "This template's header needs a location (or another kind of header the "
                "inbox cannot fill in)."
            )
    components = template.components if isinstance(template.components, list) else []
    unknown = sorted(
        {
            str(c.get("type", "?")).upper() if isinstance(c, dict) else "?"
            for c in components
            if not isinstance(c, dict) or str(c.get("type", "")).upper() not in SUPPORTED_COMPONENTS
        }
        | {
            str(b.get("type", "?")).upper()
            for b in _buttons(template)
            if str(b.get("type", "")).upper() not in SUPPORTED_BUTTONS
        }
    )
    if unknown:
        return _("This template has parts the inbox cannot fill in (%(parts)s).") % {
            "parts": ", ".join(unknown)
        }
    if not components_of(template, "BODY"):
        return _("This template has no body.")
    pattern = NAMED_KEY if template.parameter_format == "NAMED" else POSITIONAL_KEY
    for parameter in required_parameters(template):
        if parameter.is_media:
            continue
        if parameter.component != "button" and not pattern.fullmatch(parameter.key):
            return _(
                "The placeholders of this template do not match its parameter format; "
                "synchronise the templates again."
            )
    return ""


def sendable_templates(conversation):
    """Approved templates of the WhatsApp Business Account behind the conversation's number."""
    templates = MessageTemplate.objects.filter(status=APPROVED)
    waba_id = conversation.business_number.waba_id or settings.WHATSAPP_WABA_ID
    return templates.filter(waba_id=waba_id) if waba_id else templates


# Filling templates in.


def validate(template, values) -> dict[str, str]:
    """Check `values` (by `Parameter.field`) against what the template needs and Meta's rules.

    Returns the cleaned values (stripped); raises ValidationError naming every missing,
    unexpected, too long or badly formatted value (keyed by field; unexpected ones and
    template-level problems under NON_FIELD_ERRORS).
    """
    reason = unsupported_reason(template)
    if reason:
        raise ValidationError({NON_FIELD_ERRORS: [reason]})
    parameters = required_parameters(template)
    errors = {}
    cleaned = {}
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


def is_https_link(value) -> bool:
    """A well-formed https URL (Meta fetches it; plain http would expose the file on the way)."""
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        return False
    return not any(c.isspace() for c in value)


def _too_long(parameter, length) -> str:
    what = {"parameter": parameter.description, "length": length, "max": parameter.max_length}
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


def _fill(text, component, values, index=None) -> str:
    """`text` with its placeholders replaced by values; missing ones stay visible."""

    def value(match):
        field = Parameter(component, match.group(1), index=index).field
        return values.get(field) or match.group(0)

    return PLACEHOLDER.sub(value, text)


@dataclass(frozen=True)
class Preview:
    header: str = ""
    body: str = ""
    footer: str = ""
    buttons: tuple = ()  # button labels

    def __str__(self):
        return "\n\n".join(part for part in (self.header, self.body, self.footer) if part)


def preview_parts(template, values) -> Preview:
    """What the customer will see, part by part (the inbox shows the buttons separately)."""
    header = next(iter(components_of(template, "HEADER")), None)
    header_text = ""
    if header and header_format(header) == "TEXT":
        header_text = _fill(_text(header), "header", values)
    elif header and header_format(header) in MEDIA_HEADERS:
        link = values.get(Parameter("header", MEDIA_KEY).field) or "…"
        header_text = MEDIA_PREVIEWS[header_format(header).lower()] % {"link": link}
    body = _fill(_text(next(iter(components_of(template, "BODY")), None)), "body", values)
    footer = _text(next(iter(components_of(template, "FOOTER")), None))
    buttons = tuple(
        str(b.get("text") or b.get("type", "")) for b in _buttons(template) if b.get("text")
    )
    return Preview(header=header_text, body=body, footer=footer, buttons=buttons)


def render_preview(template, values) -> str:
    """The text the customer will read: header, body and footer with the values filled in
    (placeholders left visible where a value is missing)."""
    return str(preview_parts(template, values))


def build_components(template, cleaned) -> list[dict]:
    """The `components` of the Cloud API request for validated values."""
    header, body, buttons = [], [], {}
    for parameter in required_parameters(template):
        value = cleaned[parameter.field]
        if parameter.is_media:
            header.append(
                {"type": parameter.sub_type, parameter.sub_type: media_object(parameter, value)}
            )
            continue
        if parameter.sub_type == "copy_code":
            buttons[parameter.index] = (
                parameter.sub_type,
                [{"type": "coupon_code", "coupon_code": value}],
            )
            continue
        item = {"type": "text"}
        if parameter.named:
            item["parameter_name"] = parameter.key
        item["text"] = value
        if parameter.component == "header":
            header.append(item)
        elif parameter.component == "body":
            body.append(item)
        else:
            buttons.setdefault(parameter.index, (parameter.sub_type, []))[1].append(item)
    components = []
    if header:
        components.append({"type": "header", "parameters": header})
    if body:
        components.append({"type": "body", "parameters": body})
    for index, (sub_type, parameters) in sorted(buttons.items()):
        components.append(
            {"type": "button", "sub_type": sub_type, "index": index, "parameters": parameters}
        )
    return components


def media_object(parameter, link) -> dict:
    """A media header's object: the link, and for a document the name the customer sees (the
    link's last path segment, when it has one)."""
    media = {"link": link}
    if parameter.sub_type == "document":
        name = PurePosixPath(unquote(urlsplit(link).path)).name
        if name:
            media["filename"] = name[:200]
    return media


def template_payload(message) -> dict:
    """The `template` object of the Cloud API request for a queued template message.

    Built from the copy stored on the message when it was queued, so a template edited or
    removed since still sends exactly what staff saw in the preview.
    """
    stored = message.data["template"]
    payload = {"name": stored["name"], "language": {"code": stored["language"]}}
    if stored.get("components"):
        payload["components"] = stored["components"]
    return payload


def queue_template_message(conversation, user, template, values, client_token=None):
    """Validate `values`, then queue the template for sending (allowed outside the window).

    Raises ReplyRefused when the template cannot be sent at all, ValidationError when the
    values do not fit it.
    """
    from messaging.sending import ReplyRefused, queue_outbound

    if template.status != APPROVED:
        raise ReplyRefused(
            _("Only approved templates can be sent; “%(name)s” is %(status)s.")
            % {"name": template.name, "status": template.status or _("not reviewed")}
        )
    waba_id = conversation.business_number.waba_id
    if waba_id and template.waba_id and waba_id != template.waba_id:
        raise ReplyRefused(
            _("This template belongs to another WhatsApp Business Account than this number.")
        )
    cleaned = validate(template, values)
    data = {
        "template": {
            "id": template.pk,
            "template_id": template.template_id,
            "name": template.name,
            "language": template.language,
            "category": template.category,
            "values": cleaned,
            "components": build_components(template, cleaned),
        }
    }
    return queue_outbound(
        conversation,
        user,
        type="template",
        text=render_preview(template, cleaned),
        data=data,
        client_token=client_token,
    )


# Keeping the mirror current.


def _string(item, key, limit) -> str:
    value = item.get(key)
    if value is None:
        return ""
    return str(value)[:limit]


def _fields_from_meta(item, waba_id):
    """MessageTemplate fields from one item of Meta's list, or None if it is unusable."""
    if not isinstance(item, dict):
        return None
    name, language = _string(item, "name", 512), _string(item, "language", 16)
    if not name or not language:
        return None
    components = item.get("components") if isinstance(item.get("components"), list) else []
    parameter_format = _string(item, "parameter_format", 12).upper()
    if parameter_format not in MessageTemplate.ParameterFormat.values:
        parameter_format = _guess_parameter_format(components)
    reason = _string(item, "rejected_reason", 255)
    return {
        "waba_id": waba_id,
        "name": name,
        "language": language,
        "template_id": _string(item, "id", 64),
        "category": _string(item, "category", 20).upper(),
        "status": _string(item, "status", 30).upper(),
        "parameter_format": parameter_format,
        "components": components,
        "rejected_reason": "" if reason.upper() == "NONE" else reason,
    }


def _guess_parameter_format(components):
    """POSITIONAL, as Meta's default, unless the header or body has a named placeholder (an
    item listed without `parameter_format`)."""
    for component in components:
        if not isinstance(component, dict):
            continue
        if str(component.get("type", "")).upper() not in {"HEADER", "BODY"}:
            continue
        if any(NAMED_KEY.fullmatch(key) for key in PLACEHOLDER.findall(_text(component))):
            return MessageTemplate.ParameterFormat.NAMED
    return MessageTemplate.ParameterFormat.POSITIONAL


def sync_templates(waba_id=None, *, progress=None) -> tuple[int, int, int]:
    """Mirror the account's templates from Meta; return (created, updated, removed).

    Every page is fetched before anything is written, and the rows change in one
    transaction: a failure half-way leaves the mirror as it was. Templates Meta no longer
    lists are deleted, not marked: Meta cannot send them any more (132001), and every message
    that used one keeps its own copy (name, language, values, components) in Message.data, so
    nothing refers to the row. `progress(count)` is called as items arrive.
    """
    waba_id = waba_id or settings.WHATSAPP_WABA_ID
    if not waba_id:
        raise TemplateSyncError(
            _(
                "No WhatsApp Business Account id: set WHATSAPP_WABA_ID to synchronise "
                "message templates."
            )
        )
    listed = []
    try:
        for item in get_backend().list_templates(waba_id):
            listed.append(item)
            if progress:
                progress(len(listed))
    except SendError as exc:
        if exc.stop_sending:
            # The access token is shared by every call: sending cannot work either.
            numbers = BusinessNumber.objects.filter(waba_id=waba_id)
            pause_numbers(numbers if numbers.exists() else BusinessNumber.objects.all(), exc)
        detail = f" ({exc.code})" if exc.code else ""
        raise TemplateSyncError(
            _("Meta did not list the templates: %(reason)s") % {"reason": f"{exc.title}{detail}"}
        ) from exc

    now = timezone.now()
    created = updated = 0
    try:
        with transaction.atomic():
            existing = {
                (row.name, row.language): row
                for row in MessageTemplate.objects.select_for_update().filter(waba_id=waba_id)
            }
            seen = set()
            for item in listed:
                fields = _fields_from_meta(item, waba_id)
                if fields is None:
                    logger.warning("template sync: skipped an item without name or language")
                    continue
                key = (fields["name"], fields["language"])
                if key in seen:
                    continue  # listed twice (the list changed between pages)
                seen.add(key)
                row = existing.get(key)
                if row is None:
                    MessageTemplate.objects.create(**fields, synced_at=now)
                    created += 1
                elif any(getattr(row, name) != value for name, value in fields.items()):
                    for name, value in fields.items():
                        setattr(row, name, value)
                    row.synced_at = now
                    row.save()
                    updated += 1
            unchanged = [row.pk for key, row in existing.items() if key in seen]
            MessageTemplate.objects.filter(pk__in=unchanged, synced_at__lt=now).update(
                synced_at=now
            )
            stale = [row.pk for key, row in existing.items() if key not in seen]
            removed, _by_model = MessageTemplate.objects.filter(pk__in=stale).delete()
    except IntegrityError as exc:
        raise TemplateSyncError(
            _("Another synchronisation ran at the same time; try again.")
        ) from exc
    logger.info(
        "template sync for WABA %s: %d listed, %d new, %d changed, %d removed",
        waba_id,
        len(listed),
        created,
        updated,
        removed,
    )
    return created, updated, removed


# Meta's status events that are not statuses of the template as the list API reports them.
STATUS_EVENTS = {"REINSTATED": APPROVED}
# Quality dropped: Meta warns before pausing; the template is still approved and sendable.
NOT_A_STATUS = {"FLAGGED"}


def apply_template_update(event):
    """Apply a template webhook (status, category, quality or components change) to the row it
    is about; unknown templates are left for the next sync. Returns the row, or None."""
    rows = MessageTemplate.objects.all()
    template = rows.filter(template_id=event.template_id).first() if event.template_id else None
    if template is None and event.name and event.language:
        by_name = rows.filter(name=event.name, language=event.language)
        if event.waba_id:
            by_name = by_name.filter(waba_id=event.waba_id)
        template = by_name.first()
    if template is None:
        logger.info(
            "template webhook %s for unknown template %s; run sync_templates",
            event.field,
            event.template_id or event.name,
        )
        return None

    changes = {}
    if event.template_id and not template.template_id:
        changes["template_id"] = event.template_id[:64]
    data = event.data if isinstance(event.data, dict) else {}
    if event.field == "message_template_status_update":
        status = STATUS_EVENTS.get(event.event.upper(), event.event.upper())
        if status in NOT_A_STATUS:
            logger.warning("template %s was flagged for low quality", template.pk)
        elif status:
            changes["status"] = status[:30]
            changes["rejected_reason"] = _rejection(event, data) if status == "REJECTED" else ""
        category = data.get("message_template_category")
        if isinstance(category, str) and category:
            changes["category"] = category.upper()[:20]
    elif event.field == "template_category_update":
        if event.event:
            changes["category"] = event.event.upper()[:20]
    elif event.field == "message_template_quality_update":
        logger.info(
            "template %s quality %s -> %s",
            template.pk,
            data.get("previous_quality_score", "?"),
            event.event or "?",
        )
    else:
        logger.info("template %s changed (%s); run sync_templates", template.pk, event.field)

    changes = {k: v for k, v in changes.items() if getattr(template, k) != v}
    if changes:
        for name, value in changes.items():
            setattr(template, name, value)
        template.save(update_fields=[*changes, "updated_at"])
    return template


def _rejection(event, data) -> str:
    reason = "" if event.reason.upper() == "NONE" else event.reason
    info = data.get("rejection_info") if isinstance(data.get("rejection_info"), dict) else {}
    detail = info.get("reason") if isinstance(info.get("reason"), str) else ""
    return ": ".join(part for part in (reason, detail) if part)[:255]

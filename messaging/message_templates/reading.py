"""Reading templates: what a template needs filled in, and whether the inbox can send it."""

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.models import Conversation, MessageTemplate

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
            return _("Button %(number)d, code to copy") % {"number": self.button_index + 1}
        return _("Button %(number)d, link") % {"number": self.button_index + 1}

    @property
    def button_index(self) -> int:
        """The button's position among the template's buttons (a button's parameter only)."""
        if self.index is None:
            raise ValueError(f"{self.field} is not a button's parameter")
        return self.index

    @property
    def description(self) -> str:
        """The variable in a sentence: "{{1}} in the body"."""
        what: dict[str, str | int] = {"placeholder": self.placeholder}
        if self.is_media:
            return str(MEDIA_DESCRIPTIONS[self.sub_type])
        if self.component == "header":
            return _("%(placeholder)s in the header") % what
        if self.component == "body":
            return _("%(placeholder)s in the body") % what
        what["number"] = self.button_index + 1
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


def header_format(component: dict[str, Any]) -> str:
    return str(component.get("format", "TEXT")).upper()


def components_of(template: MessageTemplate, kind: str) -> list[dict[str, Any]]:
    """The template's components of one type (HEADER, BODY, FOOTER, BUTTONS)."""
    components = template.components if isinstance(template.components, list) else []
    return [c for c in components if isinstance(c, dict) and str(c.get("type", "")).upper() == kind]


def component_text(component: dict[str, Any] | None) -> str:
    text = component.get("text") if component else ""
    return text if isinstance(text, str) else ""


def _keys(text: str) -> list[str]:
    """Distinct placeholder keys of a text: positional ones in number order, named ones in
    order of appearance."""
    keys = list(dict.fromkeys(PLACEHOLDER.findall(text)))
    if keys and all(POSITIONAL_KEY.fullmatch(k) for k in keys):
        keys.sort(key=int)
    return keys


def _examples(component: dict[str, Any], kind: str) -> dict[str, str]:
    """Meta's example values for a HEADER or BODY component, by placeholder key."""
    example = raw if isinstance(raw := component.get("example"), dict) else {}
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


def buttons_of(template: MessageTemplate) -> list[dict[str, Any]]:
    buttons = []
    for component in components_of(template, "BUTTONS"):
        buttons += [b for b in component.get("buttons") or [] if isinstance(b, dict)]
    return buttons


def required_parameters(template: MessageTemplate) -> list[Parameter]:
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
            text = component_text(component)
            examples = _examples(component, kind)
            fixed = len(PLACEHOLDER.sub("", text))
            for key in _keys(text):
                limit = (
                    max(HEADER_TEXT_LIMIT - fixed, 1) if kind == "header" else BODY_PARAMETER_LIMIT
                )
                parameters.append(
                    Parameter(kind, key, example=examples.get(key, ""), max_length=limit)
                )
    for index, button in enumerate(buttons_of(template)):
        kind = str(button.get("type", "")).upper()
        example = button.get("example")
        if isinstance(example, list):
            example = example[0] if example else ""
        if kind == "URL":
            url = raw if isinstance(raw := button.get("url"), str) else ""
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


def unsupported_reason(template: MessageTemplate) -> str:
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
            for b in buttons_of(template)
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


def sendable_templates(conversation: Conversation) -> QuerySet[MessageTemplate]:
    """Approved templates of the WhatsApp Business Account behind the conversation's number."""
    templates = MessageTemplate.objects.filter(status=APPROVED)
    waba_id = conversation.business_number.waba_id or settings.WHATSAPP_WABA_ID
    return templates.filter(waba_id=waba_id) if waba_id else templates

"""Every URL pattern of the project as a concrete path, arguments filled in.

`walk(values)` yields one `Route` per URL pattern (admin ones included). Arguments come from
`values` by name (e.g. {"pk": conversation.pk}); with `objects=True` (needs the database) an
admin `object_id` is the primary key of an existing object of that admin's model when there
is one; anything else is 999999 (a 404) or, where the pattern wants a word (an app label),
the first one it accepts. Without the database (e.g. at collection time) every id is 999999.
"""

import itertools
import re
from dataclasses import dataclass

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize

MISSING = "999999"
ADMIN_MODEL_ROUTE = re.compile(r"^(\w+)/(\w+)/$")


@dataclass(frozen=True)
class Route:
    path: str
    route: str  # the pattern, e.g. "c/<int:pk>/reply/"
    name: str | None  # e.g. "inbox:reply"
    callback: object
    kwargs: tuple  # (name, value) pairs that filled the arguments


def walk(values=None, *, objects=False):
    values = dict(values or {})
    values.setdefault("__objects__", objects)
    yield from _walk(get_resolver(), [], [], [], values)


def _walk(resolver, regexes, routes, namespaces, values):
    for entry in resolver.url_patterns:
        regex = entry.pattern.regex.pattern
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            namespace = [*namespaces, entry.namespace] if entry.namespace else namespaces
            yield from _walk(entry, [*regexes, regex], [*routes, route], namespace, values)
        elif isinstance(entry, URLPattern):
            yield _route(entry, [*regexes, regex], [*routes, route], namespaces, values)


def _route(entry, regexes, routes, namespaces, values):
    combined = "^" + "".join(regex.lstrip("^") for regex in regexes)
    template, params = normalize(combined)[0]
    options = [_candidates(param, routes, values) for param in params]
    for chosen in itertools.product(*options):
        filled = dict(zip(params, chosen, strict=True))
        path = template % filled
        if re.match(combined, path):
            break
    else:
        raise AssertionError(f"no arguments found for {''.join(routes)} ({params})")
    name = ":".join([*namespaces, entry.name]) if entry.name else None
    return Route("/" + path, "".join(routes), name, entry.callback, tuple(filled.items()))


def _candidates(param, routes, values):
    if param in values:
        return [str(values[param])]
    if param == "object_id" and values["__objects__"]:
        model = _admin_model(routes)
        if model is not None:
            first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
            return [str(first) if first is not None else MISSING]
    if param == "app_label":
        return [config.label for config in apps.get_app_configs()]
    return [MISSING, "x"]


def _admin_model(routes):
    if len(routes) < 2 or routes[0] != "admin/":
        return None
    match = ADMIN_MODEL_ROUTE.match(routes[1])
    if not match:
        return None
    try:
        return apps.get_model(*match.groups())
    except LookupError:
        return None


def reaches_its_own_view(route):
    """Whether the path resolves to the pattern it was made from (not one earlier in the list)."""
    return resolve(route.path).func is route.callback

"""Access control and hardening: from where staff pages answer, who is at the keyboard, for how
long a sign-in lasts, and what a browser may keep.

- `client_ip(request)`: the visitor's address, through trusted reverse proxies only.
- `open_to_internet`: marks the few views anyone may reach from anywhere (Meta's webhook, the
  health check, the public privacy page); everything else answers only from
  INBOX_ALLOWED_NETWORKS when that is set (`InternalNetworkMiddleware`).
- `passive_view`: marks views that a page calls by itself (the inbox poll): they do not count
  as activity, so an open tab does not keep a session alive forever (`SessionExpiryMiddleware`).
- `NoStoreMiddleware`: pages shown to a signed-in user are never kept in a browser or proxy
  cache.
- `lockout_response`: the page django-axes shows after too many failed sign-ins.
"""

import contextlib
import functools
import ipaddress
import logging
import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseForbidden
from django.shortcuts import render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

logger = logging.getLogger(__name__)


# Client address.


def parse_ip(text):
    """An address as found in REMOTE_ADDR or one X-Forwarded-For hop, or None if it is none.

    Tolerates a port ("203.0.113.5:443", "[2001:db8::1]:443"); IPv4-mapped IPv6 addresses
    (what a dual-stack socket reports for IPv4 clients) become plain IPv4.
    """
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@functools.cache
def _networks(cidrs):
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def in_networks(address, cidrs):
    """Whether `address` (an ip_address) lies in one of `cidrs` (CIDR strings)."""
    return any(address in network for network in _networks(tuple(cidrs)))


def client_ip(request):
    """The address of whoever sent this request, as a string (None when it cannot be told).

    REMOTE_ADDR, unless that is one of TRUSTED_PROXIES: then X-Forwarded-For is read from the
    right (each proxy appends the address it received the request from) and the first address
    that is not itself a trusted proxy is the client. Addresses further left were written by
    the client and could be anything, so they are never believed. An unreadable hop where an
    address should be gives None: the caller cannot tell who this is.
    """
    remote = parse_ip(request.META.get("REMOTE_ADDR"))
    trusted = settings.TRUSTED_PROXIES
    if remote is None or not trusted or not in_networks(remote, trusted):
        return str(remote) if remote else None
    address = remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([hop for hop in hops if hop.strip()]):
        address = parse_ip(hop)
        if address is None:
            return None
        if not in_networks(address, trusted):
            break
    return str(address)


# View markers.


def open_to_internet(view_func):
    """Let this view answer from any network, even when INBOX_ALLOWED_NETWORKS is set.

    Only for what the outside world must reach: Meta's webhook, the health check, the public
    privacy policy. Sign-in pages and the admin are deliberately not open.
    """
    view_func.open_to_internet = True
    return view_func


def passive_view(view_func):
    """Requests to this view do not count as activity for the idle session timeout.

    For what a page fetches by itself, without anyone touching it (e.g. polling for news).
    """
    view_func.session_passive = True
    return view_func


# Middleware.


class InternalNetworkMiddleware:
    """With INBOX_ALLOWED_NETWORKS set, only views marked `open_to_internet` answer from other
    networks; the rest get a short 403. Static files are served before this runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        allowed = settings.INBOX_ALLOWED_NETWORKS
        if not allowed or getattr(view_func, "open_to_internet", False):
            return None
        address = client_ip(request)
        if address and in_networks(ipaddress.ip_address(address), allowed):
            return None
        logger.warning("refused a request from %s: outside the allowed networks", address)
        return HttpResponseForbidden(
            _("This page can only be reached from the organisation's network."),
            content_type="text/plain; charset=utf-8",
        )


# Session keys: when the user signed in, and when they were last active (unix seconds).
LOGIN_AT = "security_login_at"
ACTIVE_AT = "security_active_at"
# Activity is written to the session at most this often (seconds): a request within the
# same minute changes nothing, so most requests cause no session write.
ACTIVITY_RESOLUTION = 60


def start_session_clock(sender, request, user, **kwargs):
    """user_logged_in receiver: a new sign-in starts both clocks."""
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[ACTIVE_AT] = now


def session_expired(session, now):
    idle = now - session[ACTIVE_AT]
    age = now - session[LOGIN_AT]
    return age >= settings.SESSION_MAX_HOURS * 3600 or idle >= settings.SESSION_IDLE_MINUTES * 60


class SessionExpiryMiddleware:
    """Signs a user out after SESSION_IDLE_MINUTES without activity, and SESSION_MAX_HOURS
    after they signed in, whatever they do. Requests to `passive_view` views do not count as
    activity.

    Goes before LoginRequiredMiddleware: once this has signed the user out, that one sends
    them to the login page. An htmx request that would be redirected to a login page gets
    HX-Redirect instead, so the browser navigates there rather than swapping a login page into
    part of the current one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.headers.get("HX-Request") == "true" and is_login_redirect(response):
            response = htmx_login_redirect(request, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Signs out an expired session (and lets the request go on, anonymous); otherwise
        notes activity. Never answers by itself."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        session = request.session
        now = int(time.time())
        if not isinstance(session.get(LOGIN_AT), int) or not isinstance(
            session.get(ACTIVE_AT), int
        ):
            # Signed in before these clocks existed: they start now.
            session[LOGIN_AT] = session[ACTIVE_AT] = now
        if session_expired(session, now):
            logout(request)
            if getattr(view_func, "login_required", True):
                messages.info(
                    request,
                    _("Your session has expired. Please sign in again."),
                    fail_silently=True,
                )
        elif (
            not getattr(view_func, "session_passive", False)
            and now - session[ACTIVE_AT] >= ACTIVITY_RESOLUTION
        ):
            session[ACTIVE_AT] = now


def login_paths():
    paths = {resolve_url(settings.LOGIN_URL)}
    with contextlib.suppress(NoReverseMatch):  # a project without the admin
        paths.add(reverse("admin:login"))
    return paths


def is_login_redirect(response):
    return response.status_code in {301, 302, 303, 307, 308} and (
        urlsplit(response.get("Location", "")).path in login_paths()
    )


def htmx_login_redirect(request, response):
    """The login redirect as htmx understands it; afterwards, back to the page the user was on
    (not to the fragment URL htmx happened to be fetching)."""
    login_url = urlsplit(response["Location"]).path
    current = HtmxDetails(request).current_url_abs_path
    if current and urlsplit(current).path not in login_paths():
        login_url = f"{login_url}?{urlencode({'next': current})}"
    return HttpResponseClientRedirect(login_url)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response to a signed-in user that does not set its
    own: such pages carry conversations and phone numbers, which must not stay in a browser's
    cache (shared computers, the back button after signing out) or any proxy's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


# Deactivated users.


def end_sessions_of_deactivated_user(sender, instance, created, update_fields=None, **kwargs):
    """post_save receiver: a user who is no longer active loses every session at once.

    Belt and braces: Django's ModelBackend already refuses an inactive user on their next
    request. Sessions are not indexed by user, so this decodes the unexpired ones; it runs only
    when an inactive user is saved, which is rare. (`QuerySet.update(is_active=False)` sends no
    signal; the ModelBackend still refuses those users.)
    """
    if created or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    from django.contrib.sessions.models import Session

    user_id = str(instance.pk)
    theirs = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == user_id
    ]
    if theirs:
        Session.objects.filter(pk__in=theirs).delete()
        logger.info("ended %d session(s) of deactivated user %s", len(theirs), instance.pk)


# Login throttling (django-axes: AXES_LOCKOUT_CALLABLE).


def lockout_response(request, original_response=None, credentials=None):
    """The page shown instead of the login form while an account or address is locked out.

    The cool-off counts from the latest failed attempt, which is this one.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = max(1, round(cool_off.total_seconds() / 60))
    response = render(
        request,
        "registration/lockout.html",
        {"minutes": minutes, "retry_at": timezone.now() + cool_off},
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response

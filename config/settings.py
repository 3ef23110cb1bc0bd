"""Settings for WABA Al Qalam: one module, driven by the environment (see .env.example).

Every value comes from an environment variable or a `.env` file next to manage.py (variables
already in the environment win). Bad values stop the process at start-up with a message naming
the variable, rather than surfacing later as a confusing failure.

One module of over 500 lines on purpose: whoever deploys reads every setting, its default and
its check in one place, top to bottom.
"""

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
import jinja2
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.media_storage import media_storage
from messaging.safe_urls import is_safe_url

BASE_DIR = Path(__file__).resolve().parent.parent

# ENV_FILE="" disables reading a file (used by tests that load these settings in isolation).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name, default):
    """Like env.bool, but a typo such as DEBUG=ture is an error instead of silently False."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of {sorted(_TRUE | _FALSE)}, not {os.environ[name]!r}."
    )


def env_int(name, default, minimum=None):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name, default=()):
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()] or list(
        default
    )


def env_secret(name):
    """A secret from NAME, or from the file that NAME_FILE names (container and systemd
    secrets), surrounding whitespace stripped; "" when neither is set. Both set is an error."""
    value = os.environ.get(name, "").strip()
    path = os.environ.get(f"{name}_FILE", "").strip()
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if not path:
        return value
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(
            f"{name}_FILE names {path!r}, which cannot be read ({type(exc).__name__})."
        ) from None


def env_secret_list(name):
    """Several secrets (e.g. old and new while rotating): env_secret(name) split on commas or
    line breaks."""
    return [item.strip() for item in re.split(r"[,\n]", env_secret(name)) if item.strip()]


def env_networks(name):
    """A comma-separated list of networks in CIDR notation (a bare address is one host)."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(item)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list networks in CIDR notation, e.g. 10.0.0.0/8,2001:db8::/32; "
                f"{item!r} is not one (a network's host bits are zero: 10.0.0.0/8, not 10.0.0.1/8)."
            ) from None
    return networks


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (at least 50 random "
            "characters) or SECRET_KEY_FILE, or DEBUG=on for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - only ever used with DEBUG on
# Old keys still accepted for signatures and sessions while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env_secret_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. List the host names this site answers to, comma-separated "
        "(e.g. ALLOWED_HOSTS=inbox.example.org)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if urlsplit(_origin).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries need a scheme, e.g. https://{_origin}; got {_origin!r}."
        )

INSTALLED_APPS = [
    "staff",
    "inbox",
    "messaging",
    "privacy",
    "automation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "django_otp",
    "staff.two_factor_apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside INBOX_ALLOWED_NETWORKS, only views marked open_to_internet answer.
    "staff.security.InternalNetworkMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.otp_device / is_verified(): the two-factor device this session signed in with.
    "django_otp.middleware.OTPMiddleware",
    "staff.security.NoStoreMiddleware",
    # Idle and absolute session limits; must come before LoginRequiredMiddleware.
    "staff.security.SessionExpiryMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "inbox.middleware.StaffRequiredMiddleware",
    # REQUIRE_2FA_FOR_SUPERUSERS: superusers set up two-factor sign-in before anything else.
    "staff.two_factor.TwoFactorRequiredMiddleware",
    "inbox.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns a locked-out sign-in into the lockout page (django-axes wants to be last).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # The inbox's two hottest partials only (inbox/jinja.py); every page is a Django
        # template. No DIRS: only apps' jinja2/ folders.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "inbox.jinja.environment",
            "undefined": jinja2.ChainableUndefined,
        },
    },
]

# Database: SQLite by default (zero set-up), PostgreSQL in production.
DATABASES = {"default": env.db_url("DATABASE_URL", default="sqlite:///db.sqlite3")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] != ":memory:" and not Path(_db["NAME"]).is_absolute():
        _db["NAME"] = str(BASE_DIR / _db["NAME"])
    # The web server and the task worker write at the same time: WAL lets readers proceed
    # during a write, and IMMEDIATE transactions queue writers instead of failing with
    # "database is locked" when a read transaction tries to upgrade.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction pooling, `?disable_server_side_cursors=true` (README):
    # a named cursor of `.iterator()` would outlive the transaction that holds its server
    # connection. django-environ hands the text on as it is, and "false" would read as true.
    cursors = _db.get("DISABLE_SERVER_SIDE_CURSORS", False)
    if isinstance(cursors, str):
        _db["DISABLE_SERVER_SIDE_CURSORS"] = cursors.strip().lower() in env.BOOLEAN_TRUE_STRINGS
else:
    raise ImproperlyConfigured(
        f"DATABASE_URL must point at SQLite (sqlite:///path) or PostgreSQL (postgres://…), "
        f"not {_db['ENGINE']}."
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox:index"
LOGOUT_REDIRECT_URL = "login"

# Access control (staff/security.py). Behind reverse proxies, list them in TRUSTED_PROXIES:
# the client address is then read from X-Forwarded-For, right to left, past trusted hops only.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
# Staff pages and the admin answer only from these networks (empty: from anywhere); the webhook,
# /healthz and /privacy/ always answer (views marked open_to_internet).
INBOX_ALLOWED_NETWORKS = env_networks("INBOX_ALLOWED_NETWORKS")

# /healthz answers 503 when no task worker has been seen for HEALTHZ_WORKER_MINUTES, or a
# webhook body has waited to be applied for over HEALTHZ_WEBHOOK_BACKLOG_MINUTES (0: check off).
HEALTHZ_WORKER_MINUTES = env_int("HEALTHZ_WORKER_MINUTES", 5, minimum=0)
HEALTHZ_WEBHOOK_BACKLOG_MINUTES = env_int("HEALTHZ_WEBHOOK_BACKLOG_MINUTES", 10, minimum=0)

# /metrics (Prometheus text format, messaging.metrics) answers clients in
# METRICS_ALLOWED_NETWORKS (CIDR list; the address as TRUSTED_PROXIES tell it) and requests
# with "Authorization: Bearer METRICS_TOKEN"; with neither set it does not exist (404).
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS")
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# Sessions end after SESSION_IDLE_MINUTES without activity (the inbox's own polling does not
# count) and SESSION_MAX_HOURS after signing in, whatever happens (SessionExpiryMiddleware).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 480, minimum=1)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 60 * 60

# Login throttling (django-axes): LOGIN_FAILURE_LIMIT failed sign-ins for one username, or from
# one address, lock that username or address out for LOGIN_COOLOFF_MINUTES (each attempt while
# locked out starts the wait again); a successful sign-in clears the count. Administrators
# unlock in the admin (Access attempts: delete) or with `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "staff.backends.OneQueryModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one trips the lock
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "staff.security.client_ip"
AXES_LOCKOUT_CALLABLE = "staff.security.lockout_response"
# What axes records of a failed attempt's query and form: never the password (always masked),
# the page asked for (`next` may carry search terms) or the CSRF token. Usernames and
# addresses are kept: they are what an administrator needs to unlock.
AXES_SENSITIVE_PARAMETERS = ["next", "csrfmiddlewaretoken", "otp_token"]

# Two-factor sign-in (django-otp: codes from an authenticator app; staff/two_factor.py).
# Optional for every staff member (/accounts/two-factor/); once set up, signing in needs a code.
# REQUIRE_2FA_FOR_SUPERUSERS: superusers must set it up before they can use any page, and must
# sign in with a code. A lost phone: a superuser deletes the device in the admin.
REQUIRE_2FA_FOR_SUPERUSERS = env_bool("REQUIRE_2FA_FOR_SUPERUSERS", False)
OTP_TOTP_ISSUER = "WABA Al Qalam"  # the name authenticator apps show
# The admin lists and deletes devices but never shows their keys or QR codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Internationalisation: staff work in English and Arabic (right-to-left).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ar", "العربية")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Formats a language's Django locale lacks (config/formats/ar: Arabic dates with times).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# How often an open inbox page asks what changed (inbox/poller.html): one indexed query, 204
# when nothing did. 2 s puts new messages on screen within about 3 s.
INBOX_POLL_SECONDS = env_int("INBOX_POLL_SECONDS", 2, minimum=1)

# Static files: hashed, compressed and served by WhiteNoise from STATIC_ROOT.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# favicon.ico and robots.txt, which browsers and crawlers look for at the site root.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Private files: attachments staff send wait under outbox-media/ between the web request and
# the sending task, which deletes each once Meta has it; nothing serves them (MEDIA_URL stays
# unset). By default on this machine's disk under MEDIA_ROOT (relative paths are next to
# manage.py); with MEDIA_STORAGE_URL=s3://bucket/prefix?endpoint_url=…&region=… in an
# S3-compatible bucket, which web and workers on several machines must share
# (config/media_storage.py). The bucket's keys: MEDIA_STORAGE_ACCESS_KEY_ID and
# MEDIA_STORAGE_SECRET_ACCESS_KEY (or _FILE), or boto3's own chain when both are unset.
MEDIA_ROOT = BASE_DIR / (os.environ.get("MEDIA_ROOT", "").strip() or "media")
MEDIA_STORAGE_URL = os.environ.get("MEDIA_STORAGE_URL", "").strip()
STORAGES = {
    "default": media_storage(
        MEDIA_STORAGE_URL,
        env_secret("MEDIA_STORAGE_ACCESS_KEY_ID"),
        env_secret("MEDIA_STORAGE_SECRET_ACCESS_KEY"),
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Largest inbound media file the inbox fetches from Meta for staff (Meta's own limit, for
# documents, is 100 MB); anything larger is refused rather than streamed.
WHATSAPP_MEDIA_MAX_BYTES = env_int("WHATSAPP_MEDIA_MAX_BYTES", 100 * 1024 * 1024, minimum=1)

# Transport security. HTTPS_ONLY defaults to on whenever DEBUG is off; production sits behind
# a TLS-terminating proxy that must set X-Forwarded-Proto (and strip it from clients).
HTTPS_ONLY = env_bool("HTTPS_ONLY", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS_ONLY else None
SESSION_COOKIE_HTTPONLY = True
# htmx sends the token from the page (hx-headers), so no script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy: scripts and styles only from our own static files, each tag
# carrying the per-request nonce; no inline code, no plugins, no framing, no <base> tricks.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    # blob: the preview of a file chosen in the composer, a URL only this page's script makes.
    "img-src": [CSP.SELF, "blob:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Background work: Django's Tasks framework with the database backend (`manage.py db_worker`).
# One queue per kind of work, in order of urgency (messaging.queues, README "Running it"),
# all served by `db_worker --queue-name '*'`. "default" holds tasks queued before the queues
# were split, until a '*' worker has run them.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["sending", "webhooks", "maintenance", "notifications", "automation", "default"],
    }
}

# Teamwork and automation (automation/, README "Teamwork and automation"). Automatic replies
# never answer a message older than AUTOMATION_MAX_MESSAGE_AGE_MINUTES (after downtime Meta
# replays up to a week of messages), and a conversation gets at most
# AUTOMATION_MAX_REPLIES_PER_HOUR of them. Open conversations without a message for
# AUTOMATION_AUTO_CLOSE_DAYS are closed (0: never); staff get an e-mail when a customer has
# waited AUTOMATION_UNANSWERED_ALERT_MINUTES for an answer (0: never).
AUTOMATION_MAX_MESSAGE_AGE_MINUTES = env_int("AUTOMATION_MAX_MESSAGE_AGE_MINUTES", 60, minimum=1)
AUTOMATION_MAX_REPLIES_PER_HOUR = env_int("AUTOMATION_MAX_REPLIES_PER_HOUR", 3, minimum=1)
AUTOMATION_AUTO_CLOSE_DAYS = env_int("AUTOMATION_AUTO_CLOSE_DAYS", 7, minimum=0)
AUTOMATION_UNANSWERED_ALERT_MINUTES = env_int("AUTOMATION_UNANSWERED_ALERT_MINUTES", 30, minimum=0)

# E-mail to staff (notifications, sent by the task worker), through Django's MAILERS. By
# default printed on the worker's console while DEBUG is on (`make run`), and sent by SMTP
# otherwise (Django's `check --deploy` refuses a console backend in production): the
# EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD (or _FILE), EMAIL_USE_TLS and
# EMAIL_USE_SSL variables configure it. EMAIL_BACKEND names another backend. SITE_URL (e.g.
# https://inbox.example.org) makes the links in e-mails absolute.
_email_backend = os.environ.get("EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
_email_options = {}
if _email_backend == "django.core.mail.backends.smtp.EmailBackend":
    _email_options = {
        "host": os.environ.get("EMAIL_HOST", "").strip() or "localhost",
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": os.environ.get("EMAIL_HOST_USER", "").strip(),
        "password": env_secret("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": 10,
    }
    if _email_options["use_tls"] and _email_options["use_ssl"]:
        raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "").strip() or "inbox@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = os.environ.get("SITE_URL", "").strip().rstrip("/")
if SITE_URL and urlsplit(SITE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(f"SITE_URL must start with https:// (or http://), not {SITE_URL!r}.")

# WhatsApp Business Cloud API. Secrets only ever come from the environment, or from files named
# by NAME_FILE variables (env_secret); they are never stored, logged or shown.
WHATSAPP_APP_SECRETS = env_secret_list("WHATSAPP_APP_SECRET")  # several while rotating
WHATSAPP_VERIFY_TOKEN = env_secret("WHATSAPP_VERIFY_TOKEN")
WHATSAPP_ACCESS_TOKEN = env_secret("WHATSAPP_ACCESS_TOKEN")
WHATSAPP_WABA_ID = os.environ.get("WHATSAPP_WABA_ID", "")
WHATSAPP_API_VERSION = os.environ.get("WHATSAPP_API_VERSION", "v23.0")
WHATSAPP_GRAPH_URL = os.environ.get("WHATSAPP_GRAPH_URL", "https://graph.facebook.com").rstrip("/")
WHATSAPP_BACKEND = os.environ.get("WHATSAPP_BACKEND", "cloud")
if WHATSAPP_BACKEND not in {"cloud", "console", "locmem"} and "." not in WHATSAPP_BACKEND:
    raise ImproperlyConfigured(
        f"WHATSAPP_BACKEND must be cloud, console, locmem or a dotted path, "
        f"not {WHATSAPP_BACKEND!r}."
    )
WHATSAPP_TRANSPORT = {"BACKEND": WHATSAPP_BACKEND, "OPTIONS": {}}
# The outbox: attempts per message for temporary errors (then it fails), the first backoff
# (doubling, with jitter), and how long a worker may hold a message before the sweep assumes
# it died mid-send (longer than the Graph API timeouts plus a media upload).
WHATSAPP_SEND_MAX_ATTEMPTS = env_int("WHATSAPP_SEND_MAX_ATTEMPTS", 6, minimum=1)
WHATSAPP_RETRY_BASE_SECONDS = env_int("WHATSAPP_RETRY_BASE_SECONDS", 5, minimum=1)
WHATSAPP_SEND_LEASE_SECONDS = env_int("WHATSAPP_SEND_LEASE_SECONDS", 300, minimum=60)
# Opening a conversation tells the customer their messages were read (blue ticks).
WHATSAPP_READ_RECEIPTS = env_bool("WHATSAPP_READ_RECEIPTS", True)
# Messages per second per business number (Meta's default throughput is 80): bulk work is
# paced so that it never earns a 130429 rate-limit error by itself.
WHATSAPP_SEND_RATE_PER_SECOND = env_int("WHATSAPP_SEND_RATE_PER_SECOND", 80, minimum=1)
# How often the worker runs its maintenance (outbox sweep, retention purge).
MAINTENANCE_INTERVAL_SECONDS = env_int("MAINTENANCE_INTERVAL_SECONDS", 60, minimum=5)
# A worker that loses the database waits for it with exponential backoff up to this long
# between tries (messaging.worker), then carries on by itself.
WORKER_DB_BACKOFF_MAX_SECONDS = env_int("WORKER_DB_BACKOFF_MAX_SECONDS", 30, minimum=1)
# A task "running" longer than this is taken for one whose worker died (killed, or cut off
# the database mid-task): maintenance marks it failed and queues its webhook body again.
# Longer than any task takes (applying a body: milliseconds; a send: its Graph timeouts).
TASK_LEASE_SECONDS = env_int("TASK_LEASE_SECONDS", 300, minimum=60)

# Privacy (shown on /privacy/ and in admin). Deletion requests are due this many days after
# receipt.
DELETION_REQUEST_DEADLINE_DAYS = env_int("DELETION_REQUEST_DEADLINE_DAYS", 30, minimum=1)
# Erasure tombstones keep an HMAC of each erased person's phone number and user id under this
# key, so that webhooks Meta redelivers afterwards are recognised and dropped. It is a secret
# of its own because it must never change: SECRET_KEY is rotated, and a tombstone hashed
# under another key no longer matches (the erased person would come back). Unset, it is
# derived from SECRET_KEY — fine for development; `check --deploy` warns (privacy.W001).
ERASURE_HASH_KEY = env_secret("ERASURE_HASH_KEY")
ERASURE_HASH_KEY_DERIVED = not ERASURE_HASH_KEY
if ERASURE_HASH_KEY_DERIVED:
    ERASURE_HASH_KEY = f"erasure:{SECRET_KEY}"

# Retention, in days (privacy.retention: applied once a day by the task worker, or by
# `manage.py purge_expired` from cron; shown on /privacy/ and on the admin index). Message
# content (text, captions, media ids, locations, reactions, …) is removed CONTENT days after
# the message, keeping its metadata (ids, times, types, statuses) until METADATA days, when the
# message, its statuses, and conversations and contacts left empty are deleted. Raw webhook
# bodies hold message text too, so they may not outlive content; 7 days covers Meta's
# redelivery window. Finished background-task results, the audit log and the sign-in records
# (django-axes; kept as long as the audit log) have their own periods.
RETENTION_CONTENT_DAYS = env_int("RETENTION_CONTENT_DAYS", 90, minimum=1)
RETENTION_METADATA_DAYS = env_int("RETENTION_METADATA_DAYS", 365, minimum=1)
RETENTION_WEBHOOK_DAYS = env_int("RETENTION_WEBHOOK_DAYS", 7, minimum=1)
RETENTION_TASK_RESULTS_DAYS = env_int("RETENTION_TASK_RESULTS_DAYS", 7, minimum=1)
RETENTION_AUDIT_DAYS = env_int("RETENTION_AUDIT_DAYS", 730, minimum=1)
if RETENTION_METADATA_DAYS < RETENTION_CONTENT_DAYS:
    raise ImproperlyConfigured(
        f"RETENTION_METADATA_DAYS ({RETENTION_METADATA_DAYS}) must be at least "
        f"RETENTION_CONTENT_DAYS ({RETENTION_CONTENT_DAYS}): content goes first, metadata after."
    )
if RETENTION_WEBHOOK_DAYS > RETENTION_CONTENT_DAYS:
    raise ImproperlyConfigured(
        f"RETENTION_WEBHOOK_DAYS ({RETENTION_WEBHOOK_DAYS}) must not exceed "
        f"RETENTION_CONTENT_DAYS ({RETENTION_CONTENT_DAYS}): raw webhook bodies hold message text."
    )
# Handled deletion requests (completed ones keep only dates, channel, handler and counts;
# rejected ones also the requester's ids and the reason) are deleted this long after they were
# closed, and erasure tombstones this long after the erasure. A tombstone must outlive Meta's
# 7-day redelivery window plus the raw webhook period (a redelivered copy may wait that long
# to be replayed), so the period is at least RETENTION_WEBHOOK_DAYS + 7.
RETENTION_DELETION_REQUESTS_DAYS = env_int("RETENTION_DELETION_REQUESTS_DAYS", 365, minimum=1)
if RETENTION_DELETION_REQUESTS_DAYS < RETENTION_WEBHOOK_DAYS + 7:
    raise ImproperlyConfigured(
        f"RETENTION_DELETION_REQUESTS_DAYS ({RETENTION_DELETION_REQUESTS_DAYS}) must be at least "
        f"RETENTION_WEBHOOK_DAYS + 7 ({RETENTION_WEBHOOK_DAYS + 7}): erasure tombstones must "
        "outlive Meta's redelivery window and the raw webhook bodies."
    )
# Who people write to about their data: section 10 of the public privacy policy (/privacy/).
# An e-mail address (shown as a link) or any short text.
PRIVACY_CONTACT = os.environ.get("PRIVACY_CONTACT", "").strip()


if not is_safe_url(WHATSAPP_GRAPH_URL):
    raise ImproperlyConfigured(
        f"WHATSAPP_GRAPH_URL must be an https:// URL (plain http only for a loopback test "
        f"server), not {WHATSAPP_GRAPH_URL!r}."
    )
if not WHATSAPP_API_VERSION.startswith("v"):
    raise ImproperlyConfigured(
        f"WHATSAPP_API_VERSION looks like v23.0, not {WHATSAPP_API_VERSION!r}."
    )

# Logging: one line per event on stdout, with phone-number-like digit runs masked, so that
# personal data does not end up in log storage that retention cannot reach.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
_AT_LEAST_INFO = "INFO" if LOG_LEVEL in {"DEBUG", "NOTSET"} else LOG_LEVEL
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {
            "()": "config.logging.OneLineRedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # Never below INFO, whatever LOG_LEVEL says: at DEBUG these two write template
        # contexts (contact names, message objects) and SQL with its parameters (message text).
        "django.template": {"level": _AT_LEAST_INFO},
        "django.db.backends": {"level": _AT_LEAST_INFO},
    },
}

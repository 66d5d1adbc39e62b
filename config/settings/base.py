"""Settings shared by every environment. Everything comes from the environment
(django-environ); `.env.example` lists each variable with a safe default.

Importing settings has no side effect: the folders the embedded defaults need
(SQLite, the file broker) are created when Django starts (core.runtime)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# Local state of the embedded defaults: SQLite, the file broker, media.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base of this site, used for links that leave the request cycle:
# Stripe success/cancel URLs, webhook endpoint registration, e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "dashboard.admin_site.ShopAdminConfig",  # django.contrib.admin with the shop's index (dashboard/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "axes",  # login throttling and lockout (see the README's "Security")
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files (no CDN)
    "djstripe",
    "sequences.apps.SequencesConfig",
    # Ours, top layer first (the layers are checked by import-linter, see
    # pyproject.toml): web pages, then the business apps, then what they share.
    "shop",
    "accounting",
    "api",
    "dashboard",
    "subscriptions",
    "payments",
    "orders",
    "catalog",
    "billing",
    "audit",
    "core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RejectNulBytesMiddleware",  # 400, not a database error, for a NUL byte
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused by the lockout into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
            ],
        },
    },
]

# SQLite under var/ unless DATABASE_URL names another database (PostgreSQL in CI
# and production).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# Persistent connections: a web thread or worker keeps its connection for this
# many seconds instead of opening one per request (a PostgreSQL connection
# costs a few milliseconds); checked before reuse, so a restarted server is
# survived. At most workers x threads connections from gunicorn (Procfile:
# 2 x 4) plus the worker's, whatever the traffic.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks
    # instead of failing at once, and let readers run during a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses any sign-in (site or admin) while the account
# or the address is locked out, then the ordinary model backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after AXES_FAILURE_LIMIT wrong passwords for one account
# (from anywhere), or from one address (for any accounts), further sign-ins of
# that account / from that address are refused for AXES_COOLOFF_TIME. A
# successful sign-in or a password reset clears the count; staff unlock at once
# in admin (Axes > Access attempts: delete) or with `manage.py axes_reset_username`.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each one counted on its own
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "shop.auth_views.login_locked_out"  # registration/locked_out.html
AXES_HTTP_RESPONSE_CODE = 429
# The address counted: behind API_NUM_PROXIES proxies, the one they forwarded.
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
AXES_USERNAME_CALLABLE = "shop.auth_views.login_username"  # as typed, cut to a username's length
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:account"
LOGOUT_REDIRECT_URL = "shop:product_list"

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Documents (invoice PDFs) are private: they are served through views that
    # check ownership, never from MEDIA_URL by the web server.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# E-mail: the console by default; EMAIL_URL (smtp://..., filemail://...) to change.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shop@example.com")
# The e-mail outbox (core.email): an e-mail that could not be sent is tried
# again after this many seconds, doubling each time up to the maximum; each
# sweep takes at most this many.
EMAIL_OUTBOX_RETRY_SECONDS = env.int("EMAIL_OUTBOX_RETRY_SECONDS", default=60)
EMAIL_OUTBOX_RETRY_MAX_SECONDS = env.int("EMAIL_OUTBOX_RETRY_MAX_SECONDS", default=3600)
EMAIL_OUTBOX_SWEEP_BATCH = env.int("EMAIL_OUTBOX_SWEEP_BATCH", default=200)
# Seconds before a sender's claim on an e-mail expires (a killed worker's
# e-mail is sent by the sweep after that); more than an SMTP timeout.
EMAIL_OUTBOX_SEND_LEASE_SECONDS = env.int("EMAIL_OUTBOX_SEND_LEASE_SECONDS", default=300)

# ---------------------------------------------------------------------------
# Stripe (through dj-stripe and the official SDK)
# ---------------------------------------------------------------------------
# With STRIPE_API_BASE set, the SDK (and so dj-stripe) talks to the offline
# emulator (`python -m stripe_emulator`); unset, to Stripe itself.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
if STRIPE_API_BASE:
    STRIPE_API_HOST = STRIPE_API_BASE  # dj-stripe sets stripe.api_base from this
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
STRIPE_TEST_SECRET_KEY = env.str("STRIPE_TEST_SECRET_KEY", default="")
STRIPE_LIVE_SECRET_KEY = env.str("STRIPE_LIVE_SECRET_KEY", default="")
STRIPE_TEST_PUBLIC_KEY = env.str("STRIPE_TEST_PUBLIC_KEY", default="")
STRIPE_LIVE_PUBLIC_KEY = env.str("STRIPE_LIVE_PUBLIC_KEY", default="")
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2026-05-27.dahlia")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
# Network timeout for one Stripe API call, and how many times the SDK retries a
# failed call (with the same Idempotency-Key) before we give up.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# A rate-limited call (429) is retried, same idempotency key, honouring
# Retry-After, for at most this long in all; then the customer reads "try again".
STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS = env.float("STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS", default=8.0)
# Each new subscriber's Stripe customer is created on a test clock of its own,
# so renewals can be simulated by advancing that clock (test mode only; on by
# default, unset, whenever STRIPE_API_BASE points at the emulator).
STRIPE_USE_TEST_CLOCKS = env.bool("STRIPE_USE_TEST_CLOCKS", default=None)
# The webhook inbox (payments.views, payments.inbox). A body larger than this
# is refused with 413 and not stored (Stripe's events are a few KiB).
STRIPE_WEBHOOK_MAX_BYTES = env.int("STRIPE_WEBHOOK_MAX_BYTES", default=512 * 1024)
# Processing an event: attempts before it is "stuck" (shown to staff), the
# delay before the second attempt (doubling each time, capped), how long a
# worker holds an event (longer than a task's time limit: past it the event
# may be run again, its worker having died), and how late a message may be
# before the sweeper sends another.
STRIPE_EVENT_MAX_ATTEMPTS = env.int("STRIPE_EVENT_MAX_ATTEMPTS", default=6)
STRIPE_EVENT_RETRY_BACKOFF_SECONDS = env.int("STRIPE_EVENT_RETRY_BACKOFF_SECONDS", default=30)
STRIPE_EVENT_RETRY_BACKOFF_MAX_SECONDS = env.int("STRIPE_EVENT_RETRY_BACKOFF_MAX_SECONDS", default=480)
STRIPE_EVENT_LEASE_SECONDS = env.int("STRIPE_EVENT_LEASE_SECONDS", default=300)
STRIPE_EVENT_SWEEP_GRACE_SECONDS = env.int("STRIPE_EVENT_SWEEP_GRACE_SECONDS", default=120)

# ---------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Prepended to every key this shop writes in Redis (queues and cache), for a
# Redis shared by several shops: the test suite gives each of its Celery
# workers and browser-test stacks their own. Empty: no prefix.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="")
CELERY_FILESYSTEM_BROKER_DIR = VAR_DIR / "celery-broker"
# A message a worker took but never acknowledged (the worker was killed: tasks
# are acknowledged late) is delivered again after this many seconds. Longer
# than any countdown we schedule (Redis holds those unacknowledged too: the
# webhook retries wait at most 480 s), short enough that a killed worker's
# task runs again within minutes rather than Redis's default hour.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
                                       "global_keyprefix": REDIS_KEY_PREFIX}
else:
    # No server needed: messages are files under var/, shared by the web
    # process, the worker and beat on one machine. kombu's filesystem
    # transport, each message written whole before a worker can see it
    # (config/broker.py).
    CELERY_BROKER_URL = "shopfs://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_BROKER_DIR),
        "data_folder_out": str(CELERY_FILESYSTEM_BROKER_DIR),
        "control_folder": str(VAR_DIR / "celery-control"),
        # Look for new messages every 0.02 s (kombu's default is 1 s per poll):
        # a payment's documents take three messages (event, issue, render),
        # each waiting half a poll on average (at 0.1 s, 150 ms of a payment's
        # ~400 ms to its invoice PDF); an idle worker polling 50 times a second
        # costs 0.55% of a core (0.25% at 0.1 s; measured).
        "polling_interval": 0.02,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it queued
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process sets up WeasyPrint when it starts (billing.tasks): give it
# more than Celery's 4 s before the worker gives up on it on a busy machine.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env.float("CELERY_WORKER_PROC_ALIVE_TIMEOUT", default=30.0)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Queues per kind of work. Webhook events have their own, so a burst of
# renewals' documents never delays the acknowledgement of a payment; a worker
# started without -Q consumes every queue listed here.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue("celery"), Queue("events")]
CELERY_TASK_ROUTES = {
    "payments.tasks.process_webhook_event": {"queue": "events"},
    "payments.tasks.sweep_webhook_events": {"queue": "events"},
}
CELERY_TASK_EAGER_PROPAGATES = True

# Periodic work, one entry per job (see each comment for the interval).
CELERY_BEAT_SCHEDULE = {
    # Webhook events stored but not processed (a message lost, a worker killed
    # mid-run, a retry overdue) are handed to a worker again. Every minute:
    # a payment should not wait longer than that for its order to settle.
    "sweep-webhook-events": {
        "task": "payments.tasks.sweep_webhook_events",
        "schedule": 60.0,
    },
    # Paid orders without their invoice and receipt some minutes after payment
    # (the issuing task died with its worker) get them. Every 2 minutes.
    "issue-missing-order-documents": {
        "task": "orders.tasks.issue_missing_order_documents",
        "schedule": 120.0,
    },
    # Orders still awaiting payment 15 minutes after placing are settled by
    # asking Stripe, so a lost webhook never leaves an order wrong; the same job
    # expires orders past their reservation (expiring the session at Stripe
    # first). Every 2 minutes keeps stock held at most ~2 minutes too long.
    "reconcile-pending-orders": {
        "task": "payments.tasks.reconcile_pending_orders",
        "schedule": 120.0,
    },
    # A numbered document whose PDF failed to render is retried by its own
    # task; this sweep catches any left behind (worker died), and rendered
    # invoices whose e-mail was never written, every 10 minutes.
    "render-missing-pdfs": {
        "task": "billing.tasks.render_missing_pdfs",
        "schedule": crontab(minute="*/10"),
    },
    # E-mails the outbox could not send (SMTP down) are sent again once their
    # retry time (1, 2, 4... minutes) has come. Every minute: a customer
    # waits for their invoice.
    "send-unsent-emails": {
        "task": "core.tasks.send_unsent_emails",
        "schedule": 60.0,
    },
    # Refunds recorded while Stripe was unreachable are sent again (same
    # idempotency key), and refunds pending for 10 minutes are checked with
    # Stripe (a lost webhook). Every minute: staff were told "shortly".
    "retry-pending-refunds": {
        "task": "payments.tasks.refunds_retry",
        "schedule": 60.0,
    },
    # Paid Stripe subscription invoices of the last days that have no document
    # yet (an invoice.paid webhook lost for good) are issued by asking Stripe.
    # Hourly: Stripe retries webhooks for days, so this is only the backstop.
    # The ECB's euro reference rates (a foreign-currency document states its
    # VAT in euros at the rate of the day before). The ECB publishes around
    # 16:00 CET on working days: read at 16:30 and 22:30 (a retry) in CELERY_TIMEZONE.
    "fetch-exchange-rates": {
        "task": "billing.tasks.fetch_exchange_rates",
        "schedule": crontab(minute=30, hour="16,22"),
    },
    "reconcile-subscription-invoices": {
        "task": "subscriptions.tasks.reconcile_subscription_invoices",
        "schedule": crontab(minute=17),
    },
}

# ---------------------------------------------------------------------------
# Shop
# ---------------------------------------------------------------------------
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="eur").lower()
# The ISO 4217 currencies products may be priced in (the first is the shop's
# own unless SHOP_CURRENCY says otherwise). A cart holds one currency: an order
# is paid in one.
SHOP_CURRENCIES = [code.lower() for code in env.list("SHOP_CURRENCIES", default=[SHOP_CURRENCY])]
# Minutes a placed order holds its stock while the customer pays.
ORDER_RESERVATION_MINUTES = env.int("ORDER_RESERVATION_MINUTES", default=30)
# The order page, loaded back from Stripe, asks Stripe about its order at most
# once per this many seconds (however many loads, by anyone holding the link).
ORDER_STATUS_RECONCILE_INTERVAL = env.int("ORDER_STATUS_RECONCILE_INTERVAL", default=60)
# The status page's server-sent events (shop.order_views.order_status_stream):
# each open stream holds one of a web process's threads (gunicorn's gthread),
# so a few per process at most; a page without one polls the API's status.
ORDER_STATUS_STREAMS_PER_PROCESS = env.int("ORDER_STATUS_STREAMS_PER_PROCESS", default=2)
ORDER_STATUS_STREAM_SECONDS = env.float("ORDER_STATUS_STREAM_SECONDS", default=20)
ORDER_STATUS_STREAM_POLL_SECONDS = env.float("ORDER_STATUS_STREAM_POLL_SECONDS", default=0.25)
# Signed links in e-mails (an order's page, a document's download; core.signed_links)
# open without a session for this many seconds after they were sent.
SIGNED_LINK_MAX_AGE = env.int("SIGNED_LINK_MAX_AGE", default=30 * 24 * 3600)
# "Find my order" (/orders/find/): e-mails sent per address and per client
# address in an hour, beyond which requests are answered alike but send nothing.
ORDER_FIND_EMAILS_PER_HOUR = env.int("ORDER_FIND_EMAILS_PER_HOUR", default=5)
# Orders awaiting payment longer than this are reconciled against Stripe.
ORDER_RECONCILE_AFTER_MINUTES = env.int("ORDER_RECONCILE_AFTER_MINUTES", default=15)
# A paid order still without its invoice and receipt this long after payment
# is given them by the sweeper (orders.tasks.issue_missing_order_documents).
ORDER_DOCUMENTS_SWEEP_AFTER_SECONDS = env.int("ORDER_DOCUMENTS_SWEEP_AFTER_SECONDS", default=120)

# Subscriptions (subscriptions.documents, subscriptions.dunning)
# VAT rate included in plan prices (a plan's Stripe product may name its own
# in metadata["vat_rate"]).
SUBSCRIPTION_VAT_RATE = env.str("SUBSCRIPTION_VAT_RATE", default="20.00")
# How a plan change is billed: "always_invoice" charges (or credits) the
# prorated difference at once, on its own invoice.
SUBSCRIPTION_PRORATION_BEHAVIOR = env.str("SUBSCRIPTION_PRORATION_BEHAVIOR", default="always_invoice")
# Dunning: days between the retries of a failed renewal (counted from the
# previous attempt), like Stripe's Smart Retries default of a few attempts over
# about two weeks; after the last one fails the subscription is cancelled.
# With the emulator, `manage.py stripe_sync_plans` applies this schedule at
# start; with Stripe itself it is a Dashboard setting (Settings > Billing >
# Subscriptions and emails > Manage failed payments) to keep in line with it.
BILLING_DUNNING_RETRY_DAYS = env.list("BILLING_DUNNING_RETRY_DAYS", cast=int, default=[3, 5, 7])
# The seller printed on every document (snapshotted at issue time).
SHOP_SELLER = {
    "name": env.str("SELLER_NAME", default="Example Shop SAS"),
    "address_line1": env.str("SELLER_ADDRESS_LINE1", default="12 rue de la Paix"),
    "postal_code": env.str("SELLER_POSTAL_CODE", default="75002"),
    "city": env.str("SELLER_CITY", default="Paris"),
    "country": env.str("SELLER_COUNTRY", default="FR"),
    "vat_id": env.str("SELLER_VAT_ID", default="FR40123456824"),
    "registration": env.str("SELLER_REGISTRATION", default="RCS Paris 123 456 824"),
    # The legal registration number (BT-30): a French seller's SIREN (scheme 0002).
    "legal_id": env.str("SELLER_LEGAL_ID", default="123456824"),
    "email": env.str("SELLER_EMAIL", default="billing@example.com"),
}
# The seller's time zone: documents' dates, number series years and accounting
# periods follow it (an invoice at 00:30 in Paris on 1 January is of the new year).
SHOP_SELLER_TIME_ZONE = env.str("SELLER_TIME_ZONE", default=TIME_ZONE)
# VAT by place of supply (billing.tax.vat_treatment). One-Stop-Shop: the seller
# is over the EU distance-selling threshold (EUR 10,000 a year of sales to
# consumers in other member states) or opted in, so those consumers pay their
# own state's VAT (billing/vat_rates.py); off: they pay the seller's.
SHOP_VAT_OSS = env.bool("SHOP_VAT_OSS", default=False)
# VIES (the EU's VAT id register), asked before a sale to an EU business is
# exempted (K) or reverse charged (AE); empty turns the check off (VAT charged).
VIES_URL = env.str("VIES_URL", default="https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number")
VIES_TIMEOUT = env.float("VIES_TIMEOUT", default=5.0)
# The ECB's daily euro reference rates (billing.exchange_rates); seconds to wait.
ECB_RATES_URL = env.str("ECB_RATES_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml")
ECB_RATES_TIMEOUT = env.float("ECB_RATES_TIMEOUT", default=10.0)
# Accounting exports: the ZIP is built in a temporary file here (empty: the
# system's temp dir) before it is copied to storage under exports/.
ACCOUNTING_EXPORT_TEMP_DIR = env.str("ACCOUNTING_EXPORT_TEMP_DIR", default="")
# Members of this group read every document and use the accounting pages.
ACCOUNTANTS_GROUP = env.str("ACCOUNTANTS_GROUP", default="Accountants")
# The render sweep (billing.tasks.render_missing_pdfs) takes documents issued
# at least this long ago still without a PDF, this many per run.
BILLING_RENDER_SWEEP_AFTER_SECONDS = env.int("BILLING_RENDER_SWEEP_AFTER_SECONDS", default=120)
BILLING_RENDER_SWEEP_BATCH = env.int("BILLING_RENDER_SWEEP_BATCH", default=200)
# A web process renders receipts on their first download: it imports WeasyPrint
# and renders a sample receipt in a background thread when it starts (about 1 s
# of CPU and 40 MiB, which its first receipt would pay otherwise; config/wsgi.py).
WEB_PDF_WARM_UP = env.bool("WEB_PDF_WARM_UP", default=True)
# The shop's name in page headers.
SHOP_NAME = env.str("SHOP_NAME", default="Example Shop")

# ---------------------------------------------------------------------------
# REST API (/api/v1/, api app)
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A key first: a request without credentials gets 401 with the scheme to use.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        # The order page polls its status every 2 to 15 seconds.
        "order_status": env.str("API_THROTTLE_ORDER_STATUS", default="120/minute"),
    },
    # Proxies in front of the site whose X-Forwarded-For is trusted to name
    # the client (throttling counts per client); 0: the connecting address.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Read the shop's orders, documents (invoices, receipts, credit notes), subscriptions, products and "
        "plans.\n\n"
        "**Authentication.** Staff create a key for a user in admin (*API tokens*); it is shown once. Send it as "
        "`Authorization: Bearer shop_...`. The API sees what that user sees: a customer their own orders, "
        "documents and subscriptions; staff every order and subscription; staff and accountants every document. "
        "Anything else answers 404. The site's own pages use the session cookie instead.\n\n"
        "**Money** is an integer in the currency's minor units (1250 with `eur` is €12.50), VAT included unless "
        "the field says net. **Dates** are ISO 8601 with their offset; date filters are local dates of the shop.\n\n"
        "**Lists** are paginated (`page`, `page_size` up to 200; `next` links the following page) and filtered by "
        "the query parameters each one documents.\n\n"
        "**Errors** all look like `{\"error\": {\"status\": 404, \"code\": \"not_found\", \"message\": ..., "
        "\"fields\": {}}}`; `fields` names the parameters refused. Too many requests answer 429 with `Retry-After`."
    ),
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayRequestDuration": True},
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "DocumentKindEnum": "billing.models.Document.Kind",
    },
}

# The cache: API throttling counts requests in it, so every web process must
# share it: Redis when REDIS_URL is set, else a folder under var/ (one machine).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": f"{REDIS_KEY_PREFIX}shop-cache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint and fontTools narrate every render at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # The SDK logs each request at INFO; our gateway logs what matters.
        "stripe": {"level": "WARNING"},
    },
}

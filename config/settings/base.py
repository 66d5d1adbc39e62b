"""Settings shared by every environment. Everything comes from the environment
(django-environ); `.env.example` lists each variable with a safe default.

Importing settings has no side effect: the folders the embedded defaults need
(SQLite, the file broker) are created when Django starts (core.runtime)."""

from pathlib import Path

import environ
from celery.schedules import crontab

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
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks
    # instead of failing at once, and let readers run during a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
# Each web thread keeps its connection between requests (checked before
# reuse) instead of opening one per request: at most workers x threads
# connections from gunicorn (Procfile: 2 x 4), whatever the traffic.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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
# Each new subscriber's Stripe customer is created on a test clock of its own,
# so renewals can be simulated by advancing that clock (test mode only; on by
# default, unset, whenever STRIPE_API_BASE points at the emulator).
STRIPE_USE_TEST_CLOCKS = env.bool("STRIPE_USE_TEST_CLOCKS", default=None)

# ---------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_FILESYSTEM_BROKER_DIR = VAR_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # No server needed: messages are files under var/, shared by the web
    # process, the worker and beat on one machine.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_BROKER_DIR),
        "data_folder_out": str(CELERY_FILESYSTEM_BROKER_DIR),
        "control_folder": str(VAR_DIR / "celery-control"),
        # Look for new messages every 0.1 s (kombu's default is 1 s per poll).
        "polling_interval": 0.1,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it queued
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# Periodic work, one entry per job (see each comment for the interval).
CELERY_BEAT_SCHEDULE = {
    # Orders still awaiting payment 15 minutes after placing are settled by
    # asking Stripe, so a lost webhook never leaves an order wrong; the same job
    # expires orders past their reservation (expiring the session at Stripe
    # first). Every 2 minutes keeps stock held at most ~2 minutes too long.
    "reconcile-pending-orders": {
        "task": "payments.tasks.reconcile_pending_orders",
        "schedule": 120.0,
    },
    # A numbered document whose PDF failed to render is retried by its own
    # task; this sweep catches any left behind (worker died) every 10 minutes.
    "render-missing-pdfs": {
        "task": "billing.tasks.render_missing_pdfs",
        "schedule": crontab(minute="*/10"),
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
# Signed links in e-mails (an order's page, a document's download; core.signed_links)
# open without a session for this many seconds after they were sent.
SIGNED_LINK_MAX_AGE = env.int("SIGNED_LINK_MAX_AGE", default=30 * 24 * 3600)
# "Find my order" (/orders/find/): e-mails sent per address and per client
# address in an hour, beyond which requests are answered alike but send nothing.
ORDER_FIND_EMAILS_PER_HOUR = env.int("ORDER_FIND_EMAILS_PER_HOUR", default=5)
# Orders awaiting payment longer than this are reconciled against Stripe.
ORDER_RECONCILE_AFTER_MINUTES = env.int("ORDER_RECONCILE_AFTER_MINUTES", default=15)

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
    "registration": env.str("SELLER_REGISTRATION", default="RCS Paris 123 456 789"),
    "email": env.str("SELLER_EMAIL", default="billing@example.com"),
}
# Accounting exports: the ZIP is built in a temporary file here (empty: the
# system's temp dir) before it is copied to storage under exports/.
ACCOUNTING_EXPORT_TEMP_DIR = env.str("ACCOUNTING_EXPORT_TEMP_DIR", default="")
# Members of this group read every document and use the accounting pages.
ACCOUNTANTS_GROUP = env.str("ACCOUNTANTS_GROUP", default="Accountants")
# The render sweep (billing.tasks.render_missing_pdfs) takes documents issued
# at least this long ago still without a PDF, this many per run.
BILLING_RENDER_SWEEP_AFTER_SECONDS = env.int("BILLING_RENDER_SWEEP_AFTER_SECONDS", default=120)
BILLING_RENDER_SWEEP_BATCH = env.int("BILLING_RENDER_SWEEP_BATCH", default=200)
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
                          "KEY_PREFIX": "shop-cache"}}
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

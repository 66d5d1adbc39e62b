"""The test suite: SQLite and no broker server unless DATABASE_URL / REDIS_URL
say otherwise (CI points them at PostgreSQL and Redis)."""

import os

from .base import *  # noqa: F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, REDIS_KEY_PREFIX, REDIS_URL, VAR_DIR, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's in-memory database: with an in-memory database the
    # live server and the test share one connection across threads, which
    # SQLite cannot do safely. A file gives each thread its own connection,
    # with the same WAL and busy timeout as the running shop. One per process,
    # so concurrent test runs never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend with a flush in milliseconds instead of
    # seconds after each transactional test (tests/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "tests.postgresql"
# Connections closed after each request as before: a live server's request
# threads must not hold the test database open when it is dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test points the SDK at its own emulator (see tests/conftest.py).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STRIPE_API_HOST = STRIPE_API_BASE
STRIPE_TEST_SECRET_KEY = "sk_test_emulatorOfflineShopKey000000000"
STRIPE_TEST_PUBLIC_KEY = "pk_test_emulatorOfflineShopKey000000000"
STRIPE_MAX_NETWORK_RETRIES = 2
# Tasks run in-process at commit time unless a test starts a real worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Throttling counts in the cache: each test process keeps its own, empty at start.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# No test reaches beyond loopback: VIES is off unless a test points it at its own server.
VIES_URL = ""
# Nor the ECB: tests store rates, or point this at their own server.
ECB_RATES_URL = "http://127.0.0.1:9/eurofxref-daily.xml"
# Under pytest-xdist each worker process (gw0, gw1, ...) has its own keys in
# Redis: a real Celery worker started by a test (it inherits PYTEST_XDIST_WORKER)
# takes that process's tasks only. The test database is per worker already.
if REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": f"{REDIS_KEY_PREFIX}{os.environ['PYTEST_XDIST_WORKER']}:",
    }

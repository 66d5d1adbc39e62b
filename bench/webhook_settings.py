"""Settings for the webhook benchmark's server: the shop as configured for tests,
plus one bare view to compare against (see bench/webhook_urls.py)."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.webhook_urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

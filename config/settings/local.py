"""Running on one machine: the demo and development."""

from .base import *  # noqa: F403
from .base import env

# Off unless asked for (DJANGO_DEBUG=true): the demo, and the PostgreSQL/Redis
# mode run the same way, never show a traceback to a visitor.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-not-secret-change-me")
# The emulator by default: the shop runs with no internet and no Stripe account.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:12111")
if STRIPE_API_BASE:
    STRIPE_API_HOST = STRIPE_API_BASE
STRIPE_TEST_SECRET_KEY = env.str("STRIPE_TEST_SECRET_KEY", default="sk_test_emulatorOfflineShopKey000000000")
STRIPE_TEST_PUBLIC_KEY = env.str("STRIPE_TEST_PUBLIC_KEY", default="pk_test_emulatorOfflineShopKey000000000")

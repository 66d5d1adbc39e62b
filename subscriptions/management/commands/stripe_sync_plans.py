"""Create the subscription plans at Stripe (real or the emulator) when missing,
and mirror them into dj-stripe. Idempotent: run it at every start, after
`stripe_webhook_register`.

Plans (subscriptions.plans.PLAN_CATALOGUE) are Stripe Products with
recurring Prices, found by `lookup_key`; nothing existing is changed.

The dunning retry schedule is not an API setting: with Stripe itself it is a
Dashboard setting (Settings > Billing > Subscriptions and emails > Manage
failed payments), to keep in line with BILLING_DUNNING_RETRY_DAYS; the
emulator is started with it (see the Procfile).
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.money import format_money
from payments.exceptions import GatewayError, GatewayUnavailable
from subscriptions.plans import plans_sync


class Command(BaseCommand):
    help = "Create (once) the subscription plans at Stripe by lookup key and mirror them into dj-stripe."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait", type=float, default=0, help="Seconds to keep trying while Stripe (the emulator) starts"
        )

    def handle(self, *args, wait, **options):
        deadline = time.monotonic() + wait
        while True:
            try:
                prices = plans_sync()
                break
            except GatewayUnavailable as error:
                if time.monotonic() < deadline:
                    time.sleep(1)
                    continue
                raise CommandError(f"Stripe did not answer: {error.detail or error}") from error
            except GatewayError as error:
                raise CommandError(f"Stripe refused the plans: {error.detail or error}") from error
        for price in prices:
            recurring = price.recurring or {}
            trial = recurring.get("trial_period_days")
            self.stdout.write(
                f"Plan {price.product.name}: {format_money(price.unit_amount, price.currency)} / "
                f"{recurring.get('interval')}{f', {trial}-day trial' if trial else ''} "
                f"({price.lookup_key}, {price.id})"
            )
        days = ",".join(str(day) for day in settings.BILLING_DUNNING_RETRY_DAYS)
        self.stdout.write(f"Dunning: Stripe's retry schedule must be {days} days (BILLING_DUNNING_RETRY_DAYS).")
        self.stdout.write(self.style.SUCCESS(f"{len(prices)} plan prices in sync."))

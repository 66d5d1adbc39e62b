"""Create the subscription plans at Stripe (real or the emulator) when missing,
and mirror them into dj-stripe. Idempotent: run it at every start, after
`stripe_webhook_register`.

Plans (billing.subscriptions.PLAN_CATALOGUE) are Stripe Products with
recurring Prices, found by `lookup_key`; nothing existing is changed. With the
emulator, the dunning retry schedule (BILLING_DUNNING_RETRY_DAYS) is applied
too; with Stripe itself that schedule is a Dashboard setting (Settings >
Billing > Subscriptions and emails > Manage failed payments).
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.money import format_money
from billing.subscriptions import plans_sync
from payments import gateway
from payments.exceptions import GatewayError, GatewayUnavailable


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
        days = list(settings.BILLING_DUNNING_RETRY_DAYS)
        try:
            applied = gateway.emulator_retry_schedule_set(days)
        except GatewayError as error:
            raise CommandError(f"The emulator's retry schedule could not be set: {error.detail or error}") from error
        if applied is None:
            self.stdout.write(
                f"Dunning: set Stripe's retry schedule in the Dashboard to match BILLING_DUNNING_RETRY_DAYS={days}."
            )
        else:
            self.stdout.write(f"Dunning: emulator retries failed renewals after {days} days, then cancels.")
        self.stdout.write(self.style.SUCCESS(f"{len(prices)} plan prices in sync."))

"""Register this site's dj-stripe webhook endpoint with the configured Stripe
(real or the emulator). Idempotent: run it at every start."""

import time
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from djstripe.models import WebhookEndpoint
from djstripe.settings import djstripe_settings

from payments import gateway, mirror
from payments.exceptions import GatewayError
from payments.webhooks import enabled_events


def endpoint_url(djstripe_uuid) -> str:
    return settings.SITE_URL + reverse("payments:stripe_webhook", kwargs={"uuid": djstripe_uuid})


class Command(BaseCommand):
    help = "Create (once) the Stripe webhook endpoint that points at this site's webhook inbox."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.SITE_URL, help="Public base URL of this site")
        parser.add_argument(
            "--wait", type=float, default=0, help="Seconds to keep trying while Stripe (the emulator) starts"
        )

    def handle(self, *args, base_url, wait, verbosity=1, **options):
        say = self.stdout.write if verbosity else (lambda message: None)
        settings.SITE_URL = base_url.rstrip("/")
        prefix = settings.SITE_URL + "/stripe/webhook/"
        deadline = time.monotonic() + wait
        while True:
            try:
                remote = {e.id: e for e in gateway.webhook_endpoint_list() if e.url.startswith(prefix)}
                break
            except GatewayError as error:
                if time.monotonic() < deadline:
                    time.sleep(1)
                    continue
                raise CommandError(f"Stripe did not answer ({settings.STRIPE_API_BASE or 'api.stripe.com'}): "
                                   f"{error.detail or error}") from error

        for local in WebhookEndpoint.objects.filter(url__startswith=prefix):
            wanted = set(enabled_events())
            if local.id in remote and local.secret and set(remote[local.id].enabled_events) == wanted:
                say(f"Webhook endpoint {local.id} already registered: {local.url}")
                return
            # Gone at Stripe (e.g. the emulator was reset) or out of date: start again.
            if local.id in remote:
                gateway.webhook_endpoint_delete(local.id)
                remote.pop(local.id)
            local.delete()

        # Endpoints for this URL that we hold no secret for cannot be verified: remove them.
        for endpoint_id, endpoint in remote.items():
            if endpoint.metadata.get("djstripe_uuid"):
                gateway.webhook_endpoint_delete(endpoint_id)

        djstripe_uuid = uuid.uuid4()
        created = gateway.webhook_endpoint_create(
            url=endpoint_url(djstripe_uuid),
            enabled_events=enabled_events(),
            metadata={"djstripe_uuid": str(djstripe_uuid)},
            api_version=djstripe_settings.STRIPE_API_VERSION,
        )
        endpoint = mirror.object_sync(WebhookEndpoint, created.raw)
        say(self.style.SUCCESS(f"Registered webhook endpoint {endpoint.id}: {endpoint.url}"))

"""The shop's URLs plus the benchmark's baseline: a bare Django view that only
verifies the Stripe signature and inserts one row."""

import os

import stripe
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as shop_urlpatterns

BARE_SECRET = os.environ.get("BENCH_BARE_SECRET", "whsec_bench_bare")


@csrf_exempt
def bare_webhook(request):
    try:
        stripe.WebhookSignature.verify_header(
            request.body.decode(), request.headers.get("Stripe-Signature", ""), BARE_SECRET, 300
        )
    except stripe.SignatureVerificationError:
        return HttpResponseBadRequest()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_webhook_row (body) VALUES (%s)", [request.body.decode()])
    return HttpResponse("ok")


urlpatterns = [path("bench/bare-webhook/", bare_webhook), *shop_urlpatterns]

"""Webhook throughput: signed `checkout.session.completed` events posted
concurrently to the shop's webhook inbox (signature verified, event stored
once, processing enqueued), next to a bare Django view on the same server that
only verifies the signature and inserts one row. Prints events per second and
p50/p99 time to acknowledge for both, and their ratios (targets: shop p99 <=
1.5x the bare view's, events/s >= 0.8x). Then a Celery worker processes the
stored events (mirror, receivers, order paid): the time until every order is
paid is printed too.

    .venv/bin/python bench/bench_webhooks.py [--events 200] [--concurrency 50]
"""

import argparse
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, BenchDatabase, report, setup_django, summary_ms

sys.path.insert(0, str(ROOT))
from tests.e2e.stack import free_port, wait_http  # noqa: E402

BARE_SECRET = "whsec_bench_bare"


def sign(body: bytes, secret: str) -> str:
    t = int(time.time())
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def post(url: str, body: bytes, secret: str) -> tuple[float, int]:
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, secret)},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return time.perf_counter() - started, status


def blast(url: str, bodies: list[bytes], secret: str, concurrency: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda b: post(url, b, secret), bodies))
    wall = time.perf_counter() - started
    ok = [t for t, status in results if status == 200]
    return {
        "events": len(bodies),
        "acknowledged_200": len(ok),
        "other_statuses": sorted({s for _, s in results if s != 200}),
        "wall_s": round(wall, 3),
        "events_per_s": round(len(bodies) / wall, 1),
        "ack_latency": summary_ms([t for t, _ in results]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-webhooks-")
    with BenchDatabase() as db:
        setup_django(db.url, VAR_DIR=var_dir)
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from djstripe.models import WebhookEndpoint

        from catalog.models import Category, Product, TaxRate
        from orders.models import Order
        from orders.services import BillingDetails, CartItem, order_place
        from payments import gateway
        from payments.models import WebhookEvent
        from payments.services import checkout_start
        from stripe_emulator import EmulatorServer
        from tests.conftest import emulator_control

        with connection.cursor() as cursor:
            pk = "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY AUTOINCREMENT"
            cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_webhook_row (id {pk}, body text NOT NULL)")

        port = free_port()
        site = f"http://127.0.0.1:{port}"
        with EmulatorServer(host="127.0.0.1", port=0, api_key="sk_test_emulatorOfflineShopKey000000000") as emulator:
            settings.STRIPE_API_BASE = emulator.url
            settings.SITE_URL = site
            gateway.configure()
            call_command("stripe_webhook_register", base_url=site, verbosity=0)
            endpoint = WebhookEndpoint.objects.get()
            # The emulator must not deliver by itself: the benchmark posts the events.
            emulator_control(emulator.url, "webhooks/faults", {"action": "drop", "count": 100 * args.events})

            # Real paid sessions, one per order, so every event settles a real order.
            category = Category.objects.create(name="Bench", slug="bench")
            rate = TaxRate.objects.create(name="Standard", rate=20)
            product = Product.objects.create(category=category, tax_rate=rate, name="Thing", slug="thing",
                                             sku="THING", unit_amount=1500, stock=args.events * 2)
            billing = BillingDetails(name="B", line1="1 rue", postal_code="75001", city="Paris", country="FR")
            for n in range(args.events):
                order = order_place(items=[CartItem(product.pk, 1)], email=f"b{n}@example.com", billing=billing)
                url = checkout_start(order=order)
                emulator_control(emulator.url, f"checkout/sessions/{url.rsplit('/', 1)[-1]}/pay",
                                 {"card": "4242424242424242"})
            events = gateway.client().v1.events.list({"type": "checkout.session.completed", "limit": 100})
            bodies = [json.dumps(e.to_dict()).encode() for e in events.auto_paging_iter()]
            connection.close()

            env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.webhook_settings", DATABASE_URL=db.url,
                       VAR_DIR=var_dir, STRIPE_API_BASE=emulator.url, SITE_URL=site,
                       CELERY_TASK_ALWAYS_EAGER="false", BENCH_BARE_SECRET=BARE_SECRET)
            server = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
                 "--workers", "2", "--threads", "4"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
            worker = None
            try:
                wait_http(site + "/bench/bare-webhook/", timeout=60)
                # Warm both up the same way (each thread's database connection,
                # the broker connection, first imports): signed events of a
                # type nobody handles, not among the measured ones.
                warmup = [json.dumps({"id": f"evt_warmup_{n}", "object": "event", "type": "bench.warmup",
                                      "data": {"object": {"id": f"warmup_{n}", "object": "bench"}}}).encode()
                          for n in range(60)]
                blast(site + "/bench/bare-webhook/", warmup, BARE_SECRET, 10)
                blast(endpoint.url, warmup, endpoint.secret, 10)
                bare = blast(site + "/bench/bare-webhook/", bodies, BARE_SECRET, args.concurrency)
                shop = blast(endpoint.url, bodies, endpoint.secret, args.concurrency)
                # Then the worker does the work the endpoint no longer does.
                started = time.perf_counter()
                worker = subprocess.Popen(
                    [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-Q", "events,celery",
                     "--concurrency=2", "--without-mingle", "--without-gossip", "--without-heartbeat",
                     "--loglevel=WARNING"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                )
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    paid = Order.objects.filter(status=Order.Status.PAID).count()
                    connection.close()
                    if paid >= len(bodies):
                        break
                    time.sleep(0.5)
                processed_s = round(time.perf_counter() - started, 1)
            finally:
                for process in (server, worker):
                    if process is not None:
                        os.killpg(process.pid, signal.SIGTERM)
                        process.wait(timeout=60)
            paid = Order.objects.filter(status=Order.Status.PAID).count()
            stored = WebhookEvent.objects.exclude(type="bench.warmup").count()
            connection.close()

        p99_ratio = round(shop["ack_latency"]["p99_ms"] / bare["ack_latency"]["p99_ms"], 2)
        rate_ratio = round(shop["events_per_s"] / bare["events_per_s"], 2)
        report("webhooks", {
            "database": db.kind,
            "broker": "redis" if os.environ.get("REDIS_URL") else "filesystem",
            "concurrency": args.concurrency,
            "gunicorn": {"workers": 2, "threads": 4},
            "baseline_bare_verify_and_insert": bare,
            "shop_inbox": shop,
            "shop_p99_vs_bare": p99_ratio,
            "shop_events_per_s_vs_bare": rate_ratio,
            "targets_met": {"p99_at_most_1.5x": p99_ratio <= 1.5, "events_per_s_at_least_0.8x": rate_ratio >= 0.8},
            "events_stored": stored,
            "orders_paid_by_the_worker": paid,
            "worker_seconds_until_all_paid": processed_s,
            "slowdown_p50": round(shop["ack_latency"]["p50_ms"] / bare["ack_latency"]["p50_ms"], 2),
        })


if __name__ == "__main__":
    main()

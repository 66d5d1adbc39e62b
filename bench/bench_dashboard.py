"""Benchmark: the staff dashboard with 100 and with 10,000 orders.

    .venv/bin/python bench/bench_dashboard.py [--sizes 100 10000] [--repeat 15]

Two throwaway databases (PostgreSQL when DATABASE_URL names a server, else
SQLite, see bench/common.py), one with 100 orders and one with 10,000, paid
over the last twelve months (one in ten partly refunded, a few disputed),
each with 60 subscriptions in dj-stripe's mirror. A superuser opens the
dashboard (the last 30 days, and one month picked in the period menu), a
chart's CSV and the admin index through Django's test client (the whole
view, template and SVG charts), `repeat` times each, alternating between the
two databases so that whatever else runs on the machine weighs on both.

Prints and writes bench/results/dashboard.json: per page the number of SQL
queries (it must not grow with the orders), p50/p95 time and the time spent
in SQL; the target is the dashboard with 10,000 orders at most 1.5x the time
with 100 (the baseline of the same run). Exit status 1 if a page's queries
grow or a dashboard page's p50 passes 1.5x.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SizedDatabases, measure_request, report_sizes, summary_ms  # noqa: E402

TARGET_RATIO = 1.5


def seed_orders(count: int, *, offset: int) -> None:
    from django.utils import timezone

    from catalog.models import Category, Product, TaxRate
    from orders.models import Order, OrderLine
    from payments.models import Dispute, Refund

    rng = random.Random(offset)
    rate, _ = TaxRate.objects.get_or_create(name="Standard", rate="20.00", country="FR")
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    product, _ = Product.objects.get_or_create(
        sku="BENCH-1", defaults={"category": category, "name": "Bench mug", "slug": "bench-mug", "unit_amount": 1600,
                                 "tax_rate": rate, "stock": 10**6})
    now = timezone.now()
    created_at = Order._meta.get_field("created_at")
    created_at.auto_now_add = False  # the orders are spread over a year
    try:
        orders = []
        for i in range(count):
            placed = now - timedelta(seconds=rng.randrange(365 * 86400))
            quantity = rng.randint(1, 4)
            paid = rng.random() < 0.85
            orders.append(Order(
                email=f"bench{offset + i}@example.com", currency="eur", total=1600 * quantity,
                status=Order.Status.PAID if paid else Order.Status.EXPIRED,
                billing_name="Bench Customer", billing_line1="1 Bench Street", billing_postal_code="75001",
                billing_city="Paris", billing_country="FR", created_at=placed,
                expires_at=placed + timedelta(minutes=30), paid_at=placed + timedelta(minutes=2) if paid else None,
                amount_paid=1600 * quantity if paid else 0, stripe_payment_intent_id=f"pi_bench_{offset + i}",
            ))
        Order.objects.bulk_create(orders, batch_size=1000)
    finally:
        created_at.auto_now_add = True
    OrderLine.objects.bulk_create(
        [OrderLine(order=o, product=product, sku=product.sku, name=product.name, unit_amount=1600,
                   quantity=o.total // 1600, vat_rate="20.00") for o in orders], batch_size=1000)
    paid = [o for o in orders if o.paid_at]
    Refund.objects.bulk_create(
        [Refund(order=o, amount=1600, currency="eur", status=Refund.Status.SUCCEEDED,
                succeeded_at=o.paid_at + timedelta(days=2)) for o in paid[::10]], batch_size=1000)
    Dispute.objects.bulk_create(
        [Dispute(order=o, stripe_dispute_id=f"dp_bench_{o.pk}", amount=o.total, currency="eur",
                 status="needs_response", evidence_due_by=now + timedelta(days=7)) for o in paid[5::200]])


def seed_subscriptions(count: int) -> None:
    from django.utils import timezone
    from djstripe.models import Customer, Subscription

    now = timezone.now()
    for i in range(count):
        started = now - timedelta(days=10 + i * 6)
        ended = started + timedelta(days=90) if i % 4 == 0 else None
        customer = Customer.objects.create(id=f"cus_bench_{i}", livemode=False, stripe_data={"id": f"cus_bench_{i}"})
        Subscription.objects.create(
            id=f"sub_bench_{i}", customer=customer, livemode=False, created=started,
            stripe_data={"id": f"sub_bench_{i}", "status": "canceled" if ended and ended < now else "active",
                         "ended_at": int(ended.timestamp()) if ended and ended < now else None,
                         "items": {"data": [{"quantity": 1, "price": {
                             "id": "price_bench", "currency": "eur", "unit_amount": 1900 if i % 3 else 19000,
                             "recurring": {"interval": "month" if i % 3 else "year", "interval_count": 1}}}]}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 10_000], metavar=("BASELINE", "SIZE"))
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    small, large = sorted(args.sizes)
    with SizedDatabases(small, large) as databases:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        clients = {}
        for size in (small, large):
            databases.use(size)
            started = time.perf_counter()
            seed_subscriptions(60)
            seed_orders(size, offset=0)
            admin = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "bench-pass")
            clients[size] = Client()
            clients[size].force_login(admin)
            print(f"{size:>6} orders seeded in {time.perf_counter() - started:.1f} s", flush=True)

        month = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        pages = {
            "dashboard (last 30 days)": "/admin/dashboard/",
            f"dashboard ({month})": f"/admin/dashboard/?period={month}",
            "CSV of revenue per month": f"/admin/dashboard/csv/revenue-monthly/?period={month}",
            "admin index (what needs staff now)": "/admin/",
        }
        # Interleaved (100, 10,000, 100, ...) so that other work on the
        # machine weighs on both sizes alike; the first round warms up.
        samples = {size: {name: [] for name in pages} for size in (small, large)}
        for round_ in range(args.repeat + 1):
            for name, url in pages.items():
                for size in (small, large):
                    databases.use(size)
                    sample = measure_request(clients[size], url)
                    if round_:
                        samples[size][name].append(sample)
        results = {
            size: {name: {"queries": max(q for _, q, _ in runs), **summary_ms([t for t, _, _ in runs]),
                          "sql_p50_ms": summary_ms([sql for _, _, sql in runs])["p50_ms"]}
                   for name, runs in pages_samples.items()}
            for size, pages_samples in samples.items()
        }

        comparison, ok = {}, True
        for name in pages:
            ratio = results[large][name]["p50_ms"] / results[small][name]["p50_ms"]
            same_queries = results[large][name]["queries"] == results[small][name]["queries"]
            # The target is the dashboard's; the CSV and the index are
            # reported beside it (a few milliseconds, so a ratio moves a lot).
            targeted = name.startswith("dashboard")
            passed = same_queries and (ratio <= TARGET_RATIO or not targeted)
            ok &= passed
            comparison[name] = {"p50_ratio": round(ratio, 2), "queries_constant": same_queries,
                                "target": f"<= {TARGET_RATIO}x" if targeted else "queries constant", "ok": passed}
        print()
        print(f"{'page':<38} {'orders':>7} {'queries':>8} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8}")
        for size in (small, large):
            for name, figures in results[size].items():
                print(f"{name:<38} {size:>7} {figures['queries']:>8} {figures['p50_ms']:>8} {figures['p95_ms']:>8} "
                      f"{figures['sql_p50_ms']:>8}")
        for name, c in comparison.items():
            print(f"{name:<38} {large} vs {small} orders: p50 x{c['p50_ratio']}, queries constant: "
                  f"{c['queries_constant']} -> {'ok' if c['ok'] else 'OVER TARGET'}")
        return report_sizes("dashboard", databases, repeat=args.repeat, results=results, comparison=comparison,
                            ok=ok, subscriptions=60)


if __name__ == "__main__":
    sys.exit(main())

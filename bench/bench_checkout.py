"""Checkout under contention: N concurrent customers buy from a small stock
through the Stripe emulator. Prints orders per second, the p95 latency of
placing an order (reservation + Checkout Session), and checks zero oversell.
Baseline in the same run: placing the orders with no Stripe call at all.

    .venv/bin/python bench/bench_checkout.py [--customers 40] [--stock 15]
"""

import argparse
import threading
import time

from common import BenchDatabase, report, setup_django, summary_ms


def run(customers: int, stock: int, with_stripe: bool, emulator_url: str | None) -> dict:
    from django.db import connection

    from catalog.models import Category, Product, TaxRate
    from orders.exceptions import OutOfStock
    from orders.models import Order
    from orders.services import BillingDetails, CartItem, order_place
    from payments.services import checkout_start

    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    rate, _ = TaxRate.objects.get_or_create(name="Standard", rate=20, defaults={"country": "FR"})
    product = Product.objects.create(
        category=category, tax_rate=rate, name=f"Scarce thing {with_stripe}", slug=f"scarce-{with_stripe}",
        sku=f"SCARCE-{int(with_stripe)}", unit_amount=1999, currency="eur", stock=stock,
    )
    billing = BillingDetails(name="Bench Buyer", line1="1 rue", postal_code="75001", city="Paris", country="FR")
    barrier = threading.Barrier(customers)
    latencies, sold, refused, errors = [], [], [], []
    lock = threading.Lock()

    def customer(n: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            order = order_place(items=[CartItem(product.pk, 1)], email=f"c{n}@example.com", billing=billing)
            if with_stripe:
                checkout_start(order=order)
            with lock:
                latencies.append(time.perf_counter() - started)
                sold.append(order.pk)
        except OutOfStock:
            with lock:
                refused.append(n)
        except Exception as error:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(customers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started

    product.refresh_from_db()
    units_in_orders = sum(
        line.quantity for o in Order.objects.filter(pk__in=sold).prefetch_related("lines") for line in o.lines.all()
    )
    oversold = max(0, units_in_orders - stock) + (1 if product.stock + units_in_orders != stock else 0)
    return {
        "customers": customers,
        "stock": stock,
        "orders_placed": len(sold),
        "refused_out_of_stock": len(refused),
        "errors": errors[:5],
        "error_count": len(errors),
        "stock_left": product.stock,
        "oversold_units": oversold,
        "wall_s": round(wall, 3),
        "orders_per_s": round(len(sold) / wall, 1) if wall else None,
        "place_latency": summary_ms(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--stock", type=int, default=15)
    args = parser.parse_args()

    with BenchDatabase() as db:
        setup_django(db.url)
        from django.conf import settings

        from payments import gateway
        from stripe_emulator import EmulatorServer

        with EmulatorServer(host="127.0.0.1", port=0, api_key="sk_test_emulatorOfflineShopKey000000000") as emulator:
            settings.STRIPE_API_BASE = emulator.url
            gateway.configure()
            baseline = run(args.customers, args.stock, with_stripe=False, emulator_url=None)
            full = run(args.customers, args.stock, with_stripe=True, emulator_url=emulator.url)
        from django.db import connections

        connections.close_all()
        report("checkout", {
            "database": db.kind,
            "baseline_place_only": baseline,
            "place_and_checkout_session": full,
            "zero_oversell": baseline["oversold_units"] == 0 and full["oversold_units"] == 0,
        })
        if full["oversold_units"] or baseline["oversold_units"]:
            raise SystemExit("OVERSOLD")


if __name__ == "__main__":
    main()

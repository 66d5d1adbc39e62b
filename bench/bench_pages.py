"""Benchmark: the pages customers, staff and accountants open most, with 100
and with 10,000 products, orders and documents.

    .venv/bin/python bench/bench_pages.py [--sizes 100 10000] [--repeat 20]

Two throwaway databases (PostgreSQL when DATABASE_URL names a server, else
SQLite, see bench/common.py): one with 100 products (in 8 categories), 100
orders and their invoices and receipts, one with 10,000 of each. In both, one
customer has 200 orders with their documents (the account page) and a cart of
three products. Each page is requested through Django's test client (view,
template, middleware, session) `repeat` times, alternating between the two
databases so that whatever else runs on the machine weighs on both:

- the catalogue list (first page, and two categories: one with 10 products
  on its first page at 100, one with a full page of 12 at both sizes), a
  product page, the cart;
- the customer's account page (200 orders, 400 documents);
- /accounting/ (an accountant's document list) and the admin order list.

Prints and writes bench/results/pages.json: per page the SQL queries (they
must not grow with the data), requests/s and p50/p95, and requests/s with
10,000 as a ratio of 100 (the baseline of the same run; the goal is >= 0.9).
Exit status 1 if a page's queries grow or its ratio is under the goal.
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

GOAL_RATIO = 0.9
CATEGORIES = 8
ACCOUNT_ORDERS = 200


def seed(size: int) -> dict:
    """`size` products, orders and (paid orders') invoices and receipts, plus
    the account customer's 200 orders. Returns what the pages need."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from billing.models import Document
    from catalog.models import Category, Product, TaxRate
    from orders.documents import order_documents_issue
    from orders.models import Order, OrderLine
    from payments.models import Payment

    rng = random.Random(size)
    User = get_user_model()
    rate = TaxRate.objects.create(name="Standard", rate="20.00", country="FR")
    categories = [Category.objects.create(name=f"Category {i}", slug=f"category-{i}", position=i)
                  for i in range(CATEGORIES)]
    Product.objects.bulk_create([
        Product(category=categories[i % CATEGORIES], category_position=categories[i % CATEGORIES].position,
                name=f"Product {i:05d}", slug=f"product-{i:05d}",
                sku=f"SKU-{i:05d}", description="A fine product. " * 10, image="shop/img/placeholder.svg",
                unit_amount=500 + (i % 50) * 100, currency="eur", tax_rate=rate, stock=rng.randint(0, 50),
                active=i % 20 != 19)
        for i in range(size)], batch_size=2000)
    products = list(Product.objects.filter(active=True, stock__gt=5).order_by("pk")[:50])

    customer = User.objects.create_user("customer@example.com", "customer@example.com", "bench-pass")
    accountant = User.objects.create_user("accountant@example.com", "accountant@example.com", "bench-pass")
    accountant.groups.add(Group.objects.get_or_create(name="Accountants")[0])
    from django.contrib.auth.models import Permission
    accountant.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounting"))
    admin = User.objects.create_superuser("admin@example.com", "admin@example.com", "bench-pass")

    now = timezone.now()
    created_at = Order._meta.get_field("created_at")
    created_at.auto_now_add = False
    try:
        orders = []
        for i in range(size + ACCOUNT_ORDERS):
            mine = i >= size
            placed = now - timedelta(seconds=rng.randrange(300 * 86400))
            product = products[i % len(products)]
            quantity = rng.randint(1, 3)
            paid = mine or rng.random() < 0.85
            orders.append(Order(
                customer=customer if mine else None, email="customer@example.com" if mine else f"b{i}@example.com",
                currency="eur", total=product.unit_amount * quantity,
                status=Order.Status.PAID if paid else Order.Status.EXPIRED, billing_name="Bench Customer",
                billing_line1="1 Bench Street", billing_postal_code="75001", billing_city="Paris",
                billing_country="FR", created_at=placed, expires_at=placed + timedelta(minutes=30),
                paid_at=placed + timedelta(minutes=2) if paid else None,
                amount_paid=product.unit_amount * quantity if paid else 0,
                stripe_payment_intent_id=f"pi_bench_{i}"))
        Order.objects.bulk_create(orders, batch_size=2000)
    finally:
        created_at.auto_now_add = True
    OrderLine.objects.bulk_create([
        OrderLine(order=o, product=products[i % len(products)], sku=products[i % len(products)].sku,
                  name=products[i % len(products)].name, unit_amount=products[i % len(products)].unit_amount,
                  quantity=o.total // products[i % len(products)].unit_amount, vat_rate="20.00")
        for i, o in enumerate(orders)], batch_size=2000)
    paid = [o for o in orders if o.paid_at]
    Payment.objects.bulk_create([
        Payment(order=o, status=Payment.Status.SUCCEEDED, amount=o.total, currency="eur",
                stripe_payment_intent_id=o.stripe_payment_intent_id, card_brand="visa", card_last4="4242")
        for o in paid], batch_size=2000)

    # One pair issued for real (numbering, snapshot), then copies of it.
    invoice, receipt = order_documents_issue(order_id=paid[0].pk)
    documents = []
    for n, o in enumerate(paid[1:], start=2):
        for template, series in ((invoice, "INV"), (receipt, "RCT")):
            snapshot = {**template.snapshot, "number": f"{series}-B-{n:06d}",
                        "order": {**(template.snapshot.get("order") or {}), "number": o.number}}
            documents.append(Document(
                kind=template.kind, number=f"{series}-B-{n:06d}", series=f"{series}B", year=template.year,
                sequence=n, issued_at=o.paid_at, order=o, customer=o.customer, customer_email=o.email,
                currency="eur", total_net=template.total_net, total_tax=template.total_tax,
                total_gross=template.total_gross, snapshot=snapshot, order_path=o.get_absolute_url(),
                payment_reference=template.payment_reference))
    Document.objects.bulk_create(documents, batch_size=1000)
    return {"customer": customer, "accountant": accountant, "admin": admin, "cart": products[:3],
            "product": products[3], "category": categories[3],
            "full_category": categories[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 10_000], metavar=("BASELINE", "SIZE"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    small, large = sorted(args.sizes)
    with SizedDatabases(small, large) as databases:
        from django.test import Client

        clients, urls = {}, {}
        for size in (small, large):
            databases.use(size)
            started = time.perf_counter()
            seeded = seed(size)
            databases.settle()
            print(f"{size:>6} products, orders and documents seeded in {time.perf_counter() - started:.1f} s",
                  flush=True)
            customer, accountant, admin = Client(), Client(), Client()
            customer.force_login(seeded["customer"])
            accountant.force_login(seeded["accountant"])
            admin.force_login(seeded["admin"])
            for product in seeded["cart"]:
                assert customer.post("/cart/add/", {"product_id": product.pk, "quantity": 1}).status_code == 302
            clients[size] = {"customer": customer, "accountant": accountant, "admin": admin}
            urls[size] = {
                "catalogue list": ("customer", "/"),
                "catalogue list (a category)": ("customer", f"/?category={seeded['category'].slug}"),
                # With 100 products the category above has 10 on its first page, not 12:
                # this one has a full first page (and a next page) at both sizes.
                "catalogue list (a full category)": ("customer", f"/?category={seeded['full_category'].slug}"),
                "product page": ("customer", seeded["product"].get_absolute_url()),
                "cart": ("customer", "/cart/"),
                f"account page ({ACCOUNT_ORDERS} orders)": ("customer", "/account/"),
                "/accounting/": ("accountant", "/accounting/"),
                "admin order list": ("admin", "/admin/orders/order/"),
            }
        pages = list(urls[small])
        samples = {size: {page: [] for page in pages} for size in (small, large)}
        for round_ in range(args.repeat + 1):  # the first round warms up
            for page in pages:
                for size in (small, large):
                    databases.use(size)
                    who, url = urls[size][page]
                    seconds, queries, _ = measure_request(clients[size][who], url)
                    if round_:
                        samples[size][page].append((seconds, queries))

        results = {}
        for size in (small, large):
            results[size] = {}
            for page, runs in samples[size].items():
                seconds = [t for t, _ in runs]
                results[size][page] = {"queries": max(q for _, q in runs),
                                       "requests_per_s": round(len(seconds) / sum(seconds), 1),
                                       **summary_ms(seconds)}
        comparison, ok = {}, True
        for page in pages:
            ratio = results[large][page]["requests_per_s"] / results[small][page]["requests_per_s"]
            constant = results[large][page]["queries"] == results[small][page]["queries"]
            passed = constant and ratio >= GOAL_RATIO
            ok &= passed
            # The p50 ratio beside it: on a busy machine a few slow requests move the mean.
            p50_ratio = results[small][page]["p50_ms"] / results[large][page]["p50_ms"]
            comparison[page] = {"requests_per_s_ratio": round(ratio, 2), "p50_speed_ratio": round(p50_ratio, 2),
                                "queries_constant": constant, "ok": passed}

        print()
        print(f"{'page':<30} {'queries':>8} {'req/s':>8} {'queries':>8} {'req/s':>8} {'ratio':>6} {'p50':>6}")
        print(f"{'':<30} {small:>17} {large:>17}")
        for page in pages:
            a, b, c = results[small][page], results[large][page], comparison[page]
            print(f"{page:<30} {a['queries']:>8} {a['requests_per_s']:>8} {b['queries']:>8} "
                  f"{b['requests_per_s']:>8} {c['requests_per_s_ratio']:>5}x {c['p50_speed_ratio']:>5}x "
                  f"{'ok' if c['ok'] else 'UNDER GOAL' if c['queries_constant'] else 'QUERIES GROW'}")
        return report_sizes("pages", databases, repeat=args.repeat, results=results, comparison=comparison, ok=ok,
                            goal=f"queries constant, requests/s at {large} >= {GOAL_RATIO}x of {small}")


if __name__ == "__main__":
    sys.exit(main())

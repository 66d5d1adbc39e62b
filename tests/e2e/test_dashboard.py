"""Staff on the whole stack open the dashboard and find the figures of the
orders and refunds this test placed in the database: the expected revenue is
worked out here, from what was created, not by the shop's code. Then they
click a month in a chart to see its days, download the numbers, and the page
is usable on a phone."""

import csv
import json
import re
from collections import defaultdict
from datetime import date

from .test_staff_refunds import admin_login

ADMIN = ("admin", "admin-demo-pass")

# Orders paid (some refunded) on known days of last month and of this month,
# written through the ORM in the stack's database. Prints what it made.
SEED = r"""
import json
from datetime import datetime, time, timedelta
from django.utils import timezone
from catalog.models import Product
from orders.models import Order, OrderLine
from payments.models import Refund

tz = timezone.get_current_timezone()
today = timezone.localdate()
last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
product = Product.objects.get(sku="GEAR-MUG-350")
made = {"orders": [], "refunds": [], "last_month": last_month.isoformat()}

def at(day, hour):
    return timezone.make_aware(datetime.combine(day, time(hour)), tz)

def paid(day, quantity, hour=11):
    order = Order.objects.create(
        email="dash@example.com", currency="eur", total=product.unit_amount * quantity, billing_name="Dash Board",
        billing_line1="1 Chart Street", billing_postal_code="75001", billing_city="Paris", billing_country="FR",
        expires_at=at(day, hour) + timedelta(minutes=30))
    OrderLine.objects.create(order=order, product=product, sku=product.sku, name=product.name,
                             unit_amount=product.unit_amount, quantity=quantity, vat_rate="20.00")
    Order.objects.filter(pk=order.pk).update(status="paid", created_at=at(day, hour), paid_at=at(day, hour),
                                             amount_paid=order.total)
    made["orders"].append({"day": day.isoformat(), "amount": order.total})
    return order

def refunded(order, day, amount, status="succeeded"):
    refund = Refund.objects.create(order=order, amount=amount, currency="eur", status=status)
    Refund.objects.filter(pk=refund.pk).update(succeeded_at=at(day, 16) if status == "succeeded" else None)
    made["refunds"].append({"day": day.isoformat(), "amount": amount, "status": status})

first = paid(last_month.replace(day=4), 2)
paid(last_month.replace(day=4), 1, hour=15)
third = paid(last_month.replace(day=9), 3)
paid(last_month.replace(day=20), 5)
refunded(first, last_month.replace(day=6), 1600)
refunded(third, last_month.replace(day=21), 800)
refunded(third, last_month.replace(day=22), 900, status="pending")  # not money back yet
paid(today, 1, hour=0)
print("SEED:" + json.dumps(made))
"""


def money(cents: int) -> str:
    """The shop's way of writing euros, written out here independently."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}€{cents // 100:,}.{cents % 100:02d}"


def test_staff_read_the_dashboard_and_open_a_month(stack, browser, page):
    out = stack.manage("shell", "-c", SEED)
    made = json.loads(next(line for line in out.splitlines() if line.startswith("SEED:"))[5:])
    last_month = date.fromisoformat(made["last_month"])
    month_key = last_month.strftime("%Y-%m")
    # Expected, from what was created: revenue of each day of last month, net of the refunds that succeeded.
    per_day = defaultdict(int)
    for order in made["orders"]:
        per_day[order["day"]] += order["amount"]
    for refund in made["refunds"]:
        if refund["status"] == "succeeded":
            per_day[refund["day"]] -= refund["amount"]
    month_total = sum(v for day, v in per_day.items() if day.startswith(month_key))
    paid_in_month = sum(1 for order in made["orders"] if order["day"].startswith(month_key))

    admin_login(page, stack, ADMIN)
    page.snap("admin-index")
    assert page.locator("[data-role=attention]").is_visible()
    page.locator("[data-role=dashboard-link]").click()
    page.wait_for_url(re.compile(r"/admin/dashboard/$"))
    page.locator("[data-role=dashboard]").wait_for()
    page.snap("dashboard-last-30-days")
    assert "Last 30 days" in page.locator("[data-role=period-title]").inner_text()

    # The month's column in "Revenue per month": its tooltip holds the month's net revenue.
    column = page.locator(f'section[data-chart="revenue-monthly"] svg a[data-period="{month_key}"]')
    assert money(month_total) in column.get_attribute("aria-label")
    column.click()
    page.wait_for_url(re.compile(rf"\?period={month_key}$"))
    page.snap("dashboard-month")
    assert last_month.strftime("%B %Y") in page.locator("[data-role=period-title]").inner_text()
    assert page.locator('[data-tile="revenue"] .tile-value').inner_text() == money(month_total)
    assert page.locator('[data-tile="orders-paid"] .tile-value').inner_text() == str(paid_in_month)

    # The numbers under the daily chart, day by day.
    daily = page.locator('section[data-chart="revenue-daily"]')
    daily.locator("summary").click()
    table = daily.locator("table[data-role=numbers]")
    for day, expected in per_day.items():
        if not day.startswith(month_key):
            continue
        label = f"{date.fromisoformat(day).day} {date.fromisoformat(day).strftime('%b %Y')}"
        row = table.locator("tr", has=page.locator(f'td:text-is("{label}")'))
        assert row.locator("td").last.inner_text() == money(expected), day
    page.snap("dashboard-month-numbers")

    # The same numbers as CSV.
    with page.expect_download() as download:
        daily.locator("[data-role=csv]").click()
    rows = list(csv.reader(open(download.value.path(), newline="")))
    assert rows[0][-1] == "Net revenue"
    by_day = {row[0]: row[-1] for row in rows[1:]}
    for day, expected in per_day.items():
        if day.startswith(month_key):
            assert by_day[day] == f"{'-' if expected < 0 else ''}{abs(expected) // 100}.{abs(expected) % 100:02d}"

    # Usable on a phone: the page fits, the charts scroll sideways inside their card.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("[data-role=dashboard]").wait_for()
    page.snap("dashboard-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert page.locator('[data-tile="revenue"] .tile-value').inner_text() == money(month_total)

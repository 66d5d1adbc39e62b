"""The dashboard page, its CSV downloads and the admin index's list of what
needs staff now, as staff see them."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from dashboard.periods import month_value
from orders.models import Order
from payments.models import Refund
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_see_the_figures_of_the_period(client, support, seeded):
    client.force_login(support)
    response = client.get("/admin/dashboard/", {"period": month_value(seeded.month)})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-role="period-title">{seeded.month:%B %Y}' in page
    # Net revenue of the month: 4200 + 1600 + 1900 (subscription) + 3900 - 1000 refunded.
    assert re.search(r'data-tile="revenue"><span class="tile-value">€106.00<', page)
    assert re.search(r'data-tile="orders-paid"><span class="tile-value">3<', page)
    for key in ("revenue-daily", "revenue-monthly", "orders-daily", "mrr-monthly", "subscriptions-active",
                "subscriptions-changes", "refunds-disputes-monthly"):
        assert '<svg class="chart' in page and f'data-chart="{key}"' in page, key
    # A month of the monthly charts opens its days.
    assert f'href="?period={month_value(seeded.month)}"' in page
    # Axis labels in the shop's money format; exact values in tooltips.
    assert "Net revenue: €77.00" in page


def test_the_numbers_under_a_chart_download_as_csv(client, support, seeded):
    client.force_login(support)
    response = client.get("/admin/dashboard/csv/revenue-daily/", {"period": month_value(seeded.month)})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'revenue-daily-{month_value(seeded.month)}.csv' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Day", "Currency", "Orders paid", "Orders", "Subscriptions", "Refunds", "Net revenue"]
    third = seeded.month.replace(day=3).isoformat()
    assert [r for r in rows if r[0] == third] == [[third, "EUR", "2", "58.00", "19.00", "0.00", "77.00"]]
    monthly = list(csv.reader(io.StringIO(client.get(
        "/admin/dashboard/csv/revenue-monthly/", {"period": month_value(seeded.month)}).content.decode())))
    assert monthly[-1] == [month_value(seeded.month), "EUR", "3", "97.00", "19.00", "10.00", "106.00"]
    assert client.get("/admin/dashboard/csv/no-such-chart/").status_code == 404


def test_what_needs_staff_now_links_to_the_filtered_admin_lists(client, support, seeded):
    overdue = Order.objects.filter(status="awaiting_payment").get()
    Order.objects.filter(pk=overdue.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    Refund.objects.filter(pk=seeded.refunds[1].pk).update(failed_at=timezone.now() - timedelta(days=1))
    client.force_login(support)
    index = client.get("/admin/").content.decode()
    assert 'data-role="dashboard-link"' in index
    assert 'data-role="dispute-alerts"' in index and "dp_dash_1" in index
    items = dict(re.findall(r'data-item="([\w-]+)">\s*<a href="([^"]+)"><span class="count" data-role="count">', index))
    counts = dict(re.findall(r'data-item="([\w-]+)">\s*<a href="[^"]+"><span class="count" data-role="count">(\d+)<',
                             index))
    assert counts == {"events-stuck": "0", "disputes": "1", "refunds-failed": "1", "refunds-pending": "0",
                      "orders-overdue": "1", "subscriptions-past-due": "0", "documents-without-pdf": "0",
                      "subscription-invoices-refused": "0"}
    for key, url in items.items():
        listing = client.get(url.replace("&amp;", "&"))
        assert listing.status_code == 200, (key, url)
        assert "?e=1" not in listing.get("Location", ""), key
        # The list's paginator counts the rows the filter kept.
        shown = re.search(r'<p class="paginator">\s*(\d+) ', listing.content.decode())
        assert int(shown.group(1)) == int(counts[key]), (key, url)


def test_only_staff_open_the_dashboard_and_each_sees_what_they_may(client, seeded, db):
    customer = UserFactory()
    client.force_login(customer)
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get("/admin/dashboard/csv/revenue-daily/").status_code == 302

    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    page = client.get("/admin/dashboard/").content.decode()
    assert "<svg class=\"chart" not in page and "may not see any of the shop" in page
    assert client.get("/admin/dashboard/csv/revenue-daily/").status_code == 404
    staff.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    page = client.get("/admin/dashboard/").content.decode()
    assert 'data-chart="revenue-daily"' in page and 'data-chart="mrr-monthly"' not in page
    assert 'data-item="orders-overdue"' in page and 'data-item="disputes"' not in page


def test_emails_not_sent_are_listed_for_staff_who_may_see_them(client, db):
    from core.models import OutgoingEmail

    old = OutgoingEmail.objects.create(from_email="shop@example.com", to=["ada@example.com"], subject="Your invoice",
                                       last_error="ConnectionRefusedError: [Errno 111] Connection refused", attempts=3)
    OutgoingEmail.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    OutgoingEmail.objects.create(from_email="shop@example.com", to=["bob@example.com"], subject="Just written")
    sent = OutgoingEmail.objects.create(from_email="shop@example.com", to=["eve@example.com"], subject="Sent",
                                        sent_at=timezone.now())
    OutgoingEmail.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(hours=1))

    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert 'data-item="emails-unsent"' not in client.get("/admin/").content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="view_outgoingemail"))
    index = client.get("/admin/").content.decode()
    assert "E-mails not sent" in index
    url, count = re.search(r'data-item="emails-unsent">\s*<a href="([^"]+)"><span class="count" data-role="count">(\d+)<',
                           index).groups()
    assert count == "1"
    listing = client.get(url.replace("&amp;", "&")).content.decode()
    assert "Your invoice" in listing and "Connection refused" in listing
    assert "Just written" not in listing and "eve@example.com" not in listing


def test_receipts_waiting_for_their_first_download_are_not_documents_without_pdf(client, support, db):
    """A receipt's PDF is made on its first download: no PDF yet is no fault.
    An invoice without its PDF is one, and the link lists just it."""
    from billing.services import receipt_issue
    from tests.billing.factories import subscription_invoice

    an_hour_ago = timezone.now() - timedelta(hours=1)
    invoice = subscription_invoice(stripe_invoice_id="in_dash_pdf", issued_at=an_hour_ago)
    receipt_issue(invoice=invoice, issued_at=an_hour_ago)
    client.force_login(support)
    index = client.get("/admin/").content.decode()
    item = re.search(r'data-item="documents-without-pdf">\s*<a href="([^"]+)"><span class="count" '
                     r'data-role="count">(\d+)<', index)
    assert item.group(2) == "1"
    listing = client.get(item.group(1).replace("&amp;", "&")).content.decode()
    assert invoice.number in listing and "RCT-" not in listing

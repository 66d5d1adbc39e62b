"""The figures: what the selectors sum, day by day and month by month, in
the shop's time zone, independent of how many orders there are."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.figures import Money, dashboard_charts, refund_dispute_charts, revenue_charts, subscription_charts
from dashboard.periods import add_months, dashboard_period, local_midnight, month_value

from .conftest import at, paid_order, subscription

pytestmark = pytest.mark.django_db


def test_revenue_per_day_is_orders_and_subscriptions_net_of_succeeded_refunds(seeded):
    period = dashboard_period(month_value(seeded.month))
    (chart,) = revenue_charts(period, "day")
    by_day = dict(zip(chart.x, chart.series[0].values, strict=True))
    assert by_day[seeded.month.replace(day=3)] == 4200 + 1600 + 1900
    assert by_day[seeded.month.replace(day=10)] == 3900
    assert by_day[seeded.month.replace(day=12)] == -1000  # the failed refund gave nothing back
    assert sum(chart.series[0].values) == 4200 + 1600 + 1900 + 3900 - 1000
    row = next(r for r in chart.rows if r[0] == seeded.month.replace(day=3))
    assert row[1:] == ["EUR", 2, Money(5800, "eur"), Money(1900, "eur"), Money(0, "eur"), Money(7700, "eur")]


def test_revenue_per_month_has_twelve_months_with_links_to_their_days(seeded):
    period = dashboard_period(month_value(seeded.month))
    (chart,) = revenue_charts(period, "month")
    assert len(chart.x) == 12 and chart.x[-1] == seeded.month
    assert chart.series[0].values[-1] == 4200 + 1600 + 1900 + 3900 - 1000
    assert chart.series[0].values[-2] == 9900
    assert chart.links[-1] == month_value(seeded.month)


def test_days_are_the_shops_local_days(settings, db):
    settings.TIME_ZONE = "Europe/Paris"
    from django.utils import timezone

    timezone.activate("Europe/Paris")
    try:
        month = add_months(timezone.localdate().replace(day=1), -1)
        # 23:30 in Paris on the 4th is the 4th (21:30 or 22:30 UTC).
        paid_order(month.replace(day=4), 1000, hour=23)
        (chart,) = revenue_charts(dashboard_period(month_value(month)), "day")
        assert dict(zip(chart.x, chart.series[0].values, strict=True))[month.replace(day=4)] == 1000
    finally:
        timezone.deactivate()


def test_one_chart_per_currency(seeded):
    paid_order(seeded.month.replace(day=5), 2500, currency="usd")
    charts = revenue_charts(dashboard_period(month_value(seeded.month)), "day")
    assert [c.currency for c in charts] == ["eur", "usd"]
    assert sum(charts[1].series[0].values) == 2500


def test_mrr_and_active_subscriptions_at_each_month_end(db):
    period = dashboard_period("30d")
    months = period.months
    third_ago = local_midnight(months[-3]) + timedelta(days=2)
    subscription("sub_a", started=third_ago, amount=1900)  # monthly, still running
    subscription("sub_b", started=third_ago, amount=19000, interval="year")  # 19000 / 12 = 1583.33 a month
    subscription("sub_c", started=third_ago, amount=2900, status="canceled",
                 ended=local_midnight(months[-2]) + timedelta(days=3))  # ended last month
    subscription("sub_t", started=local_midnight(months[-1]), amount=1900, status="trialing",
                 trial_end=local_midnight(months[-1]) + timedelta(days=400))  # this month, in its trial
    subscription("sub_x", started=third_ago, status="incomplete_expired")  # never started
    charts = {c.key: c for c in subscription_charts(period)}
    mrr = charts["mrr-monthly"].series[0].values
    active = charts["subscriptions-active"].series[0].values
    assert mrr[-4] == 0 and active[-4] == 0
    assert mrr[-3] == 1900 + 1583 + 2900 and active[-3] == 3
    assert mrr[-2] == 1900 + 1583 and active[-2] == 2
    assert mrr[-1] == 1900 + 1583 and active[-1] == 3  # the trial counts as active, not in MRR
    changes = charts["subscriptions-changes"]
    assert changes.series[0].values[-3:] == [3, 0, 1]  # new
    assert changes.series[1].values[-3:] == [0, 1, 0]  # churned


def test_refunds_and_disputes_per_month(seeded):
    (chart,) = refund_dispute_charts(dashboard_period(month_value(seeded.month)))
    last = chart.rows[-1]
    assert last[0] == seeded.month
    assert last[2:4] == [1, Money(1000, "eur")]


def test_the_number_of_queries_does_not_grow_with_the_orders(seeded, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    period = dashboard_period(month_value(seeded.month))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            dashboard_charts(period=period, user=admin)
        return len(queries)

    before = count()
    for i in range(30):
        paid_order(seeded.month.replace(day=1 + i % 28), 100 + i)
    assert count() == before


def test_a_period_in_the_future_or_unreadable_falls_back_to_the_last_30_days():
    assert dashboard_period("2999-01").value == "30d"
    assert dashboard_period("next week").value == "30d"
    assert dashboard_period("2026-13").value == "30d"
    assert len(dashboard_period("90d").days) == 90
    assert at  # noqa: B018 - imported for the other tests' helpers

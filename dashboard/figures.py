"""The dashboard's figures: each chart built from the selectors of the app
that owns the data (they aggregate in the database: a handful of queries
whatever the number of orders), laid out day by day or month by month in the
shop's time zone, with the table of numbers under it (also its CSV).

Money is integer minor units per currency, VAT included, as everywhere.
Revenue is what customers paid (orders, and our invoices of paid Stripe
subscription invoices) net of the refunds that succeeded, on the day it
happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils import timezone

from orders.selectors import order_counts_by_period, order_sales_by_period
from payments.selectors import dispute_totals_by_period, refund_totals_by_period
from subscriptions.selectors import (
    subscription_changes,
    subscription_history,
    subscription_invoice_totals_by_period,
)

from .periods import DashboardPeriod, add_months, local_midnight, month_title, month_value


@dataclass(frozen=True)
class Money:
    """A table cell holding an amount (minor units) in a currency."""

    amount: int
    currency: str


@dataclass
class Series:
    name: str
    values: list[int]
    tone: str  # a CSS class: the colour of its bars or line


@dataclass
class Chart:
    key: str  # names its CSV
    title: str
    description: str
    unit: str  # "money" or "count"
    kind: str  # "bar" or "line"
    x_unit: str  # "day" or "month"
    x: list[date]
    series: list[Series]
    columns: list[str]
    rows: list[list]
    currency: str = ""
    # The dashboard period a click on each column opens (monthly charts).
    links: list[str] = field(default_factory=list)

    @property
    def x_labels(self) -> list[str]:
        if self.x_unit == "month":
            return [month_title(day) for day in self.x]
        return [day.isoformat() for day in self.x]


def _tz():
    return timezone.get_current_timezone()


def _index(rows: list[dict], key: str = "amount") -> dict[tuple[date, str], int]:
    return {(row["period"], row["currency"].lower()): int(row[key] or 0) for row in rows}


def _currencies(*row_lists) -> list[str]:
    found = {row["currency"].lower() for rows in row_lists for row in rows}
    return sorted(found) or [settings.SHOP_CURRENCY.lower()]


def _window(period: DashboardPeriod, unit: str):
    if unit == "day":
        return period.start, period.end, period.days
    return period.months_start, period.months_end, period.months


# -- revenue ----------------------------------------------------------------------------

def revenue_charts(period: DashboardPeriod, unit: str) -> list[Chart]:
    start, end, x = _window(period, unit)
    window = {"start": start, "end": end, "unit": unit, "tzinfo": _tz()}
    sales = order_sales_by_period(**window)
    invoices = subscription_invoice_totals_by_period(**window)
    refunds = refund_totals_by_period(**window)
    sold, invoiced, refunded = _index(sales), _index(invoices), _index(refunds)
    paid_orders = _index(sales, "count")
    charts = []
    for currency in _currencies(sales, invoices, refunds):
        rows, net = [], []
        for day in x:
            key = (day, currency)
            value = sold.get(key, 0) + invoiced.get(key, 0) - refunded.get(key, 0)
            net.append(value)
            rows.append([day, currency.upper(), paid_orders.get(key, 0), Money(sold.get(key, 0), currency),
                         Money(invoiced.get(key, 0), currency), Money(refunded.get(key, 0), currency),
                         Money(value, currency)])
        per = "day" if unit == "day" else "month"
        charts.append(Chart(
            key=f"revenue-{'daily' if unit == 'day' else 'monthly'}",
            title=f"Revenue per {per} ({currency.upper()})",
            description=f"Orders paid and subscription invoices, net of refunds, VAT included, per {per}"
                        + (f": {period.title}." if unit == "day" else f", the 12 months to {month_title(x[-1])}."),
            unit="money", kind="bar" if len(x) <= 100 else "line", x_unit=unit, x=x, currency=currency,
            series=[Series("Net revenue", net, "net")],
            columns=[per.capitalize(), "Currency", "Orders paid", "Orders", "Subscriptions", "Refunds", "Net revenue"],
            rows=rows,
            links=[month_value(day) for day in x] if unit == "month" else [],
        ))
    return charts


# -- orders -------------------------------------------------------------------------------

def orders_chart(period: DashboardPeriod) -> list[Chart]:
    counts = {row["period"]: row for row in order_counts_by_period(start=period.start, end=period.end, unit="day",
                                                                   tzinfo=_tz())}
    placed = [int(counts.get(day, {}).get("placed", 0)) for day in period.days]
    paid = [int(counts.get(day, {}).get("paid", 0)) for day in period.days]
    return [Chart(
        key="orders-daily", title="Orders per day",
        description=f"Orders placed each day, and how many of them were paid: {period.title}.",
        unit="count", kind="bar" if len(period.days) <= 100 else "line", x_unit="day", x=period.days,
        series=[Series("Placed", placed, "placed"), Series("Paid", paid, "paid")],
        columns=["Day", "Placed", "Paid"],
        rows=[[day, p, q] for day, p, q in zip(period.days, placed, paid, strict=True)],
    )]


# -- subscriptions -------------------------------------------------------------------------

def subscription_charts(period: DashboardPeriod) -> list[Chart]:
    now = timezone.now()
    months = period.months
    # At the end of each month (now, for the month under way).
    moments = [min(local_midnight(add_months(month, 1)), now) for month in months]
    history = subscription_history(moments=moments)
    currencies = sorted({point["currency"] for point in history if point["currency"]}) or [
        settings.SHOP_CURRENCY.lower()]
    by_key = {(point["at"], point["currency"]): point for point in history}
    charts = []
    for currency in currencies:
        mrr = [by_key.get((moment, currency), {}).get("mrr", 0) for moment in moments]
        charts.append(Chart(
            key="mrr-monthly", title=f"MRR ({currency.upper()})",
            description="Monthly recurring revenue at the end of each month: every paying subscription's price "
                        "brought to a month (a yearly plan counts a twelfth), free trials left out.",
            unit="money", kind="line", x_unit="month", x=months, currency=currency,
            series=[Series("MRR", mrr, "mrr")],
            columns=["Month", "Currency", "MRR"],
            rows=[[month, currency.upper(), Money(value, currency)] for month, value in zip(months, mrr, strict=True)],
            links=[month_value(month) for month in months],
        ))
    active = [sum(point["active"] for (at, _), point in by_key.items() if at == moment) for moment in moments]
    charts.append(Chart(
        key="subscriptions-active", title="Active subscriptions",
        description="Subscriptions running at the end of each month (free trials and overdue payments included).",
        unit="count", kind="line", x_unit="month", x=months, series=[Series("Active", active, "active")],
        columns=["Month", "Active subscriptions"], rows=[list(pair) for pair in zip(months, active, strict=True)],
        links=[month_value(month) for month in months],
    ))
    changes = subscription_changes(bounds=[local_midnight(month) for month in months] + [period.months_end])
    new = [change["new"] for change in changes]
    churned = [change["churned"] for change in changes]
    charts.append(Chart(
        key="subscriptions-changes", title="New and churned subscriptions per month",
        description="Subscriptions started, and subscriptions that ended (cancelled, or after failed renewals).",
        unit="count", kind="bar", x_unit="month", x=months,
        series=[Series("New", new, "new"), Series("Churned", churned, "churned")],
        columns=["Month", "New", "Churned"],
        rows=[[month, n, c] for month, n, c in zip(months, new, churned, strict=True)],
        links=[month_value(month) for month in months],
    ))
    return charts


# -- refunds and disputes --------------------------------------------------------------------

def refund_dispute_charts(period: DashboardPeriod) -> list[Chart]:
    window = {"start": period.months_start, "end": period.months_end, "unit": "month", "tzinfo": _tz()}
    refunds = refund_totals_by_period(**window)
    disputes = dispute_totals_by_period(**window)
    refunded, refund_counts = _index(refunds), _index(refunds, "count")
    opened, opened_counts = _index(disputes["opened"]), _index(disputes["opened"], "count")
    lost, lost_counts = _index(disputes["lost"]), _index(disputes["lost"], "count")
    months = period.months
    charts = []
    for currency in _currencies(refunds, disputes["opened"], disputes["lost"]):
        keys = [(month, currency) for month in months]
        charts.append(Chart(
            key="refunds-disputes-monthly", title=f"Refunds and disputes per month ({currency.upper()})",
            description="Money refunded (refunds Stripe confirmed) and money lost to disputes the bank decided "
                        "against the shop, per month.",
            unit="money", kind="bar", x_unit="month", x=months, currency=currency,
            series=[Series("Refunded", [refunded.get(k, 0) for k in keys], "refunds"),
                    Series("Lost to disputes", [lost.get(k, 0) for k in keys], "lost")],
            columns=["Month", "Currency", "Refunds", "Refunded", "Disputes opened", "Disputed", "Disputes lost",
                     "Lost"],
            rows=[[k[0], currency.upper(), refund_counts.get(k, 0), Money(refunded.get(k, 0), currency),
                   opened_counts.get(k, 0), Money(opened.get(k, 0), currency), lost_counts.get(k, 0),
                   Money(lost.get(k, 0), currency)] for k in keys],
            links=[month_value(month) for month in months],
        ))
    return charts


@dataclass(frozen=True)
class ChartGroup:
    key: str
    title: str
    permission: str  # who may see it: the admin permission on the data it sums
    build: Callable[[DashboardPeriod], list[Chart]]


GROUPS = [
    ChartGroup("revenue-daily", "Revenue per day", "orders.view_order", lambda p: revenue_charts(p, "day")),
    ChartGroup("revenue-monthly", "Revenue per month", "orders.view_order", lambda p: revenue_charts(p, "month")),
    ChartGroup("orders-daily", "Orders per day", "orders.view_order", orders_chart),
    ChartGroup("subscriptions", "Subscriptions", "subscriptions.view_shopsubscription", subscription_charts),
    ChartGroup("refunds-disputes-monthly", "Refunds and disputes", "payments.view_refund", refund_dispute_charts),
]


def dashboard_charts(*, period: DashboardPeriod, user) -> list[Chart]:
    """Every chart this staff member may see, in the page's order."""
    charts = []
    for group in GROUPS:
        if user.has_perm(group.permission):
            charts.extend(group.build(period))
    return charts


def chart_rows_for_csv(*, key: str, period: DashboardPeriod, user) -> tuple[list[str], list[list]] | None:
    """(columns, rows) of the charts named `key` (every currency), or None if
    there is no such chart or this user may not see it."""
    for group in GROUPS:
        if not user.has_perm(group.permission):
            continue
        charts = [chart for chart in group.build(period) if chart.key == key]
        if charts:
            return charts[0].columns, [row for chart in charts for row in chart.rows]
    return None

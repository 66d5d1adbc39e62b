"""The staff dashboard (/admin/dashboard/, linked first from the admin
index): what needs staff now, and how the business goes as charts, with the
numbers under each chart as a table and as CSV. Staff only, through the
admin's login (urls.py); each chart and item is shown to those with the
admin permission on its data."""

import csv
from datetime import date

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.money import to_major_units
from orders.models import Order

from .attention import attention_items
from .charts import render_chart
from .figures import Money, chart_rows_for_csv, dashboard_charts
from .periods import dashboard_period, period_choices


@require_GET
@never_cache
def dashboard(request):
    period = dashboard_period(request.GET.get("period"))
    charts = dashboard_charts(period=period, user=request.user)
    first_order = Order.objects.order_by("created_at").values_list("created_at", flat=True).first()
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "period": period,
        "period_choices": period_choices(first=timezone.localdate(first_order) if first_order else None),
        "attention": attention_items(user=request.user),
        "charts": [{"chart": chart, "svg": render_chart(chart)} for chart in charts],
        "headline": _headline(charts),
    }
    return TemplateResponse(request, "admin/dashboard/index.html", context)


def _headline(charts) -> list[dict]:
    """The period's totals above the charts."""
    tiles = []
    for chart in charts:
        if chart.key == "revenue-daily":
            tiles.append({"label": f"Net revenue, {chart.currency.upper()}",
                          "value": Money(sum(chart.series[0].values), chart.currency), "key": "revenue"})
        elif chart.key == "orders-daily":
            tiles.append({"label": "Orders paid", "value": sum(chart.series[1].values), "key": "orders-paid"})
        elif chart.key == "mrr-monthly":
            tiles.append({"label": f"MRR, {chart.currency.upper()}",
                          "value": Money(chart.series[0].values[-1], chart.currency), "key": "mrr"})
        elif chart.key == "subscriptions-active":
            tiles.append({"label": "Active subscriptions", "value": chart.series[0].values[-1], "key": "active"})
    return tiles


def _cell(value, *, monthly: bool) -> str:
    """Spreadsheet-ready: amounts in major units with a decimal point (12.50),
    days as 2026-03-14, months as 2026-03."""
    if isinstance(value, Money):
        return f"{to_major_units(value.amount, value.currency)}"
    if isinstance(value, date):
        return value.isoformat()[:7] if monthly else value.isoformat()
    return str(value)


@require_GET
@never_cache
def chart_csv(request, key: str):
    period = dashboard_period(request.GET.get("period"))
    found = chart_rows_for_csv(key=key, period=period, user=request.user)
    if found is None:
        raise Http404("No such chart.")
    columns, rows = found
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}-{period.value}.csv"'
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value, monthly=columns[0] == "Month") for value in row])
    return response


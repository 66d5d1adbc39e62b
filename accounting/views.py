"""The accountant's pages. Only members of the Accountants group (and
superusers) may open them: an anonymous visitor is sent to the login page,
anyone else signed in (customers, support staff) gets 403. Accountants read
everything and change no document; they request exports and close periods.
"""

from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from billing.dates import seller_date
from billing.exceptions import BillingError
from billing.models import ClosedPeriod, Document
from billing.periods import period_close, period_of

from .audit import audit_document_numbers
from .forms import DocumentFilterForm, PeriodChoiceForm
from .models import ExportJob
from .selectors import document_currencies, document_list_for_accountant, user_is_accounting_reader
from .services import export_request

PAGE_SIZE = 50


def accountant_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_is_accounting_reader(request.user):
            raise PermissionDenied("The accounting pages are for accountants.")
        return view(request, *args, **kwargs)

    return wrapper


def _months_back(day: date, count: int):
    year, month = day.year, day.month
    for _ in range(count):
        yield year, month
        month -= 1
        if month == 0:
            year, month = year - 1, 12


def period_choices(today: date | None = None) -> list:
    """Grouped <select> choices: months back to the first document (two years
    at least), quarters and years."""
    today = today or seller_date()
    first = Document.objects.order_by("issued_at").values_list("issued_at", flat=True).first()
    first_day = seller_date(first) if first else today
    months = max(24, (today.year - first_day.year) * 12 + today.month - first_day.month + 1)
    month_periods = [period_of(date(y, m, 1)) for y, m in _months_back(today, months)]
    quarters, years = [], []
    for p in month_periods:
        q, y = period_of(p.start, "quarter"), period_of(p.start, "year")
        if q not in quarters:
            quarters.append(q)
        if y not in years:
            years.append(y)
    return [
        ("Months", [(p.label, p.title) for p in month_periods]),
        ("Quarters", [(p.label, p.title) for p in quarters]),
        ("Years", [(p.label, p.title) for p in years]),
    ]


@require_GET
@accountant_required
def document_list(request):
    form = DocumentFilterForm(request.GET or None, currencies=document_currencies())
    form.fields["period"].widget = _period_select(any_label="Any period")
    documents = document_list_for_accountant(filters=form.filters())
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounting/document_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "total": page.paginator.count},
    )


def _period_select(*, any_label: str | None = None):
    from django import forms

    choices = period_choices()
    if any_label:
        choices = [("", any_label), *choices]
    return forms.Select(choices=choices)


@require_http_methods(["GET", "POST"])
@accountant_required
def export_list(request):
    if request.method == "POST":
        form = PeriodChoiceForm(request.POST)
        if form.is_valid():
            job = export_request(period=form.cleaned_data["period"], user=request.user)
            return redirect("accounting:export_detail", pk=job.pk)
    else:
        form = PeriodChoiceForm(initial={"period": period_of(seller_date()).label})
    form.fields["period"].widget = _period_select()
    jobs = ExportJob.objects.select_related("requested_by")[:20]
    return render(request, "accounting/export_list.html", {"form": form, "jobs": jobs})


@require_GET
@accountant_required
def export_detail(request, pk: int):
    job = get_object_or_404(ExportJob, pk=pk)
    return render(request, "accounting/export_detail.html", {"job": job, "status": _status(job)})


def _status(job: ExportJob) -> dict:
    return {
        "id": job.pk,
        "period": job.label,
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "final": job.final,
        "documents": job.document_count,
        "size": job.size,
        "sha256": job.sha256,
        "error": job.error,
        "download_url": reverse("accounting:export_download", args=[job.pk])
        if job.status == ExportJob.Status.DONE
        else None,
    }


@require_GET
@accountant_required
def export_status(request, pk: int):
    job = get_object_or_404(ExportJob, pk=pk)
    response = JsonResponse(_status(job))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@accountant_required
def export_download(request, pk: int):
    job = get_object_or_404(ExportJob, pk=pk, status=ExportJob.Status.DONE)
    if not job.file or not job.file.storage.exists(job.file.name):
        raise Http404("The export file is gone; request the export again.")
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename,
                            content_type="application/zip")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if job.sha256:
        response["X-Export-SHA256"] = job.sha256
    return response


@require_http_methods(["GET", "POST"])
@accountant_required
def period_list(request):
    if request.method == "POST":
        form = PeriodChoiceForm(request.POST)
        if form.is_valid():
            period = form.cleaned_data["period"]
            if request.POST.get("confirm") != "yes":
                messages.error(request, f"Tick the box to confirm closing {period.title}.")
            else:
                try:
                    closed = period_close(period=period, user=request.user)
                except BillingError as exc:
                    messages.error(request, str(exc))
                else:
                    messages.success(
                        request,
                        f"{period.title} is closed ({closed.document_count} documents): nothing can be "
                        "issued with a date in it any more.",
                    )
                return redirect("accounting:period_list")
    else:
        previous = period_of(seller_date().replace(day=1) - timedelta(days=1))
        form = PeriodChoiceForm(initial={"period": previous.label})
    form.fields["period"].widget = _period_select()
    closed = ClosedPeriod.objects.select_related("closed_by")
    return render(request, "accounting/period_list.html", {"form": form, "closed": closed})


@require_GET
@accountant_required
def number_audit(request):
    report = audit_document_numbers()
    return render(request, "accounting/audit.html", {"report": report})


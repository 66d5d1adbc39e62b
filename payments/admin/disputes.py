"""Disputes in admin: read-only records (they change only through
payments.disputes, from Stripe's events), plus the form that submits evidence."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdminMixin, money_display
from core.money import format_money

from .. import disputes as dispute_services
from ..models import Dispute

EVIDENCE_PERMISSION = "payments.submit_dispute_evidence"


class EvidenceForm(forms.Form):
    customer_name = forms.CharField(required=False)
    customer_email_address = forms.EmailField(required=False)
    billing_address = forms.CharField(required=False)
    product_description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    service_date = forms.CharField(required=False, help_text="When the goods were delivered (YYYY-MM-DD)")
    shipping_carrier = forms.CharField(required=False)
    shipping_tracking_number = forms.CharField(required=False)
    shipping_date = forms.CharField(required=False)
    refund_policy_disclosure = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    refund_refusal_explanation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    uncategorized_text = forms.CharField(
        required=False, label="Explanation", widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Why the payment is legitimate, in your words.",
    )
    attach_invoice = forms.BooleanField(
        required=False, initial=True, label="Attach the invoice PDF",
        help_text="Uploaded to Stripe as a file (dispute evidence).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field_name, label in dispute_services.EVIDENCE_FILE_FIELDS.items():
            self.fields[field_name] = forms.FileField(
                required=False, label=label, help_text="PDF, PNG or JPEG; 5 MB in all at most.",
                widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
            )

    def evidence(self) -> tuple[dict[str, str], bool, dict[str, tuple[str, bytes]]]:
        """(texts, attach the invoice, {evidence field: (file name, content)})."""
        data = dict(self.cleaned_data)
        attach = data.pop("attach_invoice")
        files = {}
        for name in dispute_services.EVIDENCE_FILE_FIELDS:
            upload = data.pop(name, None)
            if upload:
                files[name] = (upload.name, upload.read())
        return data, attach, files


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("stripe_dispute_id", "order", "amount_display", "reason", "status", "evidence_due_by",
                    "evidence_submitted_at", "outcome", "lost_display")
    list_filter = ("status", "outcome", "reason")
    search_fields = ("stripe_dispute_id", "stripe_charge_id", "stripe_payment_intent_id", "=order__id")
    list_select_related = ("order",)
    ordering = ("-created_at",)
    readonly_fields = ["order_link", "amount_display", "lost_display", "evidence_display"] + [
        f.name for f in Dispute._meta.fields]
    fields = ("stripe_dispute_id", "order_link", "amount_display", "reason", "status", "evidence_due_by",
              "evidence_submitted_at", "evidence_submitted_by", "evidence_display", "outcome", "lost_display",
              "closed_at", "stripe_charge_id", "stripe_payment_intent_id", "created_at", "updated_at")

    amount_display = money_display("amount", description="Amount")

    @admin.display(description="Amount lost")
    def lost_display(self, obj):
        return format_money(obj.amount_lost, obj.currency) if obj.outcome == "lost" else "—"

    @admin.display(description="Evidence sent to Stripe")
    def evidence_display(self, obj):
        evidence = dict(obj.evidence or {})
        if not evidence:
            return "—"
        names = evidence.pop("files", {})
        invoice = evidence.pop("invoice", "")
        rows = []
        for key, value in evidence.items():
            if key == "uncategorized_file" and invoice:
                value = f"{invoice}.pdf ({value})"
            elif key in names:
                value = f"{names[key]} ({value})"
            rows.append((dispute_services.EVIDENCE_LABELS.get(key, key.replace("_", " ").capitalize()), value))
        return format_html("<dl class=\"evidence\">{}</dl>",
                           format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))

    @admin.display(description="Order")
    def order_link(self, obj):
        if obj.order_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]),
                           obj.order)

    def get_urls(self):
        return [
            path("<path:object_id>/evidence/", self.admin_site.admin_view(self.evidence_view),
                 name="payments_dispute_evidence"),
        ] + super().get_urls()

    def evidence_view(self, request, object_id):
        dispute = self.get_object(request, object_id)
        if dispute is None:
            raise Http404("No such dispute.")
        if not request.user.has_perm(EVIDENCE_PERMISSION):
            raise PermissionDenied
        change_url = reverse("admin:payments_dispute_change", args=[dispute.pk])
        if request.method == "POST":
            form = EvidenceForm(request.POST, request.FILES)
            if form.is_valid():
                texts, attach, files = form.evidence()
                try:
                    dispute = dispute_services.dispute_submit_evidence(
                        dispute_id=dispute.pk, evidence=texts, attach_invoice=attach, staff=request.user,
                        files=files,
                    )
                except dispute_services.DisputeError as error:
                    form.add_error(None, str(error))
                else:
                    self.message_user(
                        request, f"Evidence submitted to Stripe for dispute {dispute.stripe_dispute_id}; "
                                 f"it is now {dispute.get_status_display().lower()}.", messages.SUCCESS)
                    return HttpResponseRedirect(change_url)
        else:
            form = EvidenceForm(initial=dispute_services.evidence_initial(dispute))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Submit evidence for dispute {dispute.stripe_dispute_id}",
            "dispute": dispute,
            "original": dispute,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/payments/dispute/evidence.html", context)

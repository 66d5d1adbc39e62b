"""The order admin of the shop's staff: the orders app's admin (lines,
documents, audit trail) with what payments adds to it: the payments, refunds
and disputes of the order, what is refundable, and the Refund workflow (a
form, a confirmation page, then payments.refunds.refund_request)."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyTabularInline, admin_link, money_display
from core.money import format_money, to_major_units
from orders.admin import DocumentInline, OrderAdmin, OrderLineInline
from orders.models import Order

from .. import refunds, selectors
from ..models import Dispute, Payment, Refund

REFUND_PERMISSION = "payments.add_refund"


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ("created_at", "status", "amount_display", "card_brand", "card_last4",
              "stripe_payment_intent_id", "failure_message")
    readonly_fields = fields
    amount_display = money_display("amount", description="Amount")


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fk_name = "order"
    ordering = ("created_at", "pk")
    fields = ("refund_link", "created_at", "status", "amount_display", "reason", "note", "source", "requested_by",
              "stripe_refund_id", "problem", "credit_note_link")
    readonly_fields = fields
    verbose_name_plural = "Refunds"

    @admin.display(description="Refund")
    def refund_link(self, obj):
        return admin_link(obj, f"#{obj.pk}")

    amount_display = money_display("amount", description="Amount")

    @admin.display(description="Problem")
    def problem(self, obj):
        if obj.status == Refund.Status.FAILED:
            return obj.failure_message
        if obj.status == Refund.Status.PENDING and obj.send_error:
            return f"Not sent yet (Stripe unreachable; retried automatically): {obj.send_error}"
        return ""

    @admin.display(description="Credit note")
    def credit_note_link(self, obj):
        if obj.credit_note_id is None:
            return "—"
        url = reverse("billing:document_pdf", args=[obj.credit_note_id])
        return format_html('<a href="{}" class="credit-note-pdf">{} (PDF)</a>', url, obj.credit_note.number)


class DisputeInline(ReadOnlyTabularInline):
    model = Dispute
    fk_name = "order"
    fields = ("dispute_link", "amount_display", "reason", "status", "evidence_due_by", "evidence_submitted_at",
              "outcome", "lost_display")
    readonly_fields = fields
    verbose_name_plural = "Disputes"

    @admin.display(description="Dispute")
    def dispute_link(self, obj):
        return admin_link(obj, obj.stripe_dispute_id)

    amount_display = money_display("amount", description="Amount")

    @admin.display(description="Amount lost")
    def lost_display(self, obj):
        return format_money(obj.amount_lost, obj.currency) if obj.outcome == "lost" else "—"


class RefundForm(forms.Form):
    """What staff ask for. The checks (and the amount from the lines) are the
    service's: payments.refunds.refund_plan."""

    amount = forms.CharField(
        required=False, max_length=20, label="Amount",
        help_text="VAT included. Leave as it is to refund all that is still refundable. "
                  "When you choose lines below, the amount follows from them.",
    )
    reason = forms.ChoiceField(
        choices=[("", "—")] + list(Refund.Reason.choices), required=False, label="Reason (sent to Stripe)"
    )
    note = forms.CharField(required=False, label="Reason (free text)", widget=forms.Textarea(attrs={"rows": 3}))
    restock = forms.BooleanField(required=False, label="Return the chosen items to stock")

    def __init__(self, *args, order: Order, refundable: int, taken: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.default_amount = f"{to_major_units(refundable, order.currency)}"
        self.fields["amount"].initial = self.default_amount
        self.line_fields = []
        for line in order.lines.all():
            left = max(line.quantity - taken.get(line.pk, 0), 0)
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                required=False, min_value=0, max_value=left, initial=0,
                label=f"{line.name} ({line.sku}) · {format_money(line.unit_amount, order.currency)} each"
                      f"{_discount_note(line, order.currency)} · "
                      f"VAT {line.vat_rate.normalize():f}% · {left} of {line.quantity} refundable",
            )
            self.line_fields.append(name)

    def refund_input(self) -> tuple[int | None, dict[int, int]]:
        """(amount or None, {line id: quantity}) from the cleaned data; raises
        RefundRefused for an amount that is not a number."""
        data = self.cleaned_data
        lines = {int(name.split("_", 1)[1]): data.get(name) or 0 for name in self.line_fields}
        lines = {k: v for k, v in lines.items() if v}
        raw = (data.get("amount") or "").strip()
        amount = refunds.parse_amount(raw, self.order.currency) if raw else None
        if lines and raw and raw != self.default_amount:
            taken = selectors.refunded_quantities(self.order)
            from_lines = sum(line.charged_for(quantity=lines[line.pk], already=taken.get(line.pk, 0))
                             for line in self.order.lines.all() if line.pk in lines)
            if amount != from_lines:
                raise refunds.RefundRefused(
                    f"The amount follows from the lines chosen ({format_money(from_lines, self.order.currency)}): "
                    "leave the amount as it was, or choose no lines."
                )
        return (None if lines else amount), lines


def _discount_note(line, currency: str) -> str:
    if not line.discount:
        return ""
    return f" ({format_money(line.total, currency)} paid for {line.quantity} after the discount)"


class OrderPaymentsAdmin(OrderAdmin):
    inlines = [OrderLineInline, PaymentInline, RefundInline, DisputeInline, DocumentInline, *OrderAdmin.inlines[2:]]
    actions = ["refund_order"]
    readonly_fields = (*OrderAdmin.readonly_fields, "money_refunded", "money_pending", "money_refundable",
                       "money_lost")
    fieldsets = (
        OrderAdmin.fieldsets[0],
        ("Refunds and disputes", {"fields": ("money_refunded", "money_pending", "money_refundable", "money_lost")}),
        *OrderAdmin.fieldsets[1:],
    )

    def has_refund_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm(REFUND_PERMISSION)

    # -- money on the order ----------------------------------------------------
    @admin.display(description="Refunded")
    def money_refunded(self, obj):
        return format_money(selectors.refund_totals(obj)["succeeded"], obj.currency)

    @admin.display(description="Refunds pending")
    def money_pending(self, obj):
        return format_money(selectors.refund_totals(obj)["pending"], obj.currency)

    @admin.display(description="Still refundable")
    def money_refundable(self, obj):
        return format_money(selectors.refund_totals(obj)["refundable"], obj.currency)

    @admin.display(description="Lost to disputes")
    def money_lost(self, obj):
        lost = sum(obj.disputes.values_list("amount_lost", flat=True))
        return format_money(lost, obj.currency)

    # -- refund ------------------------------------------------------------------
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/refund/", self.admin_site.admin_view(self.refund_view),
                 name=f"{info[0]}_{info[1]}_refund"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_refund": self.has_refund_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    @admin.action(description="Refund the selected order…", permissions=["refund"])
    def refund_order(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one order to refund.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:orders_order_refund", args=[queryset.get().pk]))

    def refund_view(self, request, object_id):
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("No such order.")
        if not self.has_refund_permission(request, order) or not self.has_view_permission(request, order):
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        totals = selectors.refund_totals(order)
        taken = selectors.refunded_quantities(order)
        plan = None
        stage = "form"
        token = state = ""
        if request.method == "POST" and "_confirm" in request.POST:
            # The same confirmation page submitted again (double click, back
            # and resubmit): say what it already did, before any check.
            token = _uuid_or_none(request.POST.get("request_token"))
            done = Refund.objects.filter(request_token=token, order=order).first() if token else None
            if done is not None:
                self._refund_message(request, done, created=False)
                return HttpResponseRedirect(change_url)
        if request.method == "POST":
            form = RefundForm(request.POST, order=order, refundable=totals["refundable"], taken=taken)
            if form.is_valid():
                try:
                    amount, lines = form.refund_input()
                    data = form.cleaned_data
                    plan = refunds.refund_plan(
                        order=order, amount=amount, lines=lines, reason=data["reason"], note=data["note"],
                        restock=data["restock"],
                    )
                    if "_confirm" in request.POST:
                        refund, created = refunds.refund_request(
                            order_id=order.pk, staff=request.user, amount=amount, lines=lines,
                            reason=data["reason"], note=data["note"], restock=data["restock"],
                            request_token=_uuid_or_none(request.POST.get("request_token")),
                            expected_state=request.POST.get("state", ""),
                        )
                        self._refund_message(request, refund, created)
                        return HttpResponseRedirect(change_url)
                except refunds.RefundRefused as error:
                    form.add_error(None, str(error))
                    plan = None
                else:
                    stage = "confirm"
                    token = str(uuid.uuid4())
                    state = selectors.refund_state_marker(order)
        else:
            form = RefundForm(order=order, refundable=totals["refundable"], taken=taken)
            if order.status not in refunds.REFUNDABLE_STATUSES:
                form.add_error(None, f"Order {order.number} is {order.get_status_display().lower()}: "
                                     "only paid orders can be refunded.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Refund order {order.number}",
            "order": order,
            "original": order,
            "form": form,
            "plan": plan,
            "stage": stage,
            "totals": totals,
            "request_token": token,
            "state": state,
            "change_url": change_url,
            "credit_preview": _credit_preview(plan) if plan else None,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def _refund_message(self, request, refund: Refund, created: bool) -> None:
        amount = format_money(refund.amount, refund.currency)
        if not created:
            self.message_user(request, f"Refund #{refund.pk} of {amount} was already recorded by this form; "
                                       "nothing was sent twice.", messages.INFO)
        elif refund.status == Refund.Status.FAILED:
            self.message_user(request, f"Refund #{refund.pk} of {amount} failed: {refund.failure_message} "
                                       "Nothing was refunded.", messages.ERROR)
        elif refund.status == Refund.Status.SUCCEEDED:
            self.message_user(request, f"Refund #{refund.pk} of {amount} succeeded.", messages.SUCCESS)
        elif refund.is_sent:
            self.message_user(request, f"Refund #{refund.pk} of {amount} sent to Stripe; it stays pending until "
                                       "Stripe confirms it, then the credit note is issued.", messages.SUCCESS)
        else:
            self.message_user(
                request,
                f"Stripe could not be reached: refund #{refund.pk} of {amount} is recorded as pending and will be "
                "sent automatically within a few minutes (same idempotency key, so it can never be paid twice). "
                "Do not refund again.", messages.WARNING,
            )


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _credit_preview(plan) -> list[dict]:
    """What the credit note will show, per line (VAT included)."""
    if plan.lines:
        return [
            {"label": f"{line['quantity']} x {line['name']}", "vat_rate": line["vat_rate"],
             "amount": format_money(-line["unit_amount"] * line["quantity"], plan.currency)}
            for line in plan.lines
        ]
    return [{"label": "Amount spread over the invoice's VAT rates (what remains at each rate)", "vat_rate": "",
             "amount": format_money(-plan.amount, plan.currency)}]


admin.site.unregister(Order)
admin.site.register(Order, OrderPaymentsAdmin)

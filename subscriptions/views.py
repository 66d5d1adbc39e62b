"""Subscription pages: the plans, signing up through Stripe Checkout, and the
customer's subscription page with its self-service actions.

Every action is a Stripe call (subscriptions.signup, plan_changes,
cancellation, cards, billing_address); the page then shows
"pending confirmation" until Stripe's webhook has brought the change into
dj-stripe's mirror, which is all the page ever reads. What is pending is kept
in the customer's session (it is only a display hint: nothing is decided on
it), with the state the mirror will show once Stripe confirms.
"""

import logging
import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.vies import vat_id_check
from core.http import HttpResponseSeeOther
from core.money import format_money
from payments.exceptions import GatewayError

from . import billing_address, cancellation, cards, plan_changes, selectors, signup
from .exceptions import QuoteChanged, SubscriptionError
from .forms import SubscribeForm
from .pricing import BUYER_COUNTRY_KEY, VAT_ID_KEY, plan_quote

logger = logging.getLogger(__name__)

PENDING_KEY = "subscription_pending"
CARD_STARTED_KEY = "subscription_card_started"
# A pending hint older than this is dropped (the webhook may have been lost
# for good; the page then shows what the mirror has, which is Stripe's last word).
PENDING_TTL_SECONDS = 15 * 60
PENDING_LABELS = {
    "subscribe": "Your subscription is being confirmed by our payment provider…",
    "change": "Your plan change is pending confirmation.",
    "cancel": "Your cancellation is pending confirmation.",
    "resume": "Resuming your subscription is pending confirmation.",
    "card": "Your new card is pending confirmation.",
    "pay": "Your payment is being confirmed.",
    "billing": "Your new billing address is pending confirmation.",
}


# -- plans ---------------------------------------------------------------------


@require_GET
def plans(request):
    current = selectors.subscription_for_user(request.user) if request.user.is_authenticated else None
    current_price = (selectors.subscription_plan_price_id(current)
                     if current is not None and current.status in selectors.LIVE_STATUSES else "")
    return render(
        request,
        "subscriptions/plans.html",
        {"plans": selectors.plan_list(), "current_price": current_price, "current": current},
    )


@require_http_methods(["GET", "POST"])
def subscribe(request):
    """The plan's price for the buyer's billing address (and VAT id), before
    Stripe Checkout: GET shows it for the address on file; POST checks the
    VAT id (VIES, outside any transaction), shows the new price when the
    address gives another, and goes to Checkout once the customer has seen it."""
    price_id = request.POST.get("price") or request.GET.get("price") or ""
    if not request.user.is_authenticated:
        messages.info(request, "Sign in (or create an account) to subscribe.")
        back = f"{reverse('subscriptions:subscribe')}?{urlencode({'price': price_id})}"
        return redirect(f"{reverse('login')}?{urlencode({'next': back})}")
    try:
        price = signup.subscription_signup_price(user=request.user, price_id=price_id)
    except (SubscriptionError, GatewayError) as error:
        messages.error(request, str(error))
        return redirect("subscriptions:plans")
    initial = selectors.billing_initial_for_user(request.user)
    bound = request.method == "POST" and "billing_country" in request.POST
    form = SubscribeForm(request.POST if bound else None, initial=initial, user=request.user)
    quote = plan_quote(plan_price=price, country=initial.get("billing_country") or "")
    if bound and form.is_valid():
        billing = form.billing_details()
        vat_check = vat_id_check(vat_id=billing.vat_id, buyer_country=billing.country)
        try:
            url = signup.subscription_checkout_start(
                user=request.user, price_id=price.id, billing=billing, vat_check=vat_check,
                quote_key=request.POST.get("quote") or "",
            )
        except QuoteChanged as changed:
            # Another VAT applies to this address: the customer sees it first.
            messages.warning(request, str(changed))
            quote = changed.quote
        except (SubscriptionError, GatewayError) as error:
            messages.error(request, str(error))
            return redirect("subscriptions:plans")
        else:
            if vat_check is not None and not vat_check.verified:
                messages.warning(request, vat_check.customer_message)
            return HttpResponseSeeOther(url)
    return render(request, "subscriptions/subscribe.html",
                  {"form": form, "quote": quote, "plan": selectors.plan_price(price), "plan_name": price.product.name})


# -- pending hints -----------------------------------------------------------


def _pending(request) -> list[dict]:
    now = time.time()
    return [p for p in request.session.get(PENDING_KEY, []) if now - p.get("at", 0) < PENDING_TTL_SECONDS]


def _pending_add(request, action: str, subscription_id: str = "", **expect) -> None:
    pending = [p for p in _pending(request) if not (p["action"] == action and p["subscription"] == subscription_id)]
    pending.append({"action": action, "subscription": subscription_id, "expect": expect, "at": time.time()})
    request.session[PENDING_KEY] = pending


def _confirmed(pending: dict, subscription, summary) -> bool:
    """Whether the mirror shows what Stripe was asked for."""
    action, expect = pending["action"], pending.get("expect") or {}
    if action == "subscribe":
        return subscription is not None and subscription.status in selectors.LIVE_STATUSES
    if subscription is None or subscription.id != pending["subscription"]:
        return subscription is None or subscription.status not in selectors.LIVE_STATUSES
    if subscription.status not in selectors.LIVE_STATUSES:
        return True
    if action == "change":
        return selectors.subscription_plan_price_id(subscription) == expect.get("price")
    if action == "cancel":
        return summary.cancel_at_period_end
    if action == "resume":
        return not summary.cancel_at_period_end
    if action == "card":
        return subscription.stripe_data.get("default_payment_method") != expect.get("previous_id")
    if action == "pay":
        return subscription.status not in ("past_due", "unpaid")
    if action == "billing":
        metadata = subscription.stripe_data.get("metadata") or {}
        return (metadata.get(BUYER_COUNTRY_KEY, ""), metadata.get(VAT_ID_KEY, "")) == (
            expect.get("country", ""), expect.get("vat_id", ""))
    return True


def _open_pending(request, subscription, summary) -> list[dict]:
    pending = _pending(request)
    still = [p for p in pending if not _confirmed(p, subscription, summary)]
    if len(still) != len(request.session.get(PENDING_KEY, [])):
        request.session[PENDING_KEY] = still
    return still


# -- the subscription page -----------------------------------------------------


def _own_subscription(request, subscription_id: str):
    """The signed-in customer's subscription, or 404 (someone else's too)."""
    subscription = selectors.subscriptions_for_user(request.user).filter(id=subscription_id).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


@login_required
@require_GET
def subscription_detail(request):
    # Back from Checkout: pending until the webhook has mirrored the result.
    # Redirect to drop the query, so that a reload does not add it again.
    if request.GET.get("session_id"):
        _pending_add(request, "subscribe")
        return redirect("subscriptions:subscription")
    if request.GET.get("card_session"):
        started = request.session.pop(CARD_STARTED_KEY, None)
        if started:
            _pending_add(request, "card", started["subscription"], previous_id=started["previous_id"])
        return redirect("subscriptions:subscription")
    subscription = selectors.subscription_for_user(request.user)
    summary = selectors.subscription_summary(subscription) if subscription is not None else None
    pending = _open_pending(request, subscription, summary)
    other_prices = []
    if summary is not None and summary.can_change:
        current_price = selectors.subscription_plan_price_id(subscription)
        other_prices = [
            (plan, plan_changes.subscription_plan_price_for_buyer(subscription=subscription, price=price))
            for plan in selectors.plan_list() for price in plan.prices if price.id != current_price
        ]
    return render(
        request,
        "subscriptions/subscription.html",
        {
            "subscription": subscription,
            "summary": summary,
            "pending": [{**p, "label": PENDING_LABELS.get(p["action"], "A change is pending.")} for p in pending],
            "other_prices": other_prices,
            "documents": selectors.subscription_documents_for_user(user=request.user) if summary else [],
            "billing": selectors.billing_initial_for_user(request.user) if summary and summary.is_live else {},
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_change(request, subscription_id: str):
    """GET: the proration preview for the chosen price; POST: apply it."""
    subscription = _own_subscription(request, subscription_id)
    price_id = request.POST.get("price") or request.GET.get("price") or ""
    try:
        if request.method == "POST":
            proration_date = int(request.POST.get("proration_date") or 0)
            if not proration_date:
                raise SubscriptionError("Please review the price of the change before confirming it.")
            changed = plan_changes.subscription_change_plan(
                subscription=subscription, price_id=price_id, proration_date=proration_date, actor=request.user
            )
            if not changed:
                messages.info(request, "You are already on this plan: nothing was changed.")
            else:
                _pending_add(request, "change", subscription.id, price=price_id)
                messages.success(request, "Plan change requested.")
            return redirect("subscriptions:subscription")
        preview = plan_changes.subscription_change_preview(subscription=subscription, price_id=price_id)
    except (SubscriptionError, GatewayError) as error:
        messages.error(request, str(error))
        return redirect("subscriptions:subscription")
    if preview is None:
        messages.info(request, "You are already on this plan: nothing to change.")
        return redirect("subscriptions:subscription")
    summary = selectors.subscription_summary(subscription)
    return render(
        request,
        "subscriptions/subscription_change.html",
        {"subscription": subscription, "summary": summary, "preview": preview,
         "new_price": selectors.plan_price(preview.price), "new_plan_name": preview.price.product.name},
    )


def _request_change(request, subscription_id: str, *, service, pending: str, done: str):
    """Ask Stripe for a change; the page shows it pending until its webhook confirms it."""
    subscription = _own_subscription(request, subscription_id)
    try:
        service(subscription=subscription, actor=request.user)
    except (SubscriptionError, GatewayError) as error:
        messages.error(request, str(error))
    else:
        _pending_add(request, pending, subscription.id)
        messages.success(request, done)
    return redirect("subscriptions:subscription")


@login_required
@require_http_methods(["GET", "POST"])
def subscription_cancel(request, subscription_id: str):
    """GET: what cancelling means (until when the customer keeps the plan);
    POST (from that page): ask Stripe to cancel at the end of the period."""
    if request.method == "GET":
        subscription = _own_subscription(request, subscription_id)
        summary = selectors.subscription_summary(subscription)
        if not summary.is_live or summary.cancel_at_period_end:
            return redirect("subscriptions:subscription")
        return render(request, "subscriptions/subscription_cancel.html",
                      {"subscription": subscription, "summary": summary,
                       "ends_on": selectors.subscription_period_end(subscription)})
    return _request_change(
        request, subscription_id, service=cancellation.subscription_cancel_at_period_end, pending="cancel",
        done="Cancellation requested: your subscription will end at the end of the period.",
    )


@login_required
@require_POST
def subscription_pay(request, subscription_id: str):
    """Pay the overdue invoice now with the card on file."""
    subscription = _own_subscription(request, subscription_id)
    try:
        paid = cards.subscription_pay_overdue(subscription=subscription, actor=request.user)
    except (SubscriptionError, GatewayError) as error:
        messages.error(request, str(error))
        return redirect("subscriptions:subscription")
    if paid:
        _pending_add(request, "pay", subscription.id)
        messages.success(request, "Payment received: your subscription is active again.")
    else:
        messages.error(request, "Your card was declined again. Replace your card: we charge the new one at once.")
    return redirect("subscriptions:subscription")


@login_required
@require_POST
def subscription_resume(request, subscription_id: str):
    return _request_change(
        request, subscription_id, service=cancellation.subscription_resume, pending="resume",
        done="Resume requested: your subscription will renew as before.",
    )


@login_required
@require_POST
def subscription_card(request, subscription_id: str):
    subscription = _own_subscription(request, subscription_id)
    try:
        url = cards.card_replace_start(subscription=subscription)
    except (SubscriptionError, GatewayError) as error:
        messages.error(request, str(error))
        return redirect("subscriptions:subscription")
    # The card in use now: the new one is confirmed once the mirror shows another.
    request.session[CARD_STARTED_KEY] = {
        "subscription": subscription.id,
        "previous_id": subscription.stripe_data.get("default_payment_method"),
    }
    return HttpResponseSeeOther(url)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_billing(request, subscription_id: str):
    """Change the billing address or VAT id. GET: the form with the details on
    file; POST: the plan's price for the new details (the VAT id checked with
    VIES, outside any transaction), which the customer confirms; the
    confirmation (with the price shown) asks Stripe for the change, charged
    from the next renewal."""
    subscription = _own_subscription(request, subscription_id)
    summary = selectors.subscription_summary(subscription)
    try:
        billing_address.subscription_billing_plan_price(subscription)
    except SubscriptionError as error:
        messages.error(request, str(error))
        return redirect("subscriptions:subscription")
    bound = request.method == "POST"
    form = SubscribeForm(request.POST if bound else None, initial=selectors.billing_initial_for_user(request.user),
                         user=request.user)
    quote = None
    if bound and form.is_valid():
        billing = form.billing_details()
        vat_check = vat_id_check(vat_id=billing.vat_id, buyer_country=billing.country)
        try:
            if "confirm" not in request.POST:
                quote = billing_address.subscription_billing_quote(
                    subscription=subscription, country=billing.country, vat_check=vat_check)
            else:
                applied = billing_address.subscription_billing_change(
                    subscription=subscription, billing=billing, vat_check=vat_check,
                    quote_key=request.POST.get("quote") or "", actor=request.user)
        except QuoteChanged as changed:
            messages.warning(request, str(changed))
            quote = changed.quote
        except (SubscriptionError, GatewayError) as error:
            messages.error(request, str(error))
            return redirect("subscriptions:subscription")
        else:
            if quote is None:
                _pending_add(request, "billing", subscription.id, country=billing.country,
                             vat_id=vat_check.vat_id if vat_check else "")
                messages.success(request, "Billing details updated: your next invoices are addressed there; from "
                                          f"your next renewal you pay {format_money(applied.amount, applied.currency)}"
                                          f" per {applied.interval} ({applied.label}).")
                if vat_check is not None and not vat_check.verified:
                    messages.warning(request, vat_check.customer_message)
                return redirect("subscriptions:subscription")
    return render(request, "subscriptions/subscription_billing.html",
                  {"subscription": subscription, "summary": summary, "form": form, "quote": quote,
                   "renews_on": summary.renews_on})

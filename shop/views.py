"""Storefront pages: catalogue, cart, checkout and account (signup: auth_views)."""

import logging
import time
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.backends import db as db_session
from django.contrib.sessions.models import Session
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.selectors import document_list_for_customer
from billing.vies import vat_id_check
from catalog.models import Category, Product
from core.http import HttpResponseSeeOther, safe_next_url
from orders.discounts import DiscountRefused
from orders.exceptions import OrderError, OutOfStock, QuoteChanged
from orders.models import Order
from orders.selectors import order_last_billing_for_customer, order_list_for_customer
from orders.services import order_place
from payments.exceptions import GatewayError
from payments.models import Payment, Refund
from payments.services import checkout_start

from .cart import Cart
from .forms import CheckoutForm

logger = logging.getLogger(__name__)

PRODUCTS_PER_PAGE = 12
# The session remembers which order its last checkout placed (see checkout).
CHECKOUT_PLACED_KEY = "checkout_placed"
# How long a second checkout of the same cart waits for the first one's payment page.
CHECKOUT_WAIT_SECONDS = 10


# -- catalogue ---------------------------------------------------------------


@dataclass(frozen=True)
class CataloguePage:
    """A page of the catalogue read as per_page + 1 rows: whether there is a
    next page is known without counting every product."""

    number: int
    object_list: list
    has_next: bool

    @classmethod
    def of(cls, queryset, raw_number, per_page: int) -> "CataloguePage":
        number = _int_or_none(raw_number) or 1
        number = max(1, min(number, 10_000))
        start = (number - 1) * per_page
        rows = list(queryset[start:start + per_page + 1])
        return cls(number=number, object_list=rows[:per_page], has_next=len(rows) > per_page)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


@require_GET
def product_list(request):
    """The catalogue a page at a time, by category then name. Each query reads
    an index (catalog's partial indexes on active products): the page is the
    next twelve entries of (category position, name) or (category, name), with
    no COUNT of every product (Previous / Next, see CataloguePage), and the
    category bar asks each category whether it has an active product (EXISTS)
    rather than joining and de-duplicating every product."""
    products = Product.objects.active().select_related("category", "tax_rate")
    category = None
    slug = request.GET.get("category")
    if slug:
        category = get_object_or_404(Category, slug=slug)
        products = products.filter(category=category).order_by("name", "pk")
    else:
        products = products.order_by("category_position", "name", "pk")
    page = CataloguePage.of(products, request.GET.get("page"), PRODUCTS_PER_PAGE)
    return render(
        request,
        "shop/product_list.html",
        {
            "page_obj": page,
            "products": page.object_list,
            "categories": Category.objects.filter(
                Exists(Product.objects.active().filter(category=OuterRef("pk")))),
            "category": category,
        },
    )


@require_GET
def product_detail(request, slug):
    product = get_object_or_404(Product.objects.active().select_related("category", "tax_rate"), slug=slug)
    cart = Cart(request)
    return render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "in_cart": cart.quantity_of(product.pk),
            "max_quantity": max(0, min(product.stock, 99)),
        },
    )


# -- cart ----------------------------------------------------------------------


@require_GET
def cart_detail(request):
    cart = Cart(request)
    return render(request, "shop/cart.html", {"cart": cart, "lines": cart.lines(),
                                              "summary": _quote_or_none(cart, request=request)})


def _quote_or_none(cart, *, request=None, email: str = "", **kwargs):
    """The cart's quote, with its discount code while the code applies (a
    code that no longer does is taken out of the cart, saying why)."""
    discount = None
    if request is not None and cart.discount_code:
        user = request.user if request.user.is_authenticated else None
        try:
            discount = cart.discount(email=email or (user.email if user else ""), customer=user)
        except DiscountRefused as error:
            cart.set_discount_code("")
            messages.warning(request, f"{error} The code was removed from your cart.")
        except OrderError:
            return None
    try:
        return cart.quote(discount=discount, **kwargs)
    except OrderError:
        return None


@require_POST
def cart_discount(request):
    """Apply (or, with "remove", take off) a discount code to the cart."""
    cart = Cart(request)
    if request.POST.get("remove"):
        if cart.discount_code:
            messages.success(request, f"The code “{cart.discount_code}” was removed.")
        cart.set_discount_code("")
        return redirect("shop:cart")
    if not cart.lines():
        messages.error(request, "Add a product to your cart before entering a discount code.")
        return redirect("shop:cart")
    previous = cart.discount_code
    cart.set_discount_code(request.POST.get("code", ""))
    user = request.user if request.user.is_authenticated else None
    try:
        discount = cart.discount(email=user.email if user else "", customer=user)
        if discount is None:
            raise DiscountRefused("Enter a discount code.")
    except DiscountRefused as error:
        cart.set_discount_code(previous)
        messages.error(request, str(error))
        return redirect("shop:cart")
    cart.set_discount_code(discount.code)
    messages.success(request, f"{discount.label} applied.")
    return redirect("shop:cart")


@require_POST
def cart_add(request):
    # Only the product id and the quantity are read: a price or total the
    # browser may send is never looked at.
    product = Product.objects.active().filter(pk=_int_or_none(request.POST.get("product_id"))).first()
    if product is None:
        messages.error(request, "This product is not available.")
        return redirect("shop:product_list")
    cart = Cart(request)
    try:
        cart.add(product, request.POST.get("quantity", "1"))
    except OrderError as error:
        messages.error(request, _with_cart_note(str(error), cart.quantity_of(product.pk)))
        return redirect(safe_next_url(request, product.get_absolute_url()))
    quantity = int(str(request.POST.get("quantity", "1")).strip())
    messages.success(request, f"Added {quantity} × {product.name} to your cart.")
    return redirect(safe_next_url(request, reverse("shop:cart")))


@require_POST
def cart_update(request):
    cart = Cart(request)
    product_id = request.POST.get("product_id")
    if not cart.quantity_of(product_id):
        messages.error(request, "This product is not in your cart.")
        return redirect("shop:cart")
    try:
        cart.set_quantity(product_id, request.POST.get("quantity", ""))
    except OrderError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Your cart has been updated.")
    return redirect("shop:cart")


@require_POST
def cart_remove(request):
    cart = Cart(request)
    if cart.remove(request.POST.get("product_id", "")):
        messages.success(request, "The product has been removed from your cart.")
    return redirect("shop:cart")


def _int_or_none(raw):
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def _with_cart_note(message: str, in_cart: int) -> str:
    if in_cart:
        return f"{message} You already have {in_cart} in your cart."
    return message


# -- checkout ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def checkout(request):
    cart = Cart(request)
    if not cart.lines():
        messages.info(request, "Your cart is empty: add a product before checking out.")
        return redirect("shop:cart")

    short = cart.lines_out_of_stock
    if short and request.method == "GET":
        # Said in the cart, before any form is filled in.
        names = ", ".join(f"“{line.product.name}”" for line in short)
        messages.error(request, f"Not enough stock for {names}: change your cart to check out.")
        return redirect("shop:cart")
    if short and not _checked_out_meanwhile(request):
        # Sold out as just read: refused before any transaction or lock (a rush
        # on the last units is mostly refusals). What is left is decided by
        # order_place's conditional UPDATE, under the session lock below.
        messages.error(request, str(OutOfStock(short[0].product, short[0].product.stock)))
        return redirect("shop:cart")

    # A returning customer's billing details are those of their last order.
    form = CheckoutForm(request.POST or None, user=request.user,
                        initial=order_last_billing_for_customer(user=request.user))
    summary = _quote_or_none(cart, request=request)
    if request.method == "POST" and form.is_valid():
        billing = form.billing_details()
        # VIES is asked here, before any transaction (a network call); the
        # answer and its date are kept with the order.
        vat_check = vat_id_check(vat_id=billing.vat_id, buyer_country=billing.country)
        try:
            with transaction.atomic():
                # One checkout of a cart at a time: a second POST of the same
                # cart (double click, two tabs) waits here, then finds the cart
                # already turned into an order and goes to that order's payment page.
                _lock_session(request)
                placed = request.session.get(CHECKOUT_PLACED_KEY)
                cart = Cart(request)
                order = placed_before = None
                if cart:
                    # The cart as stored now (ids and quantities); order_place
                    # reads the products, their prices and stock itself.
                    order = order_place(
                        items=cart.stored_items(),
                        email=form.cleaned_data["email"],
                        billing=billing,
                        customer=request.user if request.user.is_authenticated else None,
                        vat_check=vat_check,
                        # What the summary showed; a page without it showed the cart's default.
                        quote_key=request.POST.get("quote") or (summary.key if summary else None),
                        discount_code=cart.discount_code,
                    )
                    cart.clear()
                    request.session[CHECKOUT_PLACED_KEY] = str(order.reference)
                    if _session_in_db(request):
                        _save_session(request)  # inside the lock, for the request waiting on it
                elif placed:
                    placed_before = Order.objects.filter(reference=placed).first()
        except QuoteChanged as changed:
            # Another VAT applies to this address: show the new amounts and
            # let the customer confirm them before paying.
            messages.warning(request, str(changed))
            return render(request, "shop/checkout.html",
                          {"form": form, "cart": cart, "summary": changed.quote})
        except DiscountRefused as error:
            # The code stopped applying (used up by another buyer, expired...):
            # nothing was written; the cart goes on without it.
            Cart(request).set_discount_code("")
            messages.error(request, f"{error} The code was removed from your cart: check the new total.")
            return redirect("shop:cart")
        except OrderError as error:
            # order_place runs in one transaction: nothing was written.
            messages.error(request, str(error))
            return redirect("shop:cart")
        if order is None:
            if placed_before is not None:
                return _to_payment_page(request, placed_before)
            messages.info(request, "Your cart is empty: add a product before checking out.")
            return redirect("shop:cart")
        if vat_check is not None and not vat_check.verified:
            messages.warning(request, vat_check.customer_message)

        try:
            url = checkout_start(order=order)
        except GatewayError as error:
            # checkout_start has already cancelled the order and released its
            # stock; the cart is put back, so the customer can try again.
            Cart(request).restore_from_order(order)
            request.session.pop(CHECKOUT_PLACED_KEY, None)
            messages.error(request, str(error))
            return redirect("shop:cart")
        return HttpResponseSeeOther(url)

    return render(request, "shop/checkout.html", {"form": form, "cart": cart, "summary": summary})


def _session_in_db(request) -> bool:
    return isinstance(request.session, db_session.SessionStore) and bool(request.session.session_key)


def _checked_out_meanwhile(request) -> bool:
    """Whether a concurrent checkout of this cart (a double click on the last
    units) committed since this request read its session: the stock it took
    is then what this request sees as sold out, and the request must go on to
    the lock, which sends it to that order's payment page."""
    if not _session_in_db(request):
        return False
    stored = type(request.session)(request.session.session_key).load()
    return stored.get(CHECKOUT_PLACED_KEY) != request.session.get(CHECKOUT_PLACED_KEY)


def _lock_session(request) -> None:
    """Lock the visitor's session row until the transaction ends and read the
    session again: a concurrent checkout of the same cart committed before us
    is then seen. (Sessions in another backend: no lock, as before.)"""
    if not _session_in_db(request):
        return
    session = request.session
    # One statement: the row locked and read (what SessionStore.load reads:
    # an expired session is an empty one).
    data = (Session.objects.select_for_update()
            .filter(session_key=session.session_key, expire_date__gt=timezone.now())
            .values_list("session_data", flat=True).first())
    if data is None:
        session._session_key = None  # noqa: SLF001 (gone meanwhile: a new session, as SessionStore.load does)
    session._session_cache = session.decode(data) if data is not None else {}  # noqa: SLF001 (the fresh row)


def _save_session(request) -> None:
    """Write the session now, in the caller's transaction (under the lock
    _lock_session took): one UPDATE, without the savepoint SessionStore.save
    opens; not saved again after the response."""
    session = request.session
    session.create_model_instance(session._get_session(no_load=False)).save(force_update=True)  # noqa: SLF001
    session.modified = False


def _to_payment_page(request, order: Order):
    """The payment page of an order placed by a concurrent checkout of this
    cart: its Checkout Session once the other request has opened it (a bounded
    wait, outside any transaction), else the order's page with "Pay now"."""
    deadline = time.monotonic() + CHECKOUT_WAIT_SECONDS
    while order.status == Order.Status.AWAITING_PAYMENT and not order.checkout_url and time.monotonic() < deadline:
        time.sleep(0.2)
        order.refresh_from_db(fields=["checkout_url", "status"])
    if order.status == Order.Status.AWAITING_PAYMENT and order.checkout_url:
        return HttpResponseSeeOther(order.checkout_url)
    return redirect(order.get_absolute_url())  # its page says how it stands, and offers "Pay now"


# -- account -------------------------------------------------------------------


ORDERS_PER_PAGE = 20
DOCUMENTS_PER_PAGE = 20


@login_required
@require_GET
def account(request):
    """The customer's orders (each with its payments and refunds) and
    documents, each list paged on its own."""
    orders = order_list_for_customer(user=request.user).prefetch_related(
        Prefetch("payments", queryset=Payment.objects.order_by("created_at", "pk")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "pk")),
    )
    orders_page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("orders_page"))
    documents_page = Paginator(document_list_for_customer(user=request.user), DOCUMENTS_PER_PAGE).get_page(
        request.GET.get("documents_page"))
    return render(
        request,
        "shop/account.html",
        {
            "orders": orders_page.object_list,
            "orders_page": orders_page,
            "documents": documents_page.object_list,
            "documents_page": documents_page,
        },
    )

"""The customer's cart, kept in the session.

The session holds product ids and quantities only, never a price: every line
total, the VAT breakdown and the total are worked out from the database each
time, so a price sent by the browser can never reach an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.conf import settings

from billing.tax import vat_from_gross
from catalog.models import Product
from orders.discounts import DiscountCode, discount_code_find, normalize_code
from orders.exceptions import InvalidQuantity, OrderError, OutOfStock
from orders.pricing import Quote, order_quote
from orders.services import MAX_QUANTITY_PER_LINE, CartItem, validate_quantity

SESSION_KEY = "cart"
# The discount code the customer applied to the cart (as typed, trimmed);
# checked again each time the cart is priced, and when the order is placed.
DISCOUNT_SESSION_KEY = "cart_discount_code"


class ProductUnavailable(OrderError):
    """The product is not (or no longer) sold."""


class CurrencyMismatch(OrderError):
    """One order is paid in one currency: a cart holds products of one currency."""


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def total(self) -> int:
        """Line total in minor units, VAT included."""
        return self.product.unit_amount * self.quantity

    @property
    def in_stock(self) -> bool:
        """Whether the shop has this line's quantity today (stock moves while
        a cart waits: it is checked again when the order is placed)."""
        return self.product.stock >= self.quantity

    @property
    def stock_note(self) -> str:
        """What the customer must change for this line, or ""."""
        if self.in_stock:
            return ""
        if self.product.stock <= 0:
            return "Out of stock: remove it to check out."
        return f"Only {self.product.stock} left: lower the quantity to check out."


@dataclass(frozen=True)
class VatLine:
    rate: Decimal  # percentage, e.g. Decimal("20.00")
    gross: int  # minor units, VAT included
    vat: int  # minor units
    net: int  # minor units

    @classmethod
    def from_gross(cls, rate: Decimal, gross: int) -> VatLine:
        # The invoice's own rule (billing.tax), so the cart and the invoice agree to the cent.
        vat = vat_from_gross(gross, rate)
        return cls(rate=rate, gross=gross, vat=vat, net=gross - vat)


class Cart:
    def __init__(self, request):
        self.session = request.session
        raw = self.session.get(SESSION_KEY)
        self._items: dict[str, int] = {}
        if isinstance(raw, dict):
            for key, quantity in raw.items():
                # Keep only what this class wrote: a digit id and a positive int.
                if str(key).isdigit() and isinstance(quantity, int) and quantity > 0:
                    self._items[str(key)] = quantity

    # -- writes ---------------------------------------------------------------

    def add(self, product: Product, quantity) -> int:
        """Add units of a product; returns the new quantity in the cart.

        Raises InvalidQuantity / OutOfStock / ProductUnavailable (OrderError
        subclasses with a message for the customer); nothing changes then.
        """
        quantity = validate_quantity(quantity)
        new_quantity = self._items.get(str(product.pk), 0) + quantity
        self._check(product, new_quantity)
        if self._lines and product.currency != self.currency:
            raise CurrencyMismatch(
                f"Your cart is in {self.currency.upper()} and “{product.name}” is sold in "
                f"{product.currency.upper()}: an order is paid in one currency. Check out your cart first, "
                "or remove its items."
            )
        self._items[str(product.pk)] = new_quantity
        self._save()
        return new_quantity

    def set_quantity(self, product_id, quantity) -> int:
        """Replace a line's quantity (1 to 99, within stock); same errors as add()."""
        quantity = validate_quantity(quantity)
        product = self._get_product(product_id)
        self._check(product, quantity)
        self._items[str(product.pk)] = quantity
        self._save()
        return quantity

    def remove(self, product_id) -> bool:
        """Remove a line; True if it was in the cart."""
        removed = self._items.pop(str(product_id), None) is not None
        if removed:
            self._save()
        return removed

    def clear(self) -> None:
        self._items = {}
        self._save()
        self.set_discount_code("")

    @property
    def discount_code(self) -> str:
        return normalize_code(self.session.get(DISCOUNT_SESSION_KEY, ""))

    def set_discount_code(self, code: str) -> None:
        code = normalize_code(code)
        if code:
            self.session[DISCOUNT_SESSION_KEY] = code
        else:
            self.session.pop(DISCOUNT_SESSION_KEY, None)
        self.session.modified = True

    def restore_from_order(self, order) -> None:
        """Put back the lines of an order the customer did not pay (cancelled on
        the payment page), so the cart is as they left it. Lines whose product
        is no longer sold are skipped; other lines already in the cart stay."""
        for line in order.lines.all():
            if line.product_id is None:
                continue
            if not Product.objects.active().filter(pk=line.product_id).exists():
                continue
            self._items[str(line.product_id)] = min(line.quantity, MAX_QUANTITY_PER_LINE)
        self._save()
        if order.discount_code:
            self.set_discount_code(order.discount_code)

    # -- reads ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def count(self) -> int:
        """Number of units in the cart (shown next to "Cart" in the header)."""
        return sum(self._items.values())

    def quantity_of(self, product_id) -> int:
        return self._items.get(str(product_id), 0)

    def lines(self) -> list[CartLine]:
        """The cart's lines with today's products and prices. A product that is
        no longer sold drops out of the cart."""
        return list(self._lines)

    @property
    def total(self) -> int:
        """Total in minor units, VAT included."""
        return sum(line.total for line in self._lines)

    @property
    def lines_out_of_stock(self) -> list[CartLine]:
        return [line for line in self._lines if not line.in_stock]

    @property
    def currency(self) -> str:
        lines = self._lines
        return lines[0].product.currency if lines else settings.SHOP_CURRENCY

    @property
    def vat_breakdown(self) -> list[VatLine]:
        """VAT included in the total, per rate (highest rate first)."""
        gross_by_rate: dict[Decimal, int] = {}
        for line in self._lines:
            rate = line.product.tax_rate.rate
            gross_by_rate[rate] = gross_by_rate.get(rate, 0) + line.total
        return [VatLine.from_gross(rate, gross) for rate, gross in sorted(gross_by_rate.items(), reverse=True)]

    @property
    def vat_total(self) -> int:
        return sum(line.vat for line in self.vat_breakdown)

    def quote(self, *, country: str = "", vat_check=None, discount: DiscountCode | None = None) -> Quote:
        """The cart priced for a buyer in `country` (default: the seller's
        country, as the cart page shows it before an address is known), with
        `discount` (a checked code) taken off."""
        return order_quote(items=[(line.product, line.quantity) for line in self._lines], country=country,
                           vat_check=vat_check, discount=discount)

    def discount(self, *, email: str = "", customer=None) -> DiscountCode | None:
        """The cart's discount code, checked for this cart (DiscountRefused
        with the reason when it does not apply); None without a code."""
        code = self.discount_code
        if not code or not self._lines:
            return None
        base = self.quote()
        return discount_code_find(code=code, currency=base.currency, subtotal=base.subtotal, email=email,
                                  customer=customer)

    def stored_items(self) -> list[CartItem]:
        """The ids and quantities the session holds, without reading the
        products (order_place reads them, and refuses one no longer sold)."""
        return [CartItem(product_id=int(key), quantity=q) for key, q in self._items.items()]

    # -- internals ------------------------------------------------------------

    @cached_property
    def _lines(self) -> list[CartLine]:
        ids = [int(key) for key in self._items]
        products = Product.objects.active().select_related("tax_rate", "category").in_bulk(ids)
        gone = [key for key in self._items if int(key) not in products]
        if gone:
            for key in gone:
                del self._items[key]
            self._save(reset=False)
        lines = [CartLine(product=products[int(key)], quantity=q) for key, q in self._items.items()]
        lines.sort(key=lambda line: (line.product.name, line.product.pk))  # as order_place orders them
        return lines

    def _get_product(self, product_id) -> Product:
        try:
            pk = int(str(product_id))
        except (TypeError, ValueError):
            raise ProductUnavailable("This product is not available.") from None
        product = Product.objects.active().filter(pk=pk).first()
        if product is None:
            raise ProductUnavailable("This product is not available.")
        return product

    @staticmethod
    def _check(product: Product, quantity: int) -> None:
        if not product.active:
            raise ProductUnavailable(f"“{product.name}” is no longer sold.")
        if quantity > MAX_QUANTITY_PER_LINE:
            raise InvalidQuantity(f"You can order at most {MAX_QUANTITY_PER_LINE} of one product.")
        if quantity > product.stock:
            raise OutOfStock(product, product.stock)

    def _save(self, *, reset: bool = True) -> None:
        self.session[SESSION_KEY] = dict(self._items)
        self.session.modified = True
        if reset:
            self.__dict__.pop("_lines", None)

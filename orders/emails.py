"""E-mails about orders themselves (documents are billing's): the signed links
a customer asked for on the "find my order" page."""

import logging

from django.conf import settings

from core.email import email_queue, templated_email
from core.money import format_money
from core.signed_links import signed_url

from .selectors import order_find_for_email

logger = logging.getLogger(__name__)


def order_signed_url(order) -> str:
    """The order page's absolute link that opens it without a session, for
    SIGNED_LINK_MAX_AGE (core.signed_links)."""
    return signed_url(order.get_absolute_url())


def order_links_send(*, email: str, reference: str = "") -> int:
    """E-mail `email` signed links to its orders matching `reference` (see
    order_find_for_email); nothing is sent when there is none, so the page that
    asked can say the same thing either way. Returns how many were linked."""
    orders = order_find_for_email(email=email, reference=reference)
    if not orders:
        logger.info("find my order: no order for the address and reference given")
        return 0
    context = {
        "orders": [
            {"number": order.number, "date": order.created_at, "status": order.get_status_display(),
             "total": format_money(order.total, order.currency), "url": order_signed_url(order)}
            for order in orders
        ],
        "max_age_days": settings.SIGNED_LINK_MAX_AGE // 86400,
        "seller_name": (settings.SHOP_SELLER or {}).get("name", ""),
        "shop_name": settings.SHOP_NAME,
    }
    # Through the outbox: sent after commit, and again later if the mail server is down.
    email_queue(templated_email(template="orders/email/order_links", context=context, to=[orders[0].email]))
    return len(orders)

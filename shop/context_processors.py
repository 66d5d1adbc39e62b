from django.conf import settings

from .cart import Cart


def shop(request):
    """Shop name and cart size for the header of every page."""
    count = Cart(request).count if hasattr(request, "session") else 0
    return {"shop_name": settings.SHOP_NAME, "cart_count": count}

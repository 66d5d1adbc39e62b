from django.conf import settings


def shop(request):
    """Shop name and cart size for the header of every page."""
    from .cart import Cart

    count = Cart(request).count if hasattr(request, "session") else 0
    return {"shop_name": getattr(settings, "SHOP_NAME", "Example Shop"), "cart_count": count}

"""Template helpers of the storefront: availability and paging links.
Money and VAT rates are formatted by `{% load money %}` (core.money)."""

from django import template

register = template.Library()

@register.filter
def availability(product) -> str:
    """What a customer reads about stock: "In stock", "Only 2 left", "Out of stock"."""
    if product.stock <= 0:
        return "Out of stock"
    if product.low_stock:
        return f"Only {product.stock} left"
    return "In stock"


@register.filter
def availability_class(product) -> str:
    if product.stock <= 0:
        return "stock-out"
    if product.low_stock:
        return "stock-low"
    return "stock-in"


@register.simple_tag(takes_context=True)
def query_replace(context, **kwargs) -> str:
    """The current query string with some parameters replaced (paging links keep the filter)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.simple_tag(takes_context=True)
def query_replace_param(context, name: str, value) -> str:
    """query_replace for a parameter whose name is in a variable (a page of one list among several)."""
    return query_replace(context, **{name: value})

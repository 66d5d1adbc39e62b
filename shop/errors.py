"""The 500 page: in the shop's look, rendered without the request's context
processors (the failure may be the database itself, which they read)."""

from django.conf import settings
from django.http import HttpResponseServerError
from django.template import loader


def server_error(request):
    context = {"shop_name": settings.SHOP_NAME, "cart_count": 0}
    return HttpResponseServerError(loader.get_template("500.html").render(context))

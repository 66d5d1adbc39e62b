from django.urls import path
from django.views.generic import RedirectView

from . import order_views as views
from .order_find import order_find

app_name = "orders"

urlpatterns = [
    path("find/", order_find, name="find"),
    path("<uuid:reference>/", views.order_detail, name="detail"),
    # The status the page polls is the API's; this older address leads there.
    path("<uuid:reference>/status.json", RedirectView.as_view(pattern_name="api:order-status", permanent=True),
         name="status"),
    path("<uuid:reference>/status/stream/", views.order_status_stream, name="status_stream"),
    path("<uuid:reference>/pay/", views.order_pay, name="pay"),
    path("<uuid:reference>/cancel/", views.order_cancel, name="cancel"),
    # Stripe's cancel return: shows the order page (pay now or cancel), changes nothing.
    path("<uuid:reference>/cancelled/", views.checkout_cancelled, name="checkout_cancelled"),
]

from django.urls import path

from . import order_views as views

app_name = "orders"

urlpatterns = [
    path("<uuid:reference>/", views.order_detail, name="detail"),
    path("<uuid:reference>/status.json", views.order_status, name="status"),
    path("<uuid:reference>/cancelled/", views.checkout_cancelled, name="checkout_cancelled"),
]

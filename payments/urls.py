from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    # Registered at Stripe by `manage.py stripe_webhook_register`, one uuid per endpoint.
    path("webhook/<uuid:uuid>/", views.stripe_webhook, name="stripe_webhook"),
]

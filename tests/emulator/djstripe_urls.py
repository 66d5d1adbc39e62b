"""dj-stripe's own webhook view, routed only for the tests that check the
emulator against dj-stripe (the shop routes its inbox instead, see config.urls)."""

from django.urls import include, path

urlpatterns = [path("stripe/", include("djstripe.urls", namespace="djstripe"))]

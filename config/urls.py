from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # dj-stripe's webhook view: /stripe/webhook/<uuid>/ verifies the signature,
    # stores the event, mirrors the objects and fires our receivers.
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("orders/", include("shop.order_urls")),
    path("documents/", include("billing.urls")),
    path("accounting/", include("accounting.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("subscriptions.urls")),
    path("", include("shop.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)

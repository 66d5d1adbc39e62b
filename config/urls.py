from django.conf import settings
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path

from shop.auth_views import PasswordResetConfirmView

urlpatterns = [
    # The staff dashboard, linked first from the admin index.
    path("admin/dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    # The password reset link also lifts a login lockout of its account.
    path("accounts/reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The webhook inbox: /stripe/webhook/<uuid>/ verifies the signature, stores
    # the event once and enqueues its processing (payments.views). dj-stripe's
    # own view is not routed: it processes in the request and, with DEBUG,
    # takes a secret from a request header.
    path("stripe/", include("payments.urls")),
    path("orders/", include("shop.order_urls")),
    path("documents/", include("billing.urls")),
    path("accounting/", include("accounting.urls")),
    # The REST API (/api/v1/), its OpenAPI schema (/api/schema/) and documentation (/api/docs/).
    path("api/", include("api.urls")),
    path("", include("subscriptions.urls")),
    path("", include("shop.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's,
    # a PDF opened in a tab): the shop's icon, not a 404. Not a permanent
    # redirect: in production the icon's URL carries its content's hash.
    path("favicon.ico", lambda request: HttpResponseRedirect(static_url("shop/img/favicon.svg"))),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)

# Error pages in the shop's look (templates/400.html, 403.html, 404.html, 500.html).
handler500 = "shop.errors.server_error"

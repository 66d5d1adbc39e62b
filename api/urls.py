"""/api/: the versioned endpoints, the OpenAPI schema and its documentation page."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import views
from .errors import NotFoundView

app_name = "api"

router = DefaultRouter()
router.register("orders", views.OrderViewSet, basename="order")
router.register("documents", views.DocumentViewSet, basename="document")
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")
router.register("products", views.ProductViewSet, basename="product")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("v1/plans/", views.PlanListView.as_view(), name="plan-list"),
    path("v1/", include(router.urls)),
    # Anything else under /api/ answers a JSON 404, not the site's HTML page.
    re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="not-found"),
]

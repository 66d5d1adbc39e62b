"""The API's read endpoints (/api/v1/). Who sees what is decided by the same
selectors as the pages: a customer their own orders, documents and
subscriptions; staff every order and subscription; staff and accountants
every document. Anything else answers 404, as if it did not exist."""

import uuid

from django.db.models import Prefetch
from django.http import FileResponse
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from billing.selectors import document_list_for_viewer
from billing.services import document_pdf_ensure
from catalog.models import Product
from core.signed_links import LinkState, request_link_state
from orders.models import OrderLine
from orders.selectors import order_get_by_reference, order_get_for_viewer, order_list_for_viewer, order_status
from payments.models import Payment, Refund
from subscriptions.selectors import (
    plan_list,
    subscription_documents,
    subscription_item,
    subscription_list_for_viewer,
    subscription_period_end,
    subscription_summaries,
)

from . import docs
from .filters import DocumentFilter, OrderFilter, ProductFilter, SubscriptionFilter
from .renderers import PDFRenderer
from .serializers import (
    DocumentSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    PlanSerializer,
    ProductSerializer,
    SubscriptionSerializer,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@docs.order_views
class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    lookup_field = "reference"
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return (
            order_list_for_viewer(user=self.request.user)
            .prefetch_related(
                Prefetch("lines", queryset=OrderLine.objects.order_by("pk")),
                Prefetch("payments", queryset=Payment.objects.order_by("-created_at", "-pk")),
                Prefetch("refunds", queryset=Refund.objects.select_related("credit_note").order_by("created_at", "pk")),
                "documents",
            )
            .order_by("-created_at", "-pk")
        )

    def get_permissions(self):
        if self.action == "status":
            # As the order page: a guest's order opens with its reference alone.
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        if self.action == "status":
            # The order page polls every few seconds: its own, larger budget.
            self.throttle_scope = "order_status"
            return [ScopedRateThrottle()]
        return super().get_throttles()

    @action(detail=True, methods=["get"], url_path="status", filter_backends=[], pagination_class=None)
    def status(self, request, reference=None):
        order = order_get_for_viewer(reference=uuid.UUID(reference), user=request.user)
        if order is None:
            # The order page opened by a signed link (core.signed_links) polls
            # with that link: it opens this order's status too, nothing else.
            order = order_get_by_reference(reference=uuid.UUID(reference))
            if order is None or request_link_state(request, order.get_absolute_url()) != LinkState.VALID:
                raise NotFound("No such order.")
        response = Response(OrderStatusSerializer(order_status(order)).data)
        response["Cache-Control"] = "no-store"
        return response


@docs.document_views
class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return (
            document_list_for_viewer(user=self.request.user)
            .select_related("order", "related_document")
            .order_by("-issued_at", "-pk")
        )

    @action(detail=True, methods=["get"], url_path="pdf", renderer_classes=[JSONRenderer, PDFRenderer],
            filter_backends=[], pagination_class=None)
    def pdf(self, request, pk=None):
        document = self.get_object()
        # Rendered now if it is not yet (a receipt's first download), as the
        # download page does.
        document = document_pdf_ensure(document=document)
        response = FileResponse(document.pdf.open("rb"), as_attachment=True, filename=document.pdf_filename,
                                content_type="application/pdf")
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


@docs.subscription_views
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    lookup_value_regex = r"sub_[A-Za-z0-9_]{1,250}"

    def get_queryset(self):
        return subscription_list_for_viewer(user=self.request.user).order_by("-created", "-djstripe_id")

    def _data(self, subscriptions) -> list[dict]:
        subscriptions = list(subscriptions)
        documents = subscription_documents(subscription_ids=[s.id for s in subscriptions])
        rows = []
        for summary in subscription_summaries(subscriptions):
            subscription = summary.subscription
            price = summary.price
            customer = subscription.customer
            item = subscription_item(subscription)
            price_data = item.get("price") or {}
            product = price_data.get("product", "") if isinstance(price_data, dict) else ""
            rows.append({
                "id": subscription.id,
                "status": summary.status,
                "status_display": summary.status_label,
                "customer_email": (customer.subscriber.email if customer.subscriber_id else "") or customer.email or "",
                "plan": {
                    "product_id": (product.get("id", "") if isinstance(product, dict) else product) or "",
                    "name": summary.plan_name,
                    "price_id": price.id if price else "",
                    "interval": price.interval if price else "",
                    "amount": price.amount if price else None,
                    "currency": price.currency if price else "",
                },
                "quantity": int(item.get("quantity") or 1),
                "started_at": subscription.created,
                "current_period_end": subscription_period_end(subscription),
                "renews_at": summary.renews_on,
                "renewal_amount": summary.renewal_amount,
                "cancel_at_period_end": summary.cancel_at_period_end,
                "ends_at": summary.ends_on,
                "trial_end": summary.trial_end,
                "documents": documents.get(subscription.id, []),
            })
        return rows

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(self._data(page), many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        subscription = self.get_object()
        return Response(self.get_serializer(self._data([subscription])[0]).data)


@docs.product_views
class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_value_regex = r"[0-9]{1,18}"
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return (
            Product.objects.active()
            .select_related("category", "tax_rate")
            .order_by("category_position", "name", "pk")
        )


class PlanListView(APIView):
    permission_classes = [permissions.AllowAny]

    @docs.plan_list
    def get(self, request):
        return Response(PlanSerializer(plan_list(), many=True).data)

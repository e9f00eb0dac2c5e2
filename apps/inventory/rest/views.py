from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api.openapi import NOT_AUTHENTICATED, PERMISSION_DENIED, VALIDATION_ERROR, problem
from apps.common.api.permissions import IsStaff, StaffWritesMixin, is_staff
from apps.inventory import selectors, services
from apps.inventory.rest.serializers import (
    AdjustmentInputSerializer,
    AdjustmentSerializer,
    LowStockSerializer,
    PublicStockSerializer,
    StaffStockSerializer,
    StockSerializer,
    ThresholdInputSerializer,
)

INSUFFICIENT_STOCK = problem("`insufficient_stock`: `on_hand + delta` would fall below `reserved` or 0.")


class StockView(StaffWritesMixin, APIView):
    @extend_schema(
        summary="Available units of a product",
        description="Anyone gets `{product_id, available}`; staff also get `on_hand`, `reserved` and "
                    "`low_stock_threshold`. A product inventory has never seen answers zeros.",
        responses={200: StockSerializer},
    )
    def get(self, request, product_id: UUID):
        serializer = StaffStockSerializer if is_staff(request) else PublicStockSerializer
        return Response(serializer(selectors.stock_record(product_id)).data)

    @extend_schema(
        summary="Set a product's low-stock threshold (staff)",
        description="The low-stock list and alert show the product once `available` is at or under it.",
        request=ThresholdInputSerializer,
        responses={200: StaffStockSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED,
                   403: PERMISSION_DENIED},
    )
    def patch(self, request, product_id: UUID):
        data = _validated(ThresholdInputSerializer, request)
        record = services.set_low_stock_threshold(product_id, data["low_stock_threshold"])
        return Response(StaffStockSerializer(record).data)


class AdjustmentsView(generics.ListAPIView):
    permission_classes = [IsStaff]
    serializer_class = AdjustmentSerializer

    @property
    def throttle_scope(self) -> str | None:
        """Adjustments are limited per staff user; reading the ledger is not."""
        return "adjustment_staff" if self.request.method == "POST" else None

    def get_queryset(self):
        return selectors.ledger(self.kwargs["product_id"])

    @extend_schema(
        summary="A product's stock ledger (staff)",
        description="Every change of `on_hand`, newest first: staff adjustments, sales, refunds, receipts.",
        responses={200: AdjustmentSerializer(many=True), 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED,
                   403: PERMISSION_DENIED},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Adjust a product's units on hand (staff)",
        description="A positive `delta` receives units, a negative one writes them off; the ledger "
                    "records who, why and the resulting `on_hand`.",
        request=AdjustmentInputSerializer,
        responses={201: AdjustmentSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED,
                   403: PERMISSION_DENIED, 409: INSUFFICIENT_STOCK},
    )
    def post(self, request, product_id: UUID):
        data = _validated(AdjustmentInputSerializer, request)
        entry = services.adjust_stock(product_id, data["delta"], data["reason"], actor_id=request.user.id,
                                      actor_email=request.auth.get("email") or "")
        return Response(AdjustmentSerializer(entry).data, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Products at or under their low-stock threshold (staff)",
    description="Stock records whose `available` is at or under `low_stock_threshold`. Every active "
                "product has a record from its creation (through `products.product_changed`), so "
                "products that never received stock are listed too; deactivated products are not.",
    responses={200: LowStockSerializer(many=True), 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED,
               403: PERMISSION_DENIED},
)
class LowStockView(generics.ListAPIView):
    permission_classes = [IsStaff]
    serializer_class = LowStockSerializer

    def get_queryset(self):
        return selectors.low_stock()


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import ServiceUnavailable
from apps.common.openapi import NOT_AUTHENTICATED, PERMISSION_DENIED, VALIDATION_ERROR, problem
from apps.common.permissions import IsStaff
from apps.common.problems import PROBLEM_CONTENT_TYPE
from apps.payments import idempotency, selectors, services
from apps.payments.errors import IdempotencyKeyRequired
from apps.payments.rest.serializers import (
    PaymentListQuerySerializer,
    PaymentSerializer,
    PurchaseInputSerializer,
    RefundInputSerializer,
)
from apps.users import interface as users

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
NOT_FOUND = problem("`not_found`: no such payment, or somebody else's.")


def _email(request) -> str:
    """The signed-in user's e-mail: tokens carry it; one issued before they did costs a call. It
    is a record for staff, so a purchase does not fail for want of it."""
    if email := request.auth.get("email"):
        return email
    try:
        return users.get_user(UUID(request.user.id)).email
    except (users.UserNotFound, ServiceUnavailable):
        return ""


def _actor(request) -> services.Actor:
    return services.Actor(id=UUID(request.user.id), email=_email(request))


def _render_payment(payment) -> dict:
    return PaymentSerializer(payment).data


def _idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER, "")
    if not key.strip():
        raise IdempotencyKeyRequired()
    if len(key) > idempotency.MAX_KEY_LENGTH:
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: [
            f"Ensure this header has no more than {idempotency.MAX_KEY_LENGTH} characters."]})
    return key


class PaymentListCreateView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = PaymentSerializer

    @extend_schema(
        summary="List payments",
        description="A shopper's own payments, newest first; staff see everyone's and may filter by user.",
        parameters=[PaymentListQuerySerializer],
        responses={200: PaymentSerializer(many=True), 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED},
    )
    def get(self, request):
        query = PaymentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payments = selectors.payments_visible_to(
            UUID(request.user.id), request.user.is_staff,
            owner_id=query.validated_data.get("user_id"), status=query.validated_data.get("status"),
        )
        page = self.paginate_queryset(payments)
        return self.get_paginated_response(PaymentSerializer(page, many=True).data)

    @extend_schema(
        summary="Purchase: price, reserve stock, charge",
        description=(
            "Prices every item from the catalogue, reserves all their stock in one step, charges "
            "the payment method and commits the payment with a `payments.purchase_completed` "
            "event. Idempotent per user and `Idempotency-Key`: repeating a request replays its "
            "first response (header `Idempotent-Replayed: true`), failures included, and never "
            "charges twice. Keys expire after 24 hours."
        ),
        parameters=[OpenApiParameter(
            IDEMPOTENCY_KEY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
            description="1 to 255 characters, unique per purchase; scoped to the user.",
        )],
        request=PurchaseInputSerializer,
        responses={
            201: PaymentSerializer,
            400: problem("`idempotency_key_required`; `validation_error` (`errors` names each field); "
                         "`invalid_product` (`product_ids`: unknown or inactive); `mixed_currencies`."),
            401: NOT_AUTHENTICATED,
            402: problem("`payment_declined`: the payment method was declined (`payment_id` names the "
                         "failed payment; the reservation was released)."),
            409: problem("`insufficient_stock` (`product_id`, `available`: nothing was reserved or "
                         "charged); `idempotency_key_in_progress`: the first request with this key "
                         "is still running; `reservation_expired`."),
            422: problem("`idempotency_key_reused`: the key was used with a different request."),
            502: problem("`payment_provider_error`: the provider failed; nothing was charged."),
            503: problem("`service_unavailable`: a dependency could not be reached; nothing was "
                         "charged and the key may be retried."),
        },
    )
    def post(self, request):
        key = _idempotency_key(request)
        body = PurchaseInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.purchase(
            user_id=UUID(request.user.id),
            customer_email=_email(request),
            idempotency_key=key,
            fingerprint=idempotency.request_fingerprint(request.method, request.path, request.data),
            lines=[services.PurchaseLine(item["product_id"], item["quantity"])
                   for item in body.validated_data["items"]],
            token=body.validated_data["payment_method"]["token"],
            render=_render_payment,
        )
        status = result.response.status
        return HttpResponse(
            result.response.content, status=status,
            content_type=PROBLEM_CONTENT_TYPE if status >= 400 else "application/json",
            headers={"Idempotent-Replayed": "true"} if result.replayed else None,
        )


class PaymentDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="One payment", responses={200: PaymentSerializer, 401: NOT_AUTHENTICATED,
                                                      404: NOT_FOUND})
    def get(self, request, payment_id):
        payment = selectors.payment_visible_to(payment_id, UUID(request.user.id), request.user.is_staff)
        return Response(PaymentSerializer(payment).data)


class PaymentRefundView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Refund a payment in full",
        description="With `restock`, the units go back on hand through the `payments.refunded` event.",
        request=RefundInputSerializer,
        responses={
            200: PaymentSerializer, 400: VALIDATION_ERROR, 401: NOT_AUTHENTICATED, 403: PERMISSION_DENIED,
            404: NOT_FOUND,
            409: problem("`already_refunded`; `not_refundable`: only a succeeded payment can be refunded."),
            502: problem("`payment_provider_error`: the provider failed; nothing was refunded."),
        },
    )
    def post(self, request, payment_id):
        body = RefundInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment = services.refund_payment(payment_id, restock=body.validated_data["restock"],
                                          actor=_actor(request))
        return Response(PaymentSerializer(payment).data)

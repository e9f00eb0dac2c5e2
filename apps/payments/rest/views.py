from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api.errors import NotFound, ServiceUnavailable
from apps.common.api.openapi import NOT_AUTHENTICATED, PERMISSION_DENIED, VALIDATION_ERROR, problem
from apps.common.api.parsers import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE
from apps.common.api.permissions import IsStaff
from apps.common.api.problems import PROBLEM_CONTENT_TYPE
from apps.payments import idempotency, selectors, services, webhooks
from apps.payments.errors import IdempotencyKeyRequired
from apps.payments.rest.serializers import (
    PaymentListQuerySerializer,
    PaymentSerializer,
    PendingPaymentSerializer,
    PurchaseInputSerializer,
    RefundInputSerializer,
    render_payment,
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
    if CONTROL_CHARACTERS.search(key):
        raise ValidationError({IDEMPOTENCY_KEY_HEADER: [CONTROL_CHARACTERS_MESSAGE]})
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
            "charges twice. Keys expire after 24 hours. A payment method that needs the shopper's "
            "action (Stripe 3-D Secure) answers 202 with the payment `pending` and its `next_action`; "
            "the gateway's webhook completes it."
        ),
        parameters=[OpenApiParameter(
            IDEMPOTENCY_KEY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
            description="1 to 255 characters, unique per purchase; scoped to the user.",
        )],
        request=PurchaseInputSerializer,
        responses={
            201: PaymentSerializer,
            202: PendingPaymentSerializer,
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
            503: problem("`service_unavailable` (with `Retry-After`): a service or database could not "
                         "be reached; nothing was charged and the key may be retried at once. If only "
                         "the charge's outcome could not be recorded, the key answers 409 until the "
                         "payment is settled (within minutes), then replays its outcome."),
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
            render=render_payment,
        )
        status = result.response.status
        return HttpResponse(
            result.response.content, status=status,
            content_type=PROBLEM_CONTENT_TYPE if status >= 400 else "application/json",
            headers={"Idempotent-Replayed": "true"} if result.replayed else None,
        )


class PaymentDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="One payment", description="Its owner or staff; anybody else gets 404.",
                   responses={200: PaymentSerializer, 401: NOT_AUTHENTICATED,
                                                      404: NOT_FOUND})
    def get(self, request, payment_id):
        payment = selectors.payment_visible_to(payment_id, UUID(request.user.id), request.user.is_staff)
        return Response(PaymentSerializer(payment).data)


class PaymentRefundView(APIView):
    permission_classes = [IsStaff]
    throttle_scope = "refund_staff"

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


class PaymentWebhookView(APIView):
    """Signed deliveries from a payment gateway; the signature is the authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    receivers = {webhooks.STRIPE: webhooks.receive_stripe}

    @extend_schema(
        summary="A payment gateway's webhook",
        description=(
            "Stripe (`provider` = `stripe`) posts its events here, signed with the endpoint's secret "
            "(`STRIPE_WEBHOOK_SECRET`, header `Stripe-Signature`). Applied once per event id: "
            "`payment_intent.succeeded` and `payment_intent.payment_failed` complete or fail a "
            "pending payment, `charge.refunded` refunds it (without restock), "
            "`charge.dispute.created` marks it disputed; other events are accepted and ignored."
        ),
        parameters=[
            OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=[webhooks.STRIPE],
                             description="The gateway that sends the event."),
            OpenApiParameter("Stripe-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="`t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>'>` (Stripe)."),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: None,
            400: problem("`invalid_signature`: unsigned, tampered with, older than the tolerance "
                         "(5 minutes), or delivered before; nothing changed."),
            404: problem("`not_found`: no gateway of this name has webhooks."),
        },
    )
    def post(self, request, provider):
        receive = self.receivers.get(provider)
        if receive is None:
            raise NotFound("No payment gateway of this name has webhooks.")
        receive(request.body, request.headers.get("Stripe-Signature"))
        return HttpResponse(status=200)

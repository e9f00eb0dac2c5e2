from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.payments.errors import PaymentDeclined, PaymentProviderError
from apps.payments.models import SandboxCharge
from apps.payments.providers import get_provider
from apps.payments.providers.sandbox import SandboxProvider

pytestmark = pytest.mark.django_db(databases=["payments"])

AMOUNT = Decimal("19.99")


def test_the_default_provider_is_the_sandbox():
    assert isinstance(get_provider(), SandboxProvider)


def test_an_unknown_provider_name_is_refused_naming_the_setting(settings):
    settings.PAYMENT_PROVIDER = "paypalish"
    with pytest.raises(ImproperlyConfigured, match="PAYMENT_PROVIDER"):
        get_provider()


def test_tok_visa_charges_once_per_idempotency_key():
    provider = SandboxProvider()
    first = provider.charge(AMOUNT, "USD", "tok_visa", idempotency_key="payment-1")
    again = provider.charge(AMOUNT, "USD", "tok_visa", idempotency_key="payment-1")
    other = provider.charge(AMOUNT, "USD", "tok_visa", idempotency_key="payment-2")
    assert first == again
    assert other.id != first.id
    assert (first.amount, first.currency) == (AMOUNT, "USD")
    assert SandboxCharge.objects.filter(status="succeeded").count() == 2


def test_a_declined_card_is_recorded_as_a_failed_charge():
    with pytest.raises(PaymentDeclined) as declined:
        SandboxProvider().charge(AMOUNT, "USD", "tok_chargeDeclined", idempotency_key="payment-1")
    assert declined.value.extra == {"decline_code": "card_declined"}
    assert list(SandboxCharge.objects.values_list("status", flat=True)) == ["failed"]


def test_an_unknown_token_is_declined():
    with pytest.raises(PaymentDeclined) as declined:
        SandboxProvider().charge(AMOUNT, "USD", "tok_nonsense", idempotency_key="payment-1")
    assert declined.value.extra == {"decline_code": "invalid_token"}


def test_a_processing_error_charges_nothing():
    with pytest.raises(PaymentProviderError):
        SandboxProvider().charge(AMOUNT, "USD", "tok_processingError", idempotency_key="payment-1")
    assert not SandboxCharge.objects.exists()


def test_reusing_a_provider_key_with_another_amount_fails():
    provider = SandboxProvider()
    provider.charge(AMOUNT, "USD", "tok_visa", idempotency_key="payment-1")
    with pytest.raises(PaymentProviderError, match="reused"):
        provider.charge(Decimal("1.00"), "USD", "tok_visa", idempotency_key="payment-1")


def test_refund_is_in_full_and_repeatable():
    provider = SandboxProvider()
    charge = provider.charge(AMOUNT, "USD", "tok_visa", idempotency_key="payment-1")
    assert provider.refund(charge.id, AMOUNT) == provider.refund(charge.id, AMOUNT)
    assert SandboxCharge.objects.get(pk=charge.id).amount_refunded == AMOUNT
    with pytest.raises(PaymentProviderError, match="in full"):
        provider.refund(charge.id, Decimal("1.00"))
    with pytest.raises(PaymentProviderError, match="no succeeded charge"):
        provider.refund("ch_unknown", AMOUNT)

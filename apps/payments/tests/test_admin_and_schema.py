"""The payments admin (filters, search, the refund action) and the OpenAPI document."""

import pytest

from apps.payments.models import OutboxEvent, Payment
from tests.support.clients import client_for
from tests.support.purchases import PURCHASE_DATABASES, purchase

ADMIN_DATABASES = [*PURCHASE_DATABASES, "users"]


@pytest.mark.django_db(databases=ADMIN_DATABASES)
def test_the_admin_filters_and_searches_by_email_id_and_charge(admin_client, stocked_product):
    product = stocked_product(stock=10, name="Watering can")
    paid = purchase(client_for(email="ann@example.com"), [(product, 1)]).json()
    declined = purchase(client_for(email="ann@example.com"), [(product, 1)],
                        token="tok_chargeDeclined").json()
    other = purchase(client_for(email="bob@example.com"), [(product, 1)]).json()
    charge_id = Payment.objects.get(pk=paid["id"]).provider_charge_id

    listing = admin_client.get("/admin/payments/payment/?status__exact=succeeded")
    assert listing.status_code == 200
    assert paid["id"] in listing.text and other["id"] in listing.text
    assert declined["payment_id"] not in listing.text
    for term in ["ann@example", paid["id"], charge_id, paid["user_id"]]:
        searched = admin_client.get("/admin/payments/payment/", {"q": term, "status__exact": "succeeded"})
        assert paid["id"] in searched.text and other["id"] not in searched.text, term
    page = admin_client.get(f"/admin/payments/payment/{paid['id']}/change/")
    assert page.status_code == 200
    assert "Watering can" in page.text and "ann@example.com" in page.text
    assert 'name="_save"' not in page.text  # a read-only page
    assert f"/admin/payments/payment/{paid['id']}/refund/" in page.text


@pytest.mark.django_db(databases=ADMIN_DATABASES)
def test_a_refund_is_confirmed_first_and_records_its_actor(admin_client, stocked_product):
    product = stocked_product(stock=10, name="Watering can")
    paid = purchase(client_for(), [(product, 2)]).json()
    declined = purchase(client_for(), [(product, 1)], token="tok_chargeDeclined").json()
    selected = {"action": "refund_selected", "_selected_action": [paid["id"], declined["payment_id"]]}

    confirmation = admin_client.post("/admin/payments/payment/", selected)
    assert confirmation.status_code == 200
    assert "Watering can" in confirmation.text and "39.98" in confirmation.text
    assert 'name="restock"' in confirmation.text
    assert Payment.objects.get(pk=paid["id"]).status == "succeeded"  # nothing happened yet

    response = admin_client.post("/admin/payments/payment/", {**selected, "confirm": "yes", "restock": "1"},
                                 follow=True)
    assert response.status_code == 200
    refunded = Payment.objects.get(pk=paid["id"])
    assert (refunded.status, refunded.refunded_by_email) == ("refunded", "admin@example.com")
    assert Payment.objects.get(pk=declined["payment_id"]).status == "failed"
    assert "Only a succeeded payment can be refunded" in response.text
    data = OutboxEvent.objects.get(type="payments.refunded").payload["data"]
    assert (data["restock"], data["actor_email"], data["actor_id"]) == (
        True, "admin@example.com", str(refunded.refunded_by_id))


@pytest.mark.django_db(databases=ADMIN_DATABASES)
def test_the_refund_button_leads_to_the_same_confirmation(admin_client, stocked_product):
    paid = purchase(client_for(), [(stocked_product(stock=3), 1)]).json()
    url = f"/admin/payments/payment/{paid['id']}/refund/"
    assert "Refund" in admin_client.get(url).text
    response = admin_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert response.url.endswith(f"/admin/payments/payment/{paid['id']}/change/")
    assert Payment.objects.get(pk=paid["id"]).status == "refunded"
    assert OutboxEvent.objects.get(type="payments.refunded").payload["data"]["restock"] is False


@pytest.mark.django_db(databases=PURCHASE_DATABASES)
def test_the_openapi_document_describes_the_purchase(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/payments"]["post"]
    header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["required"]) == ("header", True)
    assert {"201", "400", "401", "402", "409", "422", "502", "503"} <= set(create["responses"])
    assert "idempotency_key_in_progress" in create["responses"]["409"]["description"]
    refund = schema["paths"]["/api/v1/payments/{payment_id}/refund"]["post"]
    assert {"200", "403", "404", "409"} <= set(refund["responses"])
    assert "user_id" in {p["name"] for p in schema["paths"]["/api/v1/payments"]["get"]["parameters"]}

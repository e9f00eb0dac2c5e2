"""The payments admin (filters, search, the refund action) and the OpenAPI document."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.payments.models import OutboxEvent, Payment
from apps.payments.tests.conftest import PURCHASE_DATABASES, client_for, purchase

ADMIN_DATABASES = [*PURCHASE_DATABASES, "users"]


@pytest.fixture
def admin_client():
    user = get_user_model().objects.db_manager("users").create_superuser("admin@example.com", "pw-123456!")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(databases=ADMIN_DATABASES)
def test_the_admin_filters_searches_and_refunds_through_the_service(admin_client, make_product):
    product = make_product(stock=10)
    shopper = client_for()
    paid = purchase(shopper, [(product, 1)]).json()
    declined = purchase(shopper, [(product, 1)], token="tok_chargeDeclined").json()
    other = purchase(client_for(), [(product, 1)]).json()

    listing = admin_client.get("/admin/payments/payment/?status__exact=succeeded")
    assert listing.status_code == 200
    assert paid["id"] in listing.text and other["id"] in listing.text
    assert declined["payment_id"] not in listing.text
    searched = admin_client.get(f"/admin/payments/payment/?q={paid['user_id']}")
    assert paid["id"] in searched.text and other["id"] not in searched.text
    assert admin_client.get(f"/admin/payments/payment/{paid['id']}/change/").status_code == 200

    response = admin_client.post("/admin/payments/payment/", {
        "action": "refund_and_restock", "_selected_action": [paid["id"], declined["payment_id"]],
    }, follow=True)

    assert response.status_code == 200
    assert Payment.objects.get(pk=paid["id"]).status == "refunded"
    assert Payment.objects.get(pk=declined["payment_id"]).status == "failed"
    assert "Only a succeeded payment can be refunded" in response.text
    assert OutboxEvent.objects.get(type="payments.refunded").payload["data"]["restock"] is True


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

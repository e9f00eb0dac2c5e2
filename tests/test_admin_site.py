"""The admin reads as the shop's back office: its name, the business first, the plumbing under
"Operations", read-only."""

import pytest
from django.contrib import admin

import config.urls  # noqa: F401  (registers the admin of every app this process serves)
from tests.support.users import StaffFactory


@pytest.mark.django_db(databases="__all__")
def test_the_index_names_the_shop_and_groups_the_plumbing_under_operations(client, settings):
    settings.SHOP_NAME = "Garden Supplies"
    client.force_login(StaffFactory(is_superuser=True))
    response = client.get("/admin/")
    html = response.content.decode()

    assert "<title>Back office | Garden Supplies</title>" in html
    assert 'href="/api/docs/"' in html  # "View site"
    sections = [app["name"] for app in response.context["app_list"]]
    assert sections == ["Products", "Inventory", "Payments", "Users", "Operations"]
    [operations] = [app for app in response.context["app_list"] if app["name"] == "Operations"]
    assert sorted(model["name"] for model in operations["models"]) == [
        "Dead letters", "Inventory: Outbox events", "Inventory: Processed events",
        "Payments: Idempotency keys", "Payments: Outbox events", "Products: Outbox events",
        "Products: Processed events",
    ]
    assert all(model["view_only"] for model in operations["models"])
    assert "Shared kernel" not in html


@pytest.mark.django_db(databases="__all__")
def test_nothing_with_history_can_be_hard_deleted(rf):
    request = rf.get("/admin/")
    request.user = StaffFactory(is_superuser=True)
    undeletable = {"users.User", "payments.Payment", "inventory.StockRecord", "inventory.LedgerEntry"}
    for model, model_admin in admin.site._registry.items():
        if model._meta.label in undeletable:
            assert not model_admin.has_delete_permission(request), model._meta.label

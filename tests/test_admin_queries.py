"""Every registered admin list page costs as many queries for 20 rows as for 3: no N+1.

The cases come from `admin.site._registry`, so an admin added later is covered without touching
this file. Rows are made by model-bakery; a model whose check constraints its random values
would break names its values in CONSTRAINED_VALUES.
"""

from contextlib import ExitStack, contextmanager

import pytest
from django.contrib import admin
from django.db import connections, router
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from model_bakery import baker

import config.urls  # noqa: F401  (registers the admin of every app this process serves)
from tests.support.users import StaffFactory

FEW, MANY = 3, 20
CONSTRAINED_VALUES = {
    "inventory.stockrecord": {"on_hand": 10, "reserved": 2, "low_stock_threshold": 1},
    "inventory.reservationline": {"quantity": 1},
    "payments.paymentitem": {"quantity": 1},
}


@contextmanager
def queries_on_every_database():
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections]
        yield captured


def make_rows(model, count):
    baker.make(model, _quantity=count, _using=router.db_for_write(model),
               **CONSTRAINED_VALUES.get(model._meta.label_lower, {}))


def changelist(client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with queries_on_every_database() as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.context["cl"], sum(len(capture) for capture in captured)


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
def test_the_list_page_takes_the_same_queries_for_many_rows(client, model):
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    existing = model._default_manager.count()  # the signed-in user, for the user list

    make_rows(model, FEW)
    few_rows, few_queries = changelist(client, model)
    make_rows(model, MANY - FEW)
    many_rows, many_queries = changelist(client, model)

    assert len(few_rows.result_list) == existing + FEW
    assert len(many_rows.result_list) == existing + MANY
    assert many_queries == few_queries

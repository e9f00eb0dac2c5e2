"""The answers of stripe_fixtures/ have the shape of the API version our SDK speaks: each says
where it comes from, and each of its fields is a field of the SDK's type for it (stripe-python's
types are generated from Stripe's OpenAPI document of the version it pins, `stripe.api_version`).
A fixture written for another version, or a field invented, fails here."""

import json

import pytest
import stripe

from apps.payments.tests.stripe_server import FIXTURES, fixture

# The object each fixture answers, by file name; errors answer {"error": <ErrorObject>}.
OBJECTS = {
    "payment_intent": stripe.PaymentIntent,
    "charge": stripe.Charge,
    "refund": stripe.Refund,
    "dispute": stripe.Dispute,
    "event": stripe.Event,
    "next_action_3ds": stripe.PaymentIntent.NextAction,
    "search_result": stripe.SearchResultObject,
}
ERRORS = ["card_declined", "charge_already_refunded", "payment_intent_unexpected_state",
          "idempotency_in_progress", "api_error"]
# A list's envelope fields (https://docs.stripe.com/api/pagination/search) the SDK keeps untyped.
LIST_ENVELOPE = {"object", "url"}


def fields_of(stripe_type) -> set[str]:
    fields = {name for cls in stripe_type.__mro__ for name in getattr(cls, "__annotations__", {})
              if not name.startswith("_")}
    return fields | LIST_ENVELOPE if issubclass(stripe_type, stripe.SearchResultObject) else fields


def test_every_fixture_is_checked_and_says_where_its_shape_comes_from():
    files = sorted(path.stem for path in FIXTURES.glob("*.json"))
    assert files == sorted([*OBJECTS, *ERRORS])
    for name in files:
        source = json.loads((FIXTURES / f"{name}.json").read_text())["_source"]
        assert "https://docs.stripe.com/" in source, name
        assert f"Stripe API version {stripe.api_version} (stripe=={stripe.VERSION}'s)" in source, name


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_an_object_has_only_fields_of_its_type_in_the_pinned_api_version(name):
    document = fixture(name)
    assert set(document) - fields_of(OBJECTS[name]) == set()
    if "object" in document and OBJECTS[name] is not stripe.PaymentIntent.NextAction:
        assert document["object"] == OBJECTS[name].OBJECT_NAME


@pytest.mark.parametrize("name", ERRORS)
def test_an_error_has_only_fields_of_stripes_error_object(name):
    document = fixture(name)
    assert set(document) == {"error"}
    assert set(document["error"]) - fields_of(stripe.ErrorObject) == set()
    assert document["error"]["type"] in {"card_error", "invalid_request_error", "idempotency_error",
                                         "api_error"}


def test_the_event_names_the_api_version_it_renders():
    assert fixture("event")["api_version"] == stripe.api_version

"""The cached catalogue at the speed of the framework: no Redis round trip of its own for a hit the
process holds (bumps reach it by pub/sub), stored bytes with a strong ETag, 304 on revalidation,
`Cache-Control: public` for anonymous readers, a key built from validated parameters only, and
uncached pages that neither count the table again nor fetch columns they do not render."""

import uuid
from contextlib import contextmanager

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connections

from apps.products.catalogue_cache import MAX_AGE_SECONDS

pytestmark = pytest.mark.django_db(databases=["products"], transaction=True)  # writes invalidate on commit

LIST = "/api/v1/products?ordering=name"


@contextmanager
def redis_round_trips(marker_prefix):
    """The commands (round trips; not those a Lua script runs) this run sends to Redis, watched
    with MONITOR and told apart from other clients' by this run's key prefix."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    seen = []
    with client.monitor() as monitor:
        yield seen
        end = f"{marker_prefix}:end:{uuid.uuid4()}"
        client.get(end)
        for command in monitor.listen():
            if end in command["command"]:
                break
            if marker_prefix in command["command"] and command.get("client_type") != "lua":
                seen.append(command["command"])


def catalogue_commands(commands):
    return [command for command in commands if ":products:" in command]


def test_a_repeated_hit_is_served_from_the_process_with_no_round_trip(
        api_client, make_product, django_assert_num_queries):
    product = make_product(name="Mug")
    for path in (LIST, f"/api/v1/products/{product.id}"):
        first = api_client.get(path)  # fills the cache; the process subscribes to the bumps
        api_client.get(path)  # the subscription confirmed: the entry is kept in the process
        with redis_round_trips(settings.CACHES["default"]["KEY_PREFIX"]) as commands, \
                django_assert_num_queries(0, connection=connections["products"]):
            again = api_client.get(path)
        assert again.content == first.content
        # Only the anonymous rate limit's counter: SET NX, INCR and PTTL pipelined in one
        # MULTI/EXEC, the request's one round trip.
        assert [command.split()[0] for command in commands] == ["SET", "INCRBY", "PTTL"], commands
        assert catalogue_commands(commands) == []


def test_matching_if_none_match_is_304_and_anonymous_responses_are_public(api_client, make_product):
    product = make_product(name="Mug")
    for path in (LIST, f"/api/v1/products/{product.id}"):
        response = api_client.get(path)
        etag = response["ETag"]
        assert etag.startswith('"') and etag.endswith('"')  # strong
        assert response["Cache-Control"] == f"public, max-age={MAX_AGE_SECONDS}"
        assert response["Vary"] == "Authorization"
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            revalidated = api_client.get(path, HTTP_IF_NONE_MATCH=header)
            assert (revalidated.status_code, revalidated.content) == (304, b"")
            assert revalidated["ETag"] == etag
        assert api_client.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_a_write_changes_the_etag(api_client, staff_client, make_product):
    product = make_product(name="Mug")
    etag = api_client.get(LIST)["ETag"]
    staff_client.patch(f"/api/v1/products/{product.id}", {"price": "4.20"}, format="json")
    response = api_client.get(LIST, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_responses_to_authenticated_readers_are_no_store(shopper_client, staff_client, make_product):
    product = make_product()
    for client in (shopper_client, staff_client):
        for path in (LIST, f"/api/v1/products/{product.id}"):
            assert client.get(path)["Cache-Control"] == "no-store"


def test_junk_and_spelling_variants_do_not_create_keys(api_client, make_product):
    make_product(price="12.50")
    api_client.get("/api/v1/products?min_price=10&in_stock=true")
    keys = set(cache.keys("products:*"))
    for variant in ("min_price=10.00&in_stock=True", "in_stock=1&min_price=10.0",
                    "min_price=10&in_stock=true&utm=1", "min_price=10&in_stock=true&page=1",
                    "min_price=10&in_stock=true&page_size=20", *(f"min_price=10&in_stock=true&x{n}=y"
                                                                 for n in range(50))):
        assert api_client.get(f"/api/v1/products?{variant}").status_code == 200
    assert set(cache.keys("products:*")) == keys
    # Bad values are 400 and stored nowhere.
    assert api_client.get("/api/v1/products?min_price=abc").status_code == 400
    assert api_client.get(f"/api/v1/products?category={uuid.uuid4()}").status_code == 400
    assert set(cache.keys("products:*")) == keys


def test_page_links_carry_only_canonical_parameters(api_client, make_product):
    for _ in range(3):
        make_product()
    page = api_client.get("/api/v1/products?page_size=2&junk=%3Cx%3E&in_stock=0").json()
    assert page["next"] == "http://testserver/api/v1/products?in_stock=false&page=2&page_size=2"
    assert api_client.get(page["next"]).json()["previous"] == \
        "http://testserver/api/v1/products?in_stock=false&page_size=2"


def test_uncached_pages_count_once_per_generation_and_skip_the_search_vector(
        api_client, make_product, django_assert_num_queries):
    for _ in range(3):
        make_product()
    with django_assert_num_queries(2, connection=connections["products"]) as first:
        assert api_client.get("/api/v1/products?page_size=2").json()["count"] == 3
    assert any("COUNT(" in query["sql"] for query in first.captured_queries)
    with django_assert_num_queries(1, connection=connections["products"]) as second:
        assert api_client.get("/api/v1/products?page_size=2&page=2").json()["count"] == 3
    assert all("search_vector" not in query["sql"] for query in first.captured_queries +
               second.captured_queries)

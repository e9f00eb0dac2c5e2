import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from django.utils.text import slugify
from rest_framework import serializers

from apps.products import selectors
from apps.products.models import Category, Product

ORDERINGS = ("price", "-price", "name", "-name", "created_at", "-created_at")


class CategorySerializer(serializers.ModelSerializer):
    parent_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ("id", "name", "slug", "parent_id")


class CategoryCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=100, required=False,
                                 help_text="Derived from the name when absent.")
    parent_id = serializers.UUIDField(required=False, allow_null=True)

    def validate_parent_id(self, value):
        if value is None:
            return None
        parent = selectors.category_by_id(value)
        if parent is None:
            raise serializers.ValidationError("No category with this id.")
        return parent

    def validate(self, attrs):
        if not attrs.get("slug"):
            attrs["slug"] = slugify(attrs["name"])[:100]
            if not attrs["slug"]:
                raise serializers.ValidationError({"slug": ["Cannot be derived from this name; send one."]})
        attrs["parent"] = attrs.pop("parent_id", None)
        return attrs


class ProductSerializer(serializers.ModelSerializer):
    """A product as the API renders it and as staff write it."""

    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="ISO 4217 code.")
    category_id = serializers.UUIDField(required=False, allow_null=True)
    image_urls = serializers.ListField(child=serializers.URLField(max_length=500), required=False,
                                       max_length=20)

    class Meta:
        model = Product
        fields = ("id", "sku", "name", "description", "price", "currency", "category_id", "status",
                  "in_stock", "image_urls", "created_at", "updated_at")
        read_only_fields = ("id", "in_stock", "created_at", "updated_at")
        # Uniqueness is the service's business (409 `sku_taken`), not a 400.
        extra_kwargs = {"sku": {"validators": []}}

    def validate_price(self, value):
        if value <= Decimal("0"):
            raise serializers.ValidationError("Must be greater than 0.")
        return value

    def validate_category_id(self, value):
        if value is not None and selectors.category_by_id(value) is None:
            raise serializers.ValidationError("No category with this id.")
        return value


class ProductFilterSerializer(serializers.Serializer):
    """Query parameters of `GET /products`. Any invalid value is a 400 naming the parameter."""

    search = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text=(
        "Words in the name, description or SKU (full-text on PostgreSQL), or a SKU prefix."))
    category = serializers.UUIDField(required=False, help_text="A category id; includes its descendants.")
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False,
                                         help_text="Inclusive.")
    max_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False,
                                         help_text="Inclusive.")
    in_stock = serializers.BooleanField(allow_null=True, default=None)
    ordering = serializers.ChoiceField(choices=ORDERINGS, required=False)
    status = serializers.ChoiceField(choices=Product.Status.choices, required=False,
                                     help_text="Staff only; the public sees active products.")

    def validate_search(self, value):
        return " ".join(value.split())  # one spelling per search, one cache entry

    def validate(self, attrs):
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_price": ["Must not exceed max_price."]})
        return attrs

    def canonical(self) -> list[tuple[str, str]]:
        """The public filters as sorted (name, canonical value) pairs: the catalogue cache's key
        and its page links. `status` is left out: the public sees active products only."""
        return sorted((name, str(value).lower() if isinstance(value, bool) else str(value))
                      for name, value in self.validated_data.items()
                      if name != "status" and value not in (None, ""))

    def filters(self) -> selectors.ProductFilters:
        return _filters(self.validated_data)


def _filters(validated: Mapping[str, object]) -> selectors.ProductFilters:
    """The filters for the selector; an unknown `category` is a 400 naming it (looked up only
    here, so a cached page costs no query)."""
    data = dict(validated)
    if "category" in data:
        data["category"] = selectors.category_by_id(data["category"])
        if data["category"] is None:
            raise serializers.ValidationError({"category": ["No category with this id."]})
    return selectors.ProductFilters(**data)


FILTER_NAMES = frozenset(ProductFilterSerializer._declared_fields)


@dataclass(frozen=True)
class PublicQuery:
    """A public list request's validated filters; `canonical` names its cache entries and links."""

    canonical: tuple[tuple[str, str], ...]
    validated: Mapping[str, object]  # read-only: shared by the requests that asked the same

    def filters(self) -> selectors.ProductFilters:
        return _filters(self.validated)


def public_query(query: dict[str, str]) -> PublicQuery:
    """A public list request's filters, validated once per process for each distinct query (an
    invalid one is validated, and refused, every time): a cached page is found without running
    the serializer. Only the parameters the serializer reads make the memo's key."""
    return _validated(tuple(sorted((name, value) for name, value in query.items() if name in FILTER_NAMES)))


@functools.lru_cache(maxsize=1024)
def _validated(query: tuple[tuple[str, str], ...]) -> PublicQuery:
    params = ProductFilterSerializer(data=dict(query))
    params.is_valid(raise_exception=True)
    return PublicQuery(tuple(params.canonical()), MappingProxyType(dict(params.validated_data)))

"""Thin REST views: parse, call a selector or service, render.

The public (anonymous and shopper) reads of the catalogue are served from the catalogue cache;
staff reads bypass it because they see inactive products too.
"""

import functools
from urllib.parse import urlencode
from uuid import UUID

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api.openapi import NOT_AUTHENTICATED, PERMISSION_DENIED, VALIDATION_ERROR, problem
from apps.common.api.permissions import StaffWritesMixin, is_staff
from apps.products import catalogue_cache, selectors, services
from apps.products.rest.serializers import (
    CategoryCreateSerializer,
    CategorySerializer,
    ProductFilterSerializer,
    ProductSerializer,
    public_query,
)

NOT_FOUND = problem("`not_found`: no such product, or it is inactive and you are not staff.")
SKU_TAKEN = problem("`sku_taken`: another product has this SKU.")
WRITE_ERRORS = {401: NOT_AUTHENTICATED, 403: PERMISSION_DENIED}
PUBLIC_CACHING = (
    f"Public answers carry a strong `ETag`; anonymous ones also `Cache-Control: public, "
    f"max-age={catalogue_cache.MAX_AGE_SECONDS}`, answers to requests with a token `no-store`.")
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="The `ETag` of a copy the client holds: 304 while it is current (public answers).")
NOT_MODIFIED = OpenApiResponse(description="Not modified: the `ETag` in `If-None-Match` is current.")


def _public(request: Request, entry: catalogue_cache.Entry) -> HttpResponse:
    """A cached catalogue response as stored, or 304 when the client holds it already. Shared
    caches may keep it briefly; `Vary: Authorization` keeps staff views apart (and responses to
    requests with credentials are `no-store` anyway, see apps/common/api/http.py)."""
    if _client_holds(request, entry.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(entry.body, content_type="application/json")
    response["ETag"] = entry.etag
    response["Cache-Control"] = f"public, max-age={catalogue_cache.MAX_AGE_SECONDS}"
    response["Vary"] = "Authorization"
    return response


def _client_holds(request: Request, etag: str) -> bool:
    """If-None-Match compares weakly (RFC 9110): `W/"x"` matches `"x"`; `*` matches any."""
    tags = {tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))}
    return etag in tags or "*" in tags


class CategoryListView(StaffWritesMixin, GenericAPIView):
    serializer_class = CategorySerializer

    @extend_schema(operation_id="categories_list", summary="The category tree, depth-first",
                   description="Each category names its `parent_id`; filter products with "
                               "`?category=<id>` to include every descendant.",
                   responses={200: CategorySerializer(many=True), 400: VALIDATION_ERROR})
    def get(self, request):
        page = self.paginate_queryset(selectors.categories())
        return self.get_paginated_response(CategorySerializer(page, many=True).data)

    @extend_schema(
        operation_id="categories_create", summary="Create a category (staff)",
        description="Without `slug`, one is made from the name; `parent_id` places it in the tree.",
        request=CategoryCreateSerializer,
        responses={201: CategorySerializer, 400: problem("`validation_error`: e.g. an unknown `parent_id`."),
                   409: problem("`slug_taken`: another category has this slug."), **WRITE_ERRORS},
    )
    def post(self, request):
        serializer = CategoryCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.create_category(**serializer.validated_data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class ProductListView(StaffWritesMixin, GenericAPIView):
    serializer_class = ProductSerializer

    @extend_schema(
        operation_id="products_list", summary="Search and filter the catalogue",
        description="Anonymous users and shoppers see active products only; staff see all and may "
                    "filter by `status`. " + PUBLIC_CACHING,
        parameters=[ProductFilterSerializer, IF_NONE_MATCH],
        responses={200: ProductSerializer(many=True),
                   304: NOT_MODIFIED,
                   400: problem("`validation_error`: `errors` names each invalid parameter.")},
    )
    def get(self, request):
        if is_staff(request):
            params = ProductFilterSerializer(data=request.query_params.dict())
            params.is_valid(raise_exception=True)
            page = self.paginate_queryset(selectors.product_list(params.filters(), staff=True))
            return self.get_paginated_response(ProductSerializer(page, many=True).data)

        # The entry's name and the page links hold only validated, canonical parameters.
        query = public_query(request.query_params.dict())
        filters = query.canonical
        page_number, page_size = self.paginator.page_and_size(request)
        url = f"{request.build_absolute_uri(request.path)}?{urlencode([*filters, ('page_size', page_size)])}"
        products = functools.cache(lambda: selectors.product_list(query.filters(), staff=False))

        def render(count: int) -> dict:
            page = self.paginator.paginate_queryset(products(), request, self, url=url, count=count)
            return self.get_paginated_response(ProductSerializer(page, many=True).data).data

        entry = catalogue_cache.cached(f"list:{url}&page={page_number}", render,
                                       count_name=f"count:{urlencode(filters)}",
                                       count=lambda: products().count())
        return _public(request, entry)

    @extend_schema(
        operation_id="products_create", summary="Create a product (staff)",
        description="`in_stock` is a read model fed by inventory: it starts false and cannot be set.",
        request=ProductSerializer,
        responses={201: ProductSerializer, 400: problem("`validation_error`: e.g. price <= 0."),
                   409: SKU_TAKEN, **WRITE_ERRORS},
    )
    def post(self, request):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.create_product(**serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(StaffWritesMixin, GenericAPIView):
    serializer_class = ProductSerializer

    @extend_schema(operation_id="products_retrieve", summary="One product",
                   description="An inactive product is 404 except for staff. " + PUBLIC_CACHING,
                   parameters=[IF_NONE_MATCH],
                   responses={200: ProductSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND})
    def get(self, request, product_id: UUID):
        if is_staff(request):
            return Response(self._render(product_id, staff=True))
        return _public(request, catalogue_cache.cached(
            f"detail:{product_id}", lambda _count: self._render(product_id, staff=False)))

    @staticmethod
    def _render(product_id: UUID, *, staff: bool) -> dict:
        return ProductSerializer(selectors.product_detail(product_id, staff=staff)).data

    @extend_schema(operation_id="products_update", summary="Replace a product (staff)",
                   description="Every writable field is sent; the catalogue cache follows at once.",
                   request=ProductSerializer,
                   responses={200: ProductSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND,
                              409: SKU_TAKEN, **WRITE_ERRORS})
    def put(self, request, product_id: UUID):
        return self._update(request, product_id, partial=False)

    @extend_schema(operation_id="products_partial_update", summary="Change some fields of a product (staff)",
                   description="Only the fields sent change; the catalogue cache follows at once.",
                   request=ProductSerializer,
                   responses={200: ProductSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND,
                              409: SKU_TAKEN, **WRITE_ERRORS})
    def patch(self, request, product_id: UUID):
        return self._update(request, product_id, partial=True)

    def _update(self, request, product_id: UUID, *, partial: bool) -> Response:
        serializer = ProductSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        product = services.update_product(product_id, **serializer.validated_data)
        return Response(ProductSerializer(product).data)

    @extend_schema(operation_id="products_destroy",
                   summary="Take a product out of the public catalogue (staff)",
                   description="Sets the status to `inactive`: the public gets 404, staff and payment "
                               "history still see it.",
                   responses={204: OpenApiResponse(description="Deactivated."), 404: NOT_FOUND,
                              **WRITE_ERRORS})
    def delete(self, request, product_id: UUID):
        services.deactivate_product(product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

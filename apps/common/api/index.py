"""`GET /` and `GET /api/v1/`: where a newcomer (or the admin's "View site" link) lands."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

LINKS = {"api": "/api/v1/", "docs": "swagger-ui", "redoc": "redoc", "schema": "schema",
         "health": "healthz", "readiness": "readyz", "admin": "admin:index"}

IndexSerializer = inline_serializer("Index", {
    "name": serializers.CharField(),
    "version": serializers.CharField(),
    "links": inline_serializer("IndexLinks", {name: serializers.URLField() for name in LINKS}),
})


class IndexView(APIView):
    authentication_classes = ()
    permission_classes = ()

    @extend_schema(
        operation_id="index", tags=["index"], responses={200: IndexSerializer},
        summary="Links to the API documents and the health endpoints",
        description="The same small index answers at `/` and at `/api/v1/`: the API root, Swagger "
                    "UI, ReDoc, the OpenAPI document, liveness, readiness and the staff admin.",
    )
    def get(self, request):
        links = {name: request.build_absolute_uri(target if target.startswith("/") else reverse(target))
                 for name, target in LINKS.items()}
        return Response({"name": settings.SPECTACULAR_SETTINGS["TITLE"],
                         "version": settings.SPECTACULAR_SETTINGS["VERSION"], "links": links})


@extend_schema_view(get=extend_schema(operation_id="api_root"))
class ApiRootView(IndexView):
    """The index again at the API's root, `/api/v1` (and `/api/v1/`, left out of the schema)."""

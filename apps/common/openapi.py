"""OpenAPI helpers: the problem body every error answers with, for `extend_schema(responses=...)`."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (application/problem+json)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="400 validation errors only: messages per field.")


def problem(description: str) -> OpenApiResponse:
    """An error response; `description` names its codes, e.g. "`not_found`: no such user"."""
    return OpenApiResponse(ProblemSerializer, description=description)


NOT_AUTHENTICATED = problem("`not_authenticated`: no access token; `token_invalid`: the access "
                            "token is malformed, expired or not signed by a known key.")
PERMISSION_DENIED = problem("`permission_denied`: staff only.")
VALIDATION_ERROR = problem("`validation_error`: `errors` names each invalid field.")


PAGE_NOT_FOUND = "`not_found`: `page` is past the last page."


def document_page_not_found(result, generator, request, public):
    """Every paginated list answers 404 for a page past its end (DRF's pagination): say so."""
    for operation in (op for path in result["paths"].values() for op in path.values()):
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if ok.get("schema", {}).get("$ref", "").startswith("#/components/schemas/Paginated"):
            operation["responses"].setdefault("404", {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                "description": PAGE_NOT_FOUND,
            })
    return result

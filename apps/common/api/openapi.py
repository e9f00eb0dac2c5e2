"""OpenAPI helpers: the problem body every error answers with, and the hooks that finish the
document (problem+json error bodies, the errors every operation may answer, tags, servers)."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

PROBLEM_CONTENT_TYPE = "application/problem+json"
COMMON_CODES = ("`validation_error`, `malformed_request`, `not_authenticated`, `token_invalid`, "
                "`permission_denied`, `not_found`, `method_not_allowed`, `rate_limited`, "
                "`service_unavailable`")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (application/problem+json)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine-readable error code: one listed for the "
                                           f"operation, or one any operation may answer ({COMMON_CODES}).")
    detail = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="400 `validation_error` only: the messages "
                                   "of each invalid field; an item of a list is an object naming its fields.")


def problem(description: str) -> OpenApiResponse:
    """An error response; `description` names its codes, e.g. "`not_found`: no such user"."""
    return OpenApiResponse(ProblemSerializer, description=description)


NOT_AUTHENTICATED = problem("`not_authenticated`: no access token; `token_invalid`: the access "
                            "token is malformed, expired or not signed by a known key.")
PERMISSION_DENIED = problem("`permission_denied`: staff only.")
VALIDATION_ERROR = problem("`validation_error`: `errors` names each invalid field.")


PAGE_NOT_FOUND = "`not_found`: `page` is past the last page."
# What any operation may answer, whatever its own errors (docs/api.md, "Errors").
EVERY_OPERATION = {
    "429": "`rate_limited`: this client sent too many requests; `Retry-After` says when to try again.",
    "503": "`service_unavailable`: a dependency of the request cannot be reached or answers too "
           "slowly; `Retry-After` is set and nothing was half done.",
}
TAGS = {
    "index": "Where to start: links to the documents and the health endpoints.",
    "auth": "Registration, tokens and logout.",
    "users": "Your account; staff manage everyone's.",
    "categories": "The category tree of the catalogue.",
    "products": "The catalogue: search, filter, and staff edits.",
    "inventory": "Stock levels, the ledger and low stock.",
    "payments": "The purchase, payment history and refunds.",
    "webhooks": "Signed notifications from the payment gateway.",
}
# Field errors nest: an entry is a message, or for an item of a list an object of its fields' errors.
FIELD_ERRORS = {
    "type": "object",
    "description": "Messages per field. For a list field each entry names the position of an "
                   "invalid item with that item's field errors.",
    "additionalProperties": {
        "type": "array",
        "items": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/FieldErrors"}]},
    },
}


def _operations(result):
    return (op for path in result["paths"].values() for op in path.values())


def _problem_content():
    return {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document_page_not_found(result, generator, request, public):
    """Every paginated list answers 404 for a page past its end (DRF's pagination): say so."""
    for operation in _operations(result):
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if ok.get("schema", {}).get("$ref", "").startswith("#/components/schemas/Paginated"):
            operation["responses"].setdefault("404", {"description": PAGE_NOT_FOUND})
    return result


def finish_document(result, generator, request, public):
    """Error bodies as the server sends them (problem+json), the errors every operation may
    answer, the tags in use, and the server that answered (its own origin)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["FieldErrors"] = FIELD_ERRORS
    schemas["Problem"]["properties"]["errors"] = {"$ref": "#/components/schemas/FieldErrors"}
    for operation in _operations(result):
        responses = operation["responses"]
        for status, description in EVERY_OPERATION.items():
            response = responses.setdefault(status, {"description": description})
            if description.split(":")[0] not in response["description"]:  # its code is not named yet
                response["description"] += f" Or {description}"
        for status, response in responses.items():
            if int(status) >= 400:
                response["content"] = _problem_content()
    used = {tag for operation in _operations(result) for tag in operation.get("tags", ())}
    result["tags"] = [{"name": name, "description": text} for name, text in TAGS.items() if name in used]
    origin = request.build_absolute_uri("/").rstrip("/") if request is not None else "http://127.0.0.1:8000"
    result["servers"] = [{"url": origin, "description": "The server that served this document."}]
    return result

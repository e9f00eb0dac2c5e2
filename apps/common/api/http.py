"""Middleware at the HTTP boundary, for every view (DRF's, the admin's, the operational ones)."""

from django.conf import settings
from django.template.response import SimpleTemplateResponse

from apps.common.api.errors import ServiceUnavailable
from apps.common.api.parsers import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE
from apps.common.api.problems import as_domain_error, problem_response


class NoStoreForPersonalResponsesMiddleware:
    """Any answer to a request that carries credentials (a bearer token, or the admin's session
    cookie), and any answer to a write (tokens, new accounts), is personal: `Cache-Control:
    no-store`, so no browser or shared cache keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.method not in ("GET", "HEAD") or "authorization" in request.headers
                or settings.SESSION_COOKIE_NAME in request.COOKIES):
            response["Cache-Control"] = "no-store"
        return response


class BoundaryMiddleware:
    """What every view (DRF's, the admin's, the operational ones) answers alike at the boundary:

    - a query parameter (name or value) with a control character, such as `search=a%00b`, is a
      400 naming it: PostgreSQL refuses NUL in text, and nothing legitimate sends the others;
    - a database that does not answer, or a peer that cannot be reached, is a 503 with
      Retry-After, not a 500, outside DRF too (DRF's views map these in their exception handler
      and never raise them this far): the admin gets an HTML page that needs no database, any
      other view a problem body. Django runs `process_exception` around the view, so that 503
      passes through every middleware's response phase.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if CONTROL_CHARACTERS.search(name) or any(CONTROL_CHARACTERS.search(v) for v in values):
                return problem_response(400, "validation_error", "Invalid input.",
                                        errors={name: [CONTROL_CHARACTERS_MESSAGE]})
        return self.get_response(request)

    def process_exception(self, request, exception):
        error = as_domain_error(exception)
        if not isinstance(error, ServiceUnavailable):
            return None
        if request.resolver_match and request.resolver_match.namespace == "admin":
            response = SimpleTemplateResponse("common/service_unavailable.html", {
                "site_header": settings.SHOP_NAME, "detail": error.detail}, status=error.status)
            for name, value in error.headers().items():
                response[name] = value
            return response.render()
        return problem_response(error.status, error.code, error.detail, headers=error.headers())

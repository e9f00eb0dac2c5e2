"""Middleware at the HTTP boundary, for every view (DRF's, the admin's, the operational ones)."""

from django.conf import settings

from apps.common.api.parsers import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE
from apps.common.api.problems import problem_response


class RefuseControlCharactersMiddleware:
    """A query parameter (name or value) with a control character, such as `search=a%00b`, is a
    400 naming it: PostgreSQL refuses NUL in text, and nothing legitimate sends the others."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if CONTROL_CHARACTERS.search(name) or any(CONTROL_CHARACTERS.search(v) for v in values):
                return problem_response(400, "validation_error", "Invalid input.",
                                        errors={name: [CONTROL_CHARACTERS_MESSAGE]})
        return self.get_response(request)


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

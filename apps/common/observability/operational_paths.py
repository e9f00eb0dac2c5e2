"""Answer the operational paths (`/healthz`, `/readyz`, `/metrics`) whatever the Host header.

Kubernetes probes and Prometheus scrapes reach a pod by IP and send `Host: <pod IP>:<port>`,
which `ALLOWED_HOSTS` cannot list (pod IPs change). Django validates the Host only when
something calls `request.get_host()` (CommonMiddleware, CSRF, redirects, ...), so this
middleware, placed before all of those, serves these three views itself. Every other path still
goes through host validation and answers 400 to a Host that is not allowed.
"""

from functools import cached_property

from django.urls import resolve, reverse

OPERATIONAL_URL_NAMES = ("healthz", "readyz", "metrics")


class OperationalPathsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def matches(self) -> dict:
        """Path -> resolved view of each operational URL, as config/urls.py mounts them."""
        paths = (reverse(name) for name in OPERATIONAL_URL_NAMES)
        return {path: resolve(path) for path in paths}

    def __call__(self, request):
        match = self.matches.get(request.path_info) if request.method in ("GET", "HEAD") else None
        if match is None:
            return self.get_response(request)
        request.resolver_match = match  # a routed request, for the access log and the metrics
        return match.func(request)

"""The URL route table: which app serves which public path prefix.

One table feeds Django's URL mounting checks, the nginx config of the split-mode test and
`make run-split`, and the Istio VirtualService of the Helm chart, so the three cannot drift.
"""

API_PREFIX = "/api/v1"

ROUTES: dict[str, tuple[str, ...]] = {
    "users": (f"{API_PREFIX}/auth", f"{API_PREFIX}/users"),
    "products": (f"{API_PREFIX}/categories", f"{API_PREFIX}/products"),
    "inventory": (f"{API_PREFIX}/inventory",),
    "payments": (f"{API_PREFIX}/payments",),
}


def app_for_path(path: str) -> str | None:
    for app, prefixes in ROUTES.items():
        if any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes):
            return app
    return None

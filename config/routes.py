"""The URL route table: which app serves which public path prefix.

One table feeds Django's URL mounting checks, the nginx config of the split-mode test and
`make run-split`, and the Istio VirtualService of the Helm chart, so the three cannot drift.
"""

API_PREFIX = "/api/v1"

ROUTES: dict[str, tuple[str, ...]] = {
    "users": (f"{API_PREFIX}/auth", f"{API_PREFIX}/users"),
    "products": (f"{API_PREFIX}/categories", f"{API_PREFIX}/products"),
    "inventory": (f"{API_PREFIX}/inventory",),
    "payments": (f"{API_PREFIX}/payments", f"{API_PREFIX}/webhooks/payments"),
}


# What the public gateway sends to the monolith: the API, and the admin with its static files for
# staff. Nothing else: the operational endpoints (/metrics, /readyz, /healthz) and the API docs
# (/api/schema/, /api/docs/, /api/redoc/) stay in-cluster, as every path split mode does not route.
MONOLITH_PREFIXES: tuple[str, ...] = (API_PREFIX, "/admin", "/static")


def app_for_path(path: str) -> str | None:
    for app, prefixes in ROUTES.items():
        if any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes):
            return app
    return None


# Who calls whose gRPC service in split mode: app -> the apps that call it. The Istio
# AuthorizationPolicies and NetworkPolicies of the Helm chart are generated from it, so a caller
# missing here is refused by the mesh. Staff signing in to the admin of a split process go
# through the users interface, hence every other app calls users. Inventory's admin checks that a
# product exists before stocking it, and products' admin shows a product's stock through the
# inventory interface (peers never gate readiness, so calling each other cannot deadlock start-up).
GRPC_CALLERS: dict[str, tuple[str, ...]] = {
    "users": ("products", "inventory", "payments"),
    "products": ("inventory", "payments"),
    "inventory": ("products", "payments"),
    "payments": (),
}

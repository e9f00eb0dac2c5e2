"""Which domain apps this process serves.

`SERVICE_APPS` is read here and only here: settings call `parse_service_apps` once at start-up,
and everything else asks `served_apps()` / `is_served()`.
"""

from django.core.exceptions import ImproperlyConfigured

DOMAIN_APPS = ("users", "products", "inventory", "payments")


def parse_service_apps(raw: str | None) -> tuple[str, ...]:
    """Parse the comma list; unknown names stop start-up with the valid ones named."""
    if raw is None or not raw.strip():
        return DOMAIN_APPS
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(DOMAIN_APPS))
    if unknown:
        raise ImproperlyConfigured(
            f"SERVICE_APPS names unknown app(s) {', '.join(unknown)}; "
            f"valid names are {', '.join(DOMAIN_APPS)}."
        )
    # Keep the canonical order so URLs, databases and logs are stable.
    return tuple(app for app in DOMAIN_APPS if app in names)


def served_apps() -> tuple[str, ...]:
    from django.conf import settings

    return settings.SERVICE_APPS


def is_served(app: str) -> bool:
    return app in served_apps()

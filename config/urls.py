"""Mounts the operational endpoints and, for each app this process serves, its API and admin."""

from importlib import import_module

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.common.api.index import ApiRootView, IndexView
from apps.common.api.problems import problem_response
from apps.common.observability import health, metrics
from config.service_apps import served_apps

urlpatterns = [
    path("", IndexView.as_view(), name="index"),
    path("api/v1", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", ApiRootView.as_view(schema=None)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"),
         name="redoc"),
]

import_module("apps.common.admin")  # outbox and dead-letter views for operators
for app in served_apps():
    import_module(f"apps.{app}.admin")  # registers only the served apps' admin models
    urlpatterns.append(path("api/v1/", include(f"apps.{app}.rest.urls")))
# Only now: `admin.site.urls` reads the models registered so far.
urlpatterns.append(path("admin/", admin.site.urls))


def handler404(request, exception=None):
    return problem_response(404, "not_found", "No resource at this path.")


def handler500(request):
    return problem_response(500, "internal_error", "An unexpected error occurred.")


def handler400(request, exception=None):
    return problem_response(400, "bad_request", "The request is malformed.")


def handler403(request, exception=None):
    return problem_response(403, "permission_denied", "You may not do this.")

"""Admin for this app; imported by config.urls only where the app is served."""

from django.contrib import admin  # noqa: F401

"""The product's URLs plus `/bench/baseline`, the framework's ceiling (bench/baseline.py)."""

from django.urls import path

from bench.baseline import BaselineView
from config.urls import handler404, handler500, urlpatterns

urlpatterns = [path("bench/baseline", BaselineView.as_view()), *urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]

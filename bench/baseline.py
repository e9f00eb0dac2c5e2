"""The framework's ceiling for `make bench`: a minimal JSON view on the same stack as the API
(gunicorn, every middleware, DRF's authentication and rendering). Mounted only by bench/urls.py,
never in the product's URLs."""

from rest_framework.response import Response
from rest_framework.views import APIView


class BaselineView(APIView):
    def get(self, request):
        return Response({"status": "ok"})

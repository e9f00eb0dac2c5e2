from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M` (default 20, max 100). Malformed values are 400, not silently ignored."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        errors = {}
        for param in (self.page_query_param, self.page_size_query_param):
            raw = request.query_params.get(param)
            if raw is not None and not (raw.isdigit() and int(raw) >= 1):
                errors[param] = ["Must be a whole number of at least 1."]
        if errors:
            raise ValidationError(errors)
        return super().paginate_queryset(queryset, request, view)

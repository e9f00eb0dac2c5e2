from rest_framework import pagination
from rest_framework.exceptions import ValidationError

# More digits than any page could need; also keeps int() far from its 4,300-digit limit.
MAX_DIGITS = 9


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M` (default 20, max 100). Malformed values are 400, not silently ignored:
    only ASCII digits count (`str.isdigit` also accepts `²`, which `int` refuses)."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.page_and_size(request)
        return super().paginate_queryset(queryset, request, view)

    def page_and_size(self, request) -> tuple[int, int]:
        """The validated page number and page size (clamped to the maximum) of `request`."""
        errors, values = {}, {}
        for param in (self.page_query_param, self.page_size_query_param):
            raw = request.query_params.get(param)
            if raw is None:
                continue
            if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS and int(raw) >= 1):
                errors[param] = [f"Must be a whole number from 1 to {10**MAX_DIGITS - 1}."]
            else:
                values[param] = int(raw)
        if errors:
            raise ValidationError(errors)
        return (values.get(self.page_query_param, 1),
                min(values.get(self.page_size_query_param, self.page_size), self.max_page_size))

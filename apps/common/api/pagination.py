import functools

from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.utils.urls import remove_query_param, replace_query_param

# More digits than any page could need; also keeps int() far from its 4,300-digit limit.
MAX_DIGITS = 9


class KnownCountPaginator(Paginator):
    """Django's paginator with a row count the caller already has (no COUNT query)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.count = count


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M` (default 20, max 100). Malformed values are 400, not silently ignored:
    only ASCII digits count (`str.isdigit` also accepts `²`, which `int` refuses).

    A cached list passes its canonical `url` (the links of the page are built from it, not from
    whatever else the request carried) and its `count` when it knows it."""

    page_size_query_param = "page_size"
    max_page_size = 100
    url = None

    def paginate_queryset(self, queryset, request, view=None, *, url=None, count=None):
        self.page_and_size(request)
        self.url = url
        if count is not None:
            self.django_paginator_class = functools.partial(KnownCountPaginator, count=count)
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

    def get_next_link(self):
        if self.url is None or not self.page.has_next():
            return super().get_next_link()
        return replace_query_param(self.url, self.page_query_param, self.page.next_page_number())

    def get_previous_link(self):
        if self.url is None or not self.page.has_previous():
            return super().get_previous_link()
        previous = self.page.previous_page_number()
        if previous == 1:
            return remove_query_param(self.url, self.page_query_param)
        return replace_query_param(self.url, self.page_query_param, previous)

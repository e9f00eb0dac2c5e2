"""The products app's errors, each carrying its contract `code` and HTTP status."""

from apps.common.api.errors import Conflict, NotFound


class ProductNotFound(NotFound):
    default_detail = "No product with this id."


class SkuTaken(Conflict):
    code = "sku_taken"
    default_detail = "Another product already has this SKU."


class SlugTaken(Conflict):
    code = "slug_taken"
    default_detail = "Another category already has this slug."

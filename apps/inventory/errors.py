"""The inventory app's typed errors, each with its contract `code` and HTTP status. Those a caller
of the interface can meet are re-exported by `interface.py`."""

from apps.common.api.errors import Conflict, DomainError, NotFound


class InsufficientStock(Conflict):
    """Raised with `product_id` and `available` naming the first line that cannot be served."""

    code = "insufficient_stock"
    default_detail = "Not enough stock."


class ReservationNotFound(NotFound):
    default_detail = "No reservation with this reference."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_detail = "Quantities must be whole numbers of at least 1."


class ZeroAdjustment(DomainError):
    default_detail = "An adjustment must change stock: delta cannot be 0."


class UnreconcilableStock(DomainError):
    status = 409
    code = "unreconcilable_stock"
    default_detail = "The ledger holds fewer units than the open reservations: count the stock."

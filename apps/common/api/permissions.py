"""DRF permissions every app uses. Roles come from the access token's claims (stateless)."""

from rest_framework.permissions import AllowAny, BasePermission


class IsStaff(BasePermission):
    """Staff only. Anonymous requests get 401 (DRF turns a denial without credentials into it)."""

    message = "Only staff may do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


def is_staff(request) -> bool:
    """Whether the request comes from staff, for views that answer staff more."""
    return IsStaff().has_permission(request, None)


class StaffWritesMixin:
    """For views anyone reads and only staff write. A view method rather than a permission class,
    so the OpenAPI document shows the reads as open (drf-spectacular looks for AllowAny)."""

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsStaff()]

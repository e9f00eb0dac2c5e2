"""DRF permissions every app uses. Roles come from the access token's claims (stateless)."""

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """Staff only. Anonymous requests get 401 (DRF turns a denial without credentials into it)."""

    message = "Only staff may do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)

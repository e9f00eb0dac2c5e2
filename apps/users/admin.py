"""Admin for this app; imported by config.urls only where the app is served."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.users import services
from apps.users.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    fields = ("id", "email", "first_name", "last_name", "is_staff", "is_superuser", "is_active",
              "password_link", "date_joined", "last_login")
    readonly_fields = ("id", "password_link", "date_joined", "last_login")
    actions = ("deactivate_selected",)
    date_hierarchy = "date_joined"
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False  # payments and tokens name users: deactivate them instead

    @admin.display(description="Password")
    def password_link(self, user):
        if user.pk is None:
            return "Set it after saving."
        url = reverse("admin:users_user_password_change", args=[user.pk])
        return format_html('Never shown. <a href="{}">Set a new password</a>.', url)

    @admin.action(description="Deactivate selected users")
    def deactivate_selected(self, request, queryset):
        count = services.deactivate_users(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    def get_urls(self):
        return [
            path("<path:object_id>/password/",
                 self.admin_site.admin_view(self.password_change_view),
                 name="users_user_password_change"),
            *super().get_urls(),
        ]

    def password_change_view(self, request, object_id):
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = AdminPasswordChangeForm(user, request.POST or None)
        if request.method == "POST" and form.is_valid():
            form.save()
            update_session_auth_hash(request, user)  # changing one's own keeps one signed in
            self.log_change(request, user, "Changed password.")
            self.message_user(request, "Password changed.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:users_user_change", args=[user.pk]))
        fieldsets = [(None, {"fields": list(form.base_fields)})]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set password: {user.email}", "form": form,
            "adminForm": admin.helpers.AdminForm(form, fieldsets, {}),
            "opts": self.opts, "original": user, "is_popup": False, "add": True, "change": False,
            "has_view_permission": True, "has_change_permission": True,
            "has_delete_permission": False, "has_absolute_url": False, "save_as": False,
            "show_save": True,
        }
        return TemplateResponse(request, "admin/auth/user/change_password.html", context)

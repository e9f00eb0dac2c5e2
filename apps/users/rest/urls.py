from django.urls import path

from apps.users.rest import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users", views.UserListView.as_view(), name="users-list"),
    path("users/<uuid:user_id>", views.UserDetailView.as_view(), name="users-detail"),
]

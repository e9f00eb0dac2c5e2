"""The admin as the shop's back office: it names the shop, lists the business first, and keeps
the event plumbing's tables (outboxes, processed events, dead letters, idempotency keys)
together under "Operations"."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.urls import reverse

# App sections in the order staff need them; anything else follows, then Operations.
BUSINESS_ORDER = ["products", "inventory", "payments", "users"]
OPERATIONS_MODELS = {"OutboxEvent", "ProcessedEvent", "DeadLetter", "IdempotencyKey"}


class ShopAdminSite(admin.AdminSite):
    site_url = "/api/docs/"  # "View site": the API is what this shop serves
    index_title = "Back office"

    @property
    def site_header(self):
        return settings.SHOP_NAME

    @property
    def site_title(self):
        return settings.SHOP_NAME

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        operations = []
        for app in apps:
            for model in [m for m in app["models"] if m["object_name"] in OPERATIONS_MODELS]:
                app["models"].remove(model)
                if app["app_label"] != "common":
                    model["name"] = f"{app['name']}: {model['name']}"
                model["object_name"] = f"{app['app_label']}{model['object_name']}"  # unique ids
                operations.append(model)
        apps = [app for app in apps if app["models"]]
        apps.sort(key=lambda app: (BUSINESS_ORDER.index(app["app_label"])
                                   if app["app_label"] in BUSINESS_ORDER else len(BUSINESS_ORDER)))
        if operations and app_label is None:
            apps.append({"name": "Operations", "app_label": "operations", "has_module_perms": True,
                         "app_url": f"{reverse('admin:index', current_app=self.name)}#operations",
                         "models": sorted(operations, key=lambda model: model["name"])})
        return apps


class ShopAdminConfig(SimpleAdminConfig):
    """Django's admin without autodiscovery (config.urls loads the served apps' admin modules)."""

    default_site = "apps.common.admin_site.ShopAdminSite"

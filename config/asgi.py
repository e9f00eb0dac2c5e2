import os

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

from config.startup import APP_LOAD_ERROR, exit_with

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
try:
    application = get_asgi_application()
except ImproperlyConfigured as error:
    exit_with(error, APP_LOAD_ERROR)

"""The wiring: settings and what they parse (imported by the apps, importing none of them), and
the entry points a process starts from (`urls`, `wsgi`, `asgi`, `celery`, `gunicorn`), which
import the apps. `celery -A config` finds the Celery app in `config.celery` by itself.
"""

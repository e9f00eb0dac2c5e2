"""The wiring: settings and what they parse (imported by the apps, importing none of them), and
the entry points a process starts from (`urls`, `wsgi`, `asgi`, `celery`, `gunicorn`), which
import the apps. `celery -A config` finds the Celery app in `config.celery` by itself, so only
the processes that run Celery import it (it cost each HTTP and gRPC server about 0.1 s of start-up).
"""

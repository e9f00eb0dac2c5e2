"""The project's configuration. The Celery app lives in `config/celery.py` and is imported only by
the processes that run Celery (`celery -A config` finds it there): the HTTP and gRPC servers never
send tasks, and importing Celery cost each of them about 0.1 s of start-up."""

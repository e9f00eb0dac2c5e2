"""Settings, read from the environment (12-factor). The variables are listed in docs/configuration.md."""

from datetime import timedelta
from pathlib import Path

import dj_email_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    DatabaseLimits,
    env_bool,
    env_choice,
    env_database,
    env_float,
    env_int,
    env_list,
    env_str,
)
from config.jwt_keys import load_jwt_keys
from config.production import is_production, require_jwt_key, secret
from config.service_apps import DOMAIN_APPS, parse_service_apps
from config.structured_logs import logging_config
from config.throttle_rates import parse_throttle_rates, parse_trusted_proxy_count

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SERVICE_APPS = parse_service_apps(env_str("SERVICE_APPS"))
SERVICE_NAME = env_str("SERVICE_NAME", "-".join(SERVICE_APPS) if len(SERVICE_APPS) < 4 else "monolith")

DEBUG = env_bool("DJANGO_DEBUG", False)
# Secrets are required in production and random per start in development (config/production.py).
PRODUCTION = is_production()
SECRET_KEY = secret("DJANGO_SECRET_KEY", PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
SHOP_NAME = env_str("SHOP_NAME", "Shop")  # the admin's header and title

# Every app is installed in every mode (as Sentry does): imports, migration state and content
# types stay the same; what a process serves is gated by SERVICE_APPS in urls, admin and router.
INSTALLED_APPS = [
    "apps.common",
    "apps.common.admin_site.ShopAdminConfig",  # admin modules load per served app
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as static files: the API docs work offline
    "apps.users",
    "apps.products",
    "apps.inventory",
    "apps.payments",
]

MIDDLEWARE = [
    "apps.common.observability.metrics.HttpMetricsMiddleware",
    "apps.common.observability.logging.RequestContextMiddleware",
    # Probes and scrapes send `Host: <pod IP>`: answered here, before any host validation.
    "apps.common.observability.operational_paths.OperationalPathsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.common.api.http.NoStoreForPersonalResponsesMiddleware",
    # Control characters refused (400); unreachable databases and peers answered 503 by any view.
    "apps.common.api.http.BoundaryMiddleware",
    # The one image serves the admin's static files itself (no separate web server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases: `default` plus one alias per served app --------------------------------------
# PostgreSQL only (see config/env.py): a request waits at most DATABASE_CONNECT_TIMEOUT seconds
# for a connection and DATABASE_STATEMENT_TIMEOUT_MS for a statement, then answers 503; each
# process keeps at most DATABASE_POOL_MAX_SIZE connections per alias (docs/deployment.md).
DATABASE_LIMITS = DatabaseLimits(
    connect_timeout=env_int("DATABASE_CONNECT_TIMEOUT", 3),
    statement_timeout_ms=env_int("DATABASE_STATEMENT_TIMEOUT_MS", 10_000),
    pool_max_size=env_int("DATABASE_POOL_MAX_SIZE", 4),
)
DATABASES = {"default": env_database("DATABASE_URL", VAR_DIR / "default.sqlite3", DATABASE_LIMITS)}
for _app in SERVICE_APPS:
    DATABASES[_app] = env_database(
        f"DATABASE_URL_{_app.upper()}", VAR_DIR / f"{_app}.sqlite3", DATABASE_LIMITS,
    )
DATABASE_ROUTERS = ["config.routers.AppDatabaseRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
# Email login; where users is served elsewhere it asks the users interface (see the module).
AUTHENTICATION_BACKENDS = ["apps.users.backends.EmailBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve from the app directories too, so `make run` and tests need no collectstatic step.
WHITENOISE_USE_FINDERS = True

# --- Redis, cache ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",  # django-redis, counted
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "shop"),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache"}}

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Stateless: any service verifies the access token without calling users.
        "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.common.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.common.api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
    # Rate limits per client (apps/common/api/throttles.py); the rates are THROTTLE_RATES.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.common.api.throttles.AnonRateThrottle",
        "apps.common.api.throttles.UserRateThrottle",
        "apps.common.api.throttles.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": parse_throttle_rates(env_str("THROTTLE_RATES")),
    # X-Forwarded-For is believed only through this many proxies in front (0: REMOTE_ADDR).
    "NUM_PROXIES": parse_trusted_proxy_count(env_str("TRUSTED_PROXY_COUNT")),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": "E-commerce backend: users, products, inventory and payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "CONTACT": {"name": "The Shop contributors"},
    "LICENSE": {"name": "BSD-3-Clause", "url": "https://opensource.org/license/bsd-3-clause"},
    # A payment's status appears in Payment and PendingPayment (the 202): one enum, named.
    "ENUM_NAME_OVERRIDES": {"PaymentStatusEnum": "apps.payments.models.Payment.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums", "apps.common.api.openapi.document_page_not_found",
        "apps.common.api.openapi.finish_document",
        "apps.common.api.throttles.document_rate_limits",
    ],
}

# --- JWT (issued by users, verified statelessly everywhere) ------------------------------------
# RS256 with a key ring (config/jwt_keys.py): the users app signs with the first private key;
# every process verifies with the public keys, chosen by the token's `kid` header.
require_jwt_key(PRODUCTION, issues_tokens="users" in SERVICE_APPS)
JWT_KEYS = load_jwt_keys(env_str("JWT_SIGNING_KEY"), env_str("JWT_VERIFYING_KEY"))
if "users" in SERVICE_APPS and JWT_KEYS.signing_pem is None:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be set where users is served (it issues tokens).")
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": JWT_KEYS.signing_pem,
    "VERIFYING_KEY": JWT_KEYS.first_verifying_pem,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "ISSUER": "shop-users",
    "AUDIENCE": "shop",
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("apps.common.auth.tokens.AccessToken",),
}
# Login throttling (the contract's numbers): failed logins per email, counted in the cache, which
# is Redis where REDIS_URL is set, so the count holds across processes.
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
SERVICE_AUTH_SECRET = secret("SERVICE_AUTH_SECRET", PRODUCTION)

# --- Events: outbox, Kafka, Celery ----------------------------------------------------------
KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Processes that share one Redis broker but serve different apps each need their own queue, or a
# worker would run another app's tasks (the split topology of `make run-split` and the tests).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "shop")
# Beat's schedule (a shelve file) goes with the process's other state, never into the working
# directory (Celery's default), which is the checkout when run from it.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic tasks, each only where its app is served. The outbox relay is no task: it is a loop
# in each worker (apps/common/events/relay.py), woken at commit by PostgreSQL NOTIFY.
CELERY_BEAT_SCHEDULE = {}
if "inventory" in SERVICE_APPS:
    CELERY_BEAT_SCHEDULE["inventory.release_expired_reservations"] = {
        "task": "inventory.release_expired_reservations", "schedule": 60.0,
    }
# The relay loop polls the outbox this often when no NOTIFY woke it (SQLite: its only trigger),
# and claims, produces and flushes up to this many rows at a time.
OUTBOX_RELAY_POLL_SECONDS = env_float("OUTBOX_RELAY_POLL_SECONDS", 1.0)
OUTBOX_RELAY_BATCH_SIZE = env_int("OUTBOX_RELAY_BATCH_SIZE", 500)
# Kafka clients (apps/common/events/kafka.py) and event consumers (apps/common/events/consumers.py).
KAFKA_DELIVERY_TIMEOUT_SECONDS = env_int("KAFKA_DELIVERY_TIMEOUT_SECONDS", 10)
# Topics this product creates. With acks=all a publish needs KAFKA_MIN_INSYNC_REPLICAS replicas in
# sync: production runs 3 and 2 (one broker may be down), a single development broker 1 and 1.
KAFKA_PARTITIONS = env_int("KAFKA_PARTITIONS", 3)
KAFKA_REPLICATION_FACTOR = env_int("KAFKA_REPLICATION_FACTOR", 1)
KAFKA_MIN_INSYNC_REPLICAS = env_int("KAFKA_MIN_INSYNC_REPLICAS", 1)
if KAFKA_PARTITIONS < 1 or KAFKA_REPLICATION_FACTOR < 1:
    raise ImproperlyConfigured("KAFKA_PARTITIONS and KAFKA_REPLICATION_FACTOR must be at least 1.")
if not 1 <= KAFKA_MIN_INSYNC_REPLICAS <= KAFKA_REPLICATION_FACTOR:
    raise ImproperlyConfigured(
        f"KAFKA_MIN_INSYNC_REPLICAS must be between 1 and KAFKA_REPLICATION_FACTOR "
        f"({KAFKA_REPLICATION_FACTOR}), got {KAFKA_MIN_INSYNC_REPLICAS}.")
# TLS and SASL of every Kafka client (apps/common/events/kafka.py): SCRAM with a user name and password, or
# OAUTHBEARER with AWS MSK IAM (tokens signed for AWS_REGION with the pod's AWS credentials).
KAFKA_SECURITY_PROTOCOL = env_choice(
    "KAFKA_SECURITY_PROTOCOL", ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), "PLAINTEXT")
KAFKA_SASL_MECHANISM = env_choice("KAFKA_SASL_MECHANISM", ("SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"))
KAFKA_SASL_USERNAME = env_str("KAFKA_SASL_USERNAME")
KAFKA_SASL_PASSWORD = env_str("KAFKA_SASL_PASSWORD")
AWS_REGION = env_str("AWS_REGION")
if KAFKA_SECURITY_PROTOCOL.startswith("SASL_") != (KAFKA_SASL_MECHANISM is not None):
    raise ImproperlyConfigured("KAFKA_SASL_MECHANISM must be set exactly when KAFKA_SECURITY_PROTOCOL is "
                               f"SASL_SSL or SASL_PLAINTEXT (it is {KAFKA_SECURITY_PROTOCOL}).")
if KAFKA_SASL_MECHANISM and KAFKA_SASL_MECHANISM.startswith("SCRAM"):
    for _name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        if not env_str(_name):
            raise ImproperlyConfigured(f"{_name} must be set for {KAFKA_SASL_MECHANISM}.")
if KAFKA_SASL_MECHANISM == "OAUTHBEARER" and not AWS_REGION:
    raise ImproperlyConfigured("AWS_REGION must be set for KAFKA_SASL_MECHANISM=OAUTHBEARER (AWS MSK IAM).")
# Consumers read up to EVENT_BATCH_SIZE messages, waiting at most EVENT_BATCH_TIMEOUT_MS for them,
# and apply them in one transaction with one offset commit (docs/events.md).
EVENT_BATCH_SIZE = env_int("EVENT_BATCH_SIZE", 100)
EVENT_BATCH_TIMEOUT_MS = env_int("EVENT_BATCH_TIMEOUT_MS", 100)
# Attempts of one event whose handler fails unexpectedly (not a dependency, not a poison message)
# before it is dead-lettered.
EVENT_HANDLER_ATTEMPTS = env_int("EVENT_HANDLER_ATTEMPTS", 3)
# First back-off of a batch waiting for a dependency; doubles up to 30 s, with jitter, forever.
EVENT_HANDLER_BACKOFF_SECONDS = float(env_str("EVENT_HANDLER_BACKOFF_SECONDS", "0.5"))

# --- Inventory ---------------------------------------------------------------------------------
# How long unpaid checkouts hold their units before expiry gives them back.
RESERVATION_TTL_SECONDS = env_int("RESERVATION_TTL_SECONDS", 15 * 60)

# --- E-mail (receipts, sent by users) ----------------------------------------------------------
# EMAIL_URL (`smtp://user:password@host:587/?tls=True`, `console:`) or Django's usual EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS; neither: e-mails go to the console.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
if env_str("EMAIL_URL"):
    globals().update({name: value for name, value in dj_email_url.parse(env_str("EMAIL_URL")).items()
                      if value is not None})
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "shop@localhost")

# --- Payments ----------------------------------------------------------------------------------
PAYMENT_PROVIDER = env_choice("PAYMENT_PROVIDER", ("sandbox", "stripe"), "sandbox")  # apps/payments/providers
# Stripe (docs/payments.md): the secret key, the webhook endpoint's signing secret, and the API's
# address (Stripe's own; tests and stripe-mock point it elsewhere).
STRIPE_API_KEY = env_str("STRIPE_API_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_TIMEOUT_SECONDS = env_float("STRIPE_TIMEOUT_SECONDS", 10.0)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
# A signed webhook older than this (seconds) is refused as stale or replayed (Stripe's default).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
if PAYMENT_PROVIDER == "stripe" and not STRIPE_API_KEY:
    raise ImproperlyConfigured("STRIPE_API_KEY must be set for PAYMENT_PROVIDER=stripe.")
# Stripe's semantics: a key and its stored response live 24 hours; a key whose request died
# mid-flight (its process crashed) may be retried once the lock is this old.
IDEMPOTENCY_KEY_TTL_SECONDS = env_int("IDEMPOTENCY_KEY_TTL_SECONDS", 24 * 60 * 60)
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env_int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 60)
# Reconciliation (apps/payments/reconciliation.py): how often, how far back by default, and how
# long after its event was sent a payment's effect may still be on its way (not yet a loss).
# Every few minutes, well within RESERVATION_TTL_SECONDS: a paid reservation is committed before
# it could expire. The interval must exceed the grace, or a re-sent event is never checked again.
RECONCILE_SALES_INTERVAL_SECONDS = env_int("RECONCILE_SALES_INTERVAL_SECONDS", 120)
RECONCILE_SALES_WINDOW_SECONDS = env_int("RECONCILE_SALES_WINDOW_SECONDS", 3600)
RECONCILE_SALES_GRACE_SECONDS = env_int("RECONCILE_SALES_GRACE_SECONDS", 60)
# A payment still pending this long after it was opened lost its request (a crash, or a database
# gone from the charge on): resolve_pending_payments asks the provider and settles it. Longer than
# IDEMPOTENCY_LOCK_TIMEOUT_SECONDS, so a request that still runs is never raced.
PENDING_PAYMENT_TIMEOUT_SECONDS = env_int("PENDING_PAYMENT_TIMEOUT_SECONDS", 120)
if "payments" in SERVICE_APPS:
    CELERY_BEAT_SCHEDULE["payments.purge_expired_idempotency_keys"] = {
        "task": "payments.purge_expired_idempotency_keys", "schedule": 3600.0,
    }
    CELERY_BEAT_SCHEDULE["payments.reconcile_sales"] = {
        "task": "payments.reconcile_sales", "schedule": float(RECONCILE_SALES_INTERVAL_SECONDS),
        "options": {"expires": RECONCILE_SALES_INTERVAL_SECONDS},
    }
    CELERY_BEAT_SCHEDULE["payments.resolve_pending_payments"] = {
        "task": "payments.resolve_pending_payments", "schedule": 60.0, "options": {"expires": 60},
    }

# --- gRPC: where apps not served here live ----------------------------------------------------
GRPC_TARGETS = {app: env_str(f"{app.upper()}_GRPC_TARGET") for app in DOMAIN_APPS}
GRPC_PORT = env_int("GRPC_PORT", 50051)  # where `manage.py grpcserve` listens
# Loopback unless told otherwise: the chart binds the pod IP, compose every interface of the container.
GRPC_ADDRESS = env_str("GRPC_ADDRESS", "127.0.0.1")
# Every remote call's deadline (retries included); the breaker opens after this many consecutive
# unanswered calls and lets a trial call through after the cool-down.
GRPC_DEADLINE_SECONDS = env_float("GRPC_DEADLINE_SECONDS", 2.0)
GRPC_BREAKER_FAILURES = env_int("GRPC_BREAKER_FAILURES", 5)
GRPC_BREAKER_RESET_SECONDS = env_float("GRPC_BREAKER_RESET_SECONDS", 5.0)

# --- Observability -----------------------------------------------------------------------------
PROMETHEUS_EXPORT_MIGRATIONS = False
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, got {LOG_FORMAT!r}.")
LOGGING = logging_config(LOG_LEVEL, LOG_FORMAT)

# Browsers share cookies between ports of one host: in split mode each service's admin (one port
# each, or one port-forward each) keeps its own session and CSRF cookie, or signing in to one
# would sign out of the other.
SESSION_COOKIE_NAME = f"sessionid_{SERVICE_NAME}"
CSRF_COOKIE_NAME = f"csrftoken_{SERVICE_NAME}"

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

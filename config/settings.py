"""One settings module, driven by environment variables.

With no environment at all the project runs embedded: SQLite under var/, local-memory cache,
Celery tasks executed in process (no broker) and DEBUG on. Setting DATABASE_URL / REDIS_URL /
SECRET_KEY switches to the production shape (PostgreSQL, Redis cache + broker, DEBUG off).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_list

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_rate(name: str, default: str) -> str | None:
    """A DRF throttle rate ("60/min") from the environment; "off" or API_THROTTLE=0 means no limit."""
    value = os.environ.get(name, default).strip()
    return None if value.lower() in {"off", "none", ""} or not env_bool("API_THROTTLE", True) else value


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
# Embedded mode: nothing configured, so everything runs in one process on local files.
EMBEDDED = not DATABASE_URL and not REDIS_URL and "SECRET_KEY" not in os.environ

DEBUG = env_bool("DEBUG", EMBEDDED)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY is required when DATABASE_URL or REDIS_URL is set.")
    if not DEBUG:
        # DEBUG=0 means someone serves this to others: a key anyone can read in the source signs their sessions.
        raise ImproperlyConfigured(
            "DEBUG=0 needs a SECRET_KEY: set one in the environment (for example "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`); the built-in key is for local use only."
        )
    SECRET_KEY = "embedded-insecure-key-only-for-local-use"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if EMBEDDED else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "config.admin.ShopAdminConfig",  # django.contrib.admin with a project AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (the docs work offline)
    "mptt",
    "axes",
    "taxonomy",
    "catalog",
    "recommend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The shopper's visitor id cookie (made on first use, never a session): catalog/visitors.py.
    "catalog.visitors.VisitorCookieMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Admin edits say what they updated at once and which debounced rebuild they queued, and when.
    "recommend.core.followups.FollowupMessagesMiddleware",
    # With DEBUG on (embedded demo) shoppers still get the site's 404 page, not Django's debug page.
    "catalog.middleware.StorefrontNotFoundMiddleware",
    # The database unreachable (down, restarting): 503 with Retry-After (JSON under /api/), not a 500.
    "config.middleware.DatabaseUnavailableMiddleware",
    # Admin login lockout (django-axes): last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]
DEBUG_TECHNICAL_404 = env_bool("DEBUG_TECHNICAL_404", False)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "catalog.context_processors.storefront",
            ],
        },
    },
]

if DATABASE_URL:
    # Health checks: a connection PostgreSQL dropped (restart, idle timeout) is replaced, not reused to fail.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # An unreachable database fails a request (and /readyz) in seconds instead of hanging the worker.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            # WAL lets the web process read while an in-process job writes.
            # A background job runner (thread or `run_jobs` process) writes beside the web process: wait
            # for the lock instead of failing, and take it at BEGIN so a transaction never fails upgrading.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shop"),
            # Redis down or hanging: every cache call gives up within the timeout and acts as a miss, so
            # pages and reads fall back to the database instead of answering 500 (or hanging the worker).
            # A server that failed is then skipped for REDIS_RETRY_AFTER_SECONDS (config.redis_circuit): with a hung
            # Redis each call would wait the whole timeout, a dozen per page.
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", 0.5)),
                "SOCKET_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", 0.5)),
                "IGNORE_EXCEPTIONS": True,
                "REDIS_CLIENT_CLASS": "config.redis_circuit.CircuitRedis",
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True  # calls the circuit skipped are not logged (SkippedCallFilter)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Seconds a process skips a Redis server after a connection error or timeout: the cache, and the broker's publishes.
REDIS_RETRY_AFTER_SECONDS = float(os.environ.get("REDIS_RETRY_AFTER_SECONDS", 5))
BROKER_RETRY_AFTER_SECONDS = float(os.environ.get("BROKER_RETRY_AFTER_SECONDS", 10))

AUTHENTICATION_BACKENDS = [
    "config.auth_backends.LockoutBackend",  # django-axes: refuses a locked-out login before the password check
    "django.contrib.auth.backends.ModelBackend",
]
# Admin login: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked
# for AXES_COOLOFF_MINUTES (429); a good login resets the count. Attempts are kept in the database.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"  # the same address as the API throttles

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
ARTIFACT_ROOT = Path(os.environ.get("ARTIFACT_ROOT", VAR_DIR / "artifacts"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Model artifacts: swap for any django-storages backend (S3, GCS) so every machine sees them.
    "artifacts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ARTIFACT_ROOT)},
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Proxies in front that append the client's address to X-Forwarded-For (nginx, a load balancer): 1 behind a
# TLS proxy (BEHIND_TLS_PROXY), else 0, when X-Forwarded-For is the client's to forge and is ignored.
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 1 if env_bool("BEHIND_TLS_PROXY", False) else 0))
# Levels of arrays and objects a JSON body (API) or JSON line (importer) may nest; a taxonomy tree needs ~2 a level.
JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", 64))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # DRF's session authentication, plus a CSRF check on anonymous writes that carry cookies.
        "config.authentication.CookieCsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly"],
    # JSON with a bound on nesting (JSON_MAX_DEPTH): 10,000 brackets are a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "catalog.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "PAGE_SIZE": 24,
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttles.AnonThrottle",
        "config.throttles.UserThrottle",
        "config.throttles.ScopeThrottle",
        "config.throttles.ItemCountThrottle",
    ],
    # Per client and scope; "off" (or API_THROTTLE=0 for all, as the load benchmarks do) switches one off.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("THROTTLE_ANON_RATE", "300/min"),
        "user": env_rate("THROTTLE_USER_RATE", "1200/min"),
        "classify": env_rate("THROTTLE_CLASSIFY_RATE", "30/min"),
        # Items per account, whatever the batch sizes: one plain account cannot keep the model busy with 1,000-item
        # batches at the request rate (30 x 1,000 a minute).
        "classify_items": env_rate("THROTTLE_CLASSIFY_ITEMS_RATE", "3000/min"),
        "search": env_rate("THROTTLE_SEARCH_RATE", "60/min"),
    },
    # A client's address (anon and search buckets): REMOTE_ADDR, or with TRUSTED_PROXIES in front the
    # X-Forwarded-For entry the nearest trusted proxy appended. Never the client's own header (DRF's default
    # when this is None, which lets anyone pick a fresh bucket per request).
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop intelligence API",
    "DESCRIPTION": "Catalog, taxonomy, interactions and recommendations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content-Security-Policy (django-csp): scripts only from this site, or inline ones carrying the request's
# nonce (`<script nonce="{{ request.csp_nonce }}">`); inline styles stay allowed (admin widgets use them);
# product images come from the shops' own hosts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "https:", "http:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}

# Celery: no broker configured means tasks run eagerly in the calling process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# Jobs keep their state in the database (recommend.Job), so task results are not stored.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still take a producer from Celery's pool; with no URL kombu logs "No hostname was supplied.
    # Reverting to default 'localhost'" on every command that sends one. The in-memory transport never connects.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", 3600))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Jobs (recommend.core.jobs): time limit per queue unless a handler sets its own (seconds; soft limit, the
# hard one adds the grace); the broker's visibility timeout stays above the longest so Redis never hands a
# running job's message to a second worker.
JOB_TIME_LIMITS = {
    "default": CELERY_TASK_TIME_LIMIT,
    "inference": int(os.environ.get("JOB_INFERENCE_TIME_LIMIT", 900)),
    "training": int(os.environ.get("JOB_TRAINING_TIME_LIMIT", 6 * 3600)),
}
JOB_HARD_LIMIT_GRACE_SECONDS = 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(JOB_TIME_LIMITS.values()) + JOB_HARD_LIMIT_GRACE_SECONDS + 3600,
    # A hung Redis fails a publish instead of hanging the request: the send and kombu's reconnects each wait this
    # long (about 4 times in all), then the work is kept as a deferred job; a healthy Redis answers in milliseconds.
    "socket_connect_timeout": float(os.environ.get("BROKER_SOCKET_TIMEOUT", 1)),
    "socket_timeout": float(os.environ.get("BROKER_SOCKET_TIMEOUT", 1)),
}
# Prefix of every broker key and channel: deployments (or a test's own workers) sharing one Redis database stay apart.
if CELERY_BROKER_KEY_PREFIX := os.environ.get("CELERY_BROKER_KEY_PREFIX", ""):
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_BROKER_KEY_PREFIX
# A request that enqueues while the broker is down gives up within about a second (a hung broker: about 4
# BROKER_SOCKET_TIMEOUTs, then BROKER_RETRY_AFTER_SECONDS without trying): a job staff started is marked failed
# (they are told); automatic follow-ups and per-product tasks stay queued and the sweep sends them later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", 3))  # a job that kills its worker is not redelivered forever
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", 15))
JOB_STALE_AFTER_SECONDS = int(os.environ.get("JOB_STALE_AFTER_SECONDS", 180))  # no heartbeat this long: swept
JOB_SWEEP_SECONDS = 60  # how often celery beat and each embedded runner sweep
JOB_POLL_SECONDS = float(os.environ.get("JOB_POLL_SECONDS", 2))  # embedded runner: look for queued jobs
# Work a data change needs (recommend.DerivedWork rows, queued jobs) whose message is still not done this long after
# it was sent is sent again by the sweep, once its queue holds no waiting message (the broker lost it: Redis
# restarted empty or was flushed); past DERIVED_WORK_RESEND_SECONDS x 6 even with a backlog. A task sent this many
# times and never done is given up (logged, its row kept).
DERIVED_WORK_RESEND_SECONDS = int(os.environ.get("DERIVED_WORK_RESEND_SECONDS", 300))
DERIVED_WORK_MAX_SENDS = int(os.environ.get("DERIVED_WORK_MAX_SENDS", 5))
# Worker watchdog (recommend.core.watchdog): a Celery worker whose queues hold work (or that runs a task) while the
# broker answers, and that made no progress for this long, exits (code 75) so that its supervisor restarts it; 0: off.
WORKER_STALL_SECONDS = int(os.environ.get("WORKER_STALL_SECONDS", 90))
WORKER_WATCHDOG_INTERVAL = float(os.environ.get("WORKER_WATCHDOG_INTERVAL", 10))
# Touched by the watchdog on each healthy look; `manage.py worker_liveness` checks its age (one file per worker).
WORKER_LIVENESS_FILE = os.environ.get("WORKER_LIVENESS_FILE", str(VAR_DIR / "celery-worker.alive"))
# True: a job runs synchronously when its transaction commits (tests/conftest.py sets it for unit tests).
JOB_RUN_INLINE = env_bool("JOB_RUN_INLINE", False)

# The capabilities' own settings (data, models, similar items, search, recommendations, privacy...).
from config.capability_settings import *  # noqa: E402, F403

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # FAISS reports at INFO which CPU build it loaded, after two tracebacks-like lines: not news.
    # axes.apps logs "AXES: BEGIN version ..." at INFO on every start (lockouts log at WARNING from axes.handlers).
    "filters": {"circuit_skipped": {"()": "config.redis_circuit.SkippedCallFilter"}},
    "loggers": {
        "faiss.loader": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},
        # Staff reads of a named shopper's history: kept whatever LOG_LEVEL says.
        "recommend.audit": {"level": "INFO"},
        "django_redis.cache": {"filters": ["circuit_skipped"]},
    },
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
# HTTPS: off by default (the README runs gunicorn on plain HTTP behind nothing); set them once TLS is in front.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto only when a proxy that sets it (and strips the client's) is in front: otherwise any
# client could claim HTTPS.
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

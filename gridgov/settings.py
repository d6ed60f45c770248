"""gridgov settings: one module, configured by GRIDGOV_* environment variables.

Defaults run out of the box on the embedded SQLite database with background
tasks executed inline. See README.md and .env.example for every variable.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import dj_database_url

from gridgov.core.env import ConfigError, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("GRIDGOV_DEBUG", False)
SECRET_KEY = env_str("GRIDGOV_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("GRIDGOV_REQUIRE_SECRET_KEY", False):
        raise ConfigError("GRIDGOV_SECRET_KEY must be set in production")
    SECRET_KEY = "gridgov-insecure-development-key-change-me"

ALLOWED_HOSTS = env_list("GRIDGOV_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("GRIDGOV_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "gridgov.core",
    "gridgov.accounts",
    "gridgov.territory",
    "gridgov.people",
    "gridgov.appeals",
    "gridgov.open311",
    "gridgov.ledgers",
    "gridgov.demo",
    "gridgov.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridgov.core.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gridgov.core.middleware.DomainErrorMiddleware",
    "gridgov.core.middleware.ApiErrorShapeMiddleware",
]

ROOT_URLCONF = "gridgov.urls"
WSGI_APPLICATION = "gridgov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gridgov" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gridgov.core.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = env_str("GRIDGOV_DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except Exception as exc:  # dj_database_url raises several types for bad URLs
    raise ConfigError(f"GRIDGOV_DATABASE_URL is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("GRIDGOV_DB_PREPARED", True):
    # PostgreSQL: bind parameters on the server and prepare a statement once it has run
    # five times on a connection, so the hot queries (intake, Open311 pages) skip parsing
    # and planning; measured: PostgreSQL's CPU per intake 1.2 → 0.56 ms. Turn off behind a
    # pooler in transaction mode (PgBouncer < 1.21), which cannot keep prepared statements.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DATABASES["default"]["TEST"] = {"NAME": env_str("GRIDGOV_TEST_DATABASE_NAME", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

REDIS_URL = env_str("GRIDGOV_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager (inline) without Redis, a real broker with it. The in-memory broker is named
# with a host: without one, kombu logs "No hostname was supplied" each time a task is sent.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or env_bool("GRIDGOV_TASKS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    # Overdue marks, deadline reminders, late whistles, outbox retries (idempotent).
    "appeals-tick": {"task": "appeals.tick", "schedule": 300.0},
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "gridgov" / "locale"]
TIME_ZONE = env_str("GRIDGOV_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "gridgov" / "static",
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STATICFILES_DIRS = [
    d for d in STATICFILES_DIRS if Path(d[1] if isinstance(d, tuple) else d).is_dir()
]
# `make serve` collects the static files into STATIC_ROOT (compressed) and WhiteNoise serves
# them from there. `make run` collects nothing and runs with DEBUG off: WhiteNoise then finds
# the files where they lie (indexed once at start), or every page would come without its
# styles and scripts.
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_ROOT.is_dir()
if WHITENOISE_USE_FINDERS and not STATIC_ROOT.is_dir():
    warnings.filterwarnings("ignore", message=re.escape(f"No directory at: {STATIC_ROOT}"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if env_bool("GRIDGOV_COMPRESS_STATIC", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("GRIDGOV_MEDIA_ROOT", str(BASE_DIR / "media")))
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

EMAIL_BACKEND = env_str("GRIDGOV_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("GRIDGOV_FROM_EMAIL", "gridgov@localhost")

# The district this deployment serves (its code in the region tree).
GRIDGOV_DISTRICT_CODE = env_str("GRIDGOV_DISTRICT_CODE", "410205")
GRIDGOV_PAGE_SIZE = env_int("GRIDGOV_PAGE_SIZE", 50, minimum=1)
GRIDGOV_OPEN311_ANONYMOUS_POST = env_bool("GRIDGOV_OPEN311_ANONYMOUS_POST", False)
GRIDGOV_ANON_RATE_PER_MINUTE = env_int("GRIDGOV_ANON_RATE_PER_MINUTE", 30, minimum=1)
# Behind reverse proxies: count anonymous requests by an X-Forwarded-For address, the one
# GRIDGOV_RATE_TRUSTED_PROXIES (the number of proxies in front of the app) hops from the right.
GRIDGOV_RATE_TRUST_FORWARDED = env_bool("GRIDGOV_RATE_TRUST_FORWARDED", False)
GRIDGOV_RATE_TRUSTED_PROXIES = env_int("GRIDGOV_RATE_TRUSTED_PROXIES", 1, minimum=1)
# Intake confirmations (SMS with the tracking code) one phone number receives per rolling
# 24 hours; beyond it the case is still taken, the message is not queued (SMS bombing).
GRIDGOV_INTAKE_SMS_PER_PHONE = env_int("GRIDGOV_INTAKE_SMS_PER_PHONE", 3, minimum=0)
# Searches of the cases by a reporter's phone number (caller history, the queue's filter) one
# staff member may run per hour: each tells whether a number reported, so each is logged.
GRIDGOV_PHONE_SEARCHES_PER_HOUR = env_int("GRIDGOV_PHONE_SEARCHES_PER_HOUR", 200, minimum=1)
GRIDGOV_NAME_SEARCHES_PER_HOUR = env_int("GRIDGOV_NAME_SEARCHES_PER_HOUR", 300, minimum=1)
# How long a process remembers a valid API key (a revocation elsewhere applies within it).
GRIDGOV_APIKEY_CACHE_SECONDS = env_int("GRIDGOV_APIKEY_CACHE_SECONDS", 5, minimum=0)
# Mounts the HTTP benchmark's bare baseline view (gridgov/bench/_http.py); never in production.
GRIDGOV_BENCH = env_bool("GRIDGOV_BENCH", False)
GRIDGOV_SMS_BACKEND = env_str("GRIDGOV_SMS_BACKEND", "gridgov.appeals.channels.LoggingChannel")
GRIDGOV_WECHAT_BACKEND = env_str(
    "GRIDGOV_WECHAT_BACKEND", "gridgov.appeals.channels.LoggingChannel"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("GRIDGOV_LOG_LEVEL", "WARNING")},
}

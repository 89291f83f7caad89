"""Settings for the Octoway Django example: a site whose users log in with Django's own auth and
sessions, and which pushes to their browsers through Octoway. Everything that differs per machine
comes from the environment (see examples/README.md)."""
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REPO = BASE_DIR.parent.parent

try:
    import octoway  # noqa: F401  (pip install clients/python, or PYTHONPATH)
except ImportError:
    sys.path.insert(0, str(REPO / "clients" / "python"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "notes",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "site_push.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("DJANGO_DB", str(BASE_DIR / "db.sqlite3"))}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
LOGIN_URL = "/login/"

# The browser SDK is served from the repository's clients/js as /static/octoway.js.
STATIC_URL = "/static/"
STATICFILES_DIRS = [REPO / "clients" / "js"]

# Octoway: where the backend publishes (Basic auth) and where the browser connects.
OCTOWAY_URL = os.environ.get("OCTOWAY_URL", "http://127.0.0.1:7890")
OCTOWAY_LOGIN = os.environ.get("OCTOWAY_LOGIN", "admin")
OCTOWAY_PASSWORD = os.environ.get("OCTOWAY_PASSWORD", "")
OCTOWAY_WS_URL = os.environ.get("OCTOWAY_WS_URL", "ws://127.0.0.1:7890/ws")

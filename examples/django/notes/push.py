"""One Octoway client for the site, and the keys a user's sockets are kept under."""
import logging

from django.conf import settings
from octoway import Octoway, OctowayError

log = logging.getLogger(__name__)
_client = None


def client():
    global _client
    if _client is None:
        _client = Octoway(settings.OCTOWAY_URL, settings.OCTOWAY_LOGIN, settings.OCTOWAY_PASSWORD, timeout=3, retries=2)
    return _client


def organization(user):
    """A user's organisation: here, the name of their first group (or None)."""
    group = user.groups.order_by("name").first()
    return group.name if group else None


def push(key, value, **options):
    """Publishes without letting a push failure fail the request or the save that caused it."""
    try:
        return client().publish(key, value, **options)
    except OctowayError as error:
        log.warning("octoway publish to a key failed: %s", error.code)
        return None

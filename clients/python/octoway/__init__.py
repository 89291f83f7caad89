"""Octoway's Python client for backends: publish with Basic auth, a bearer token or an HMAC
signature, retried safely; the held-message, presence and history admin calls; tickets.
Standard library only."""

from .client import Octoway
from .errors import (
    BadRequest,
    Forbidden,
    NotFound,
    OctowayError,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "Octoway",
    "OctowayError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Unavailable",
]
__version__ = "0.1.0"

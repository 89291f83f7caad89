"""Exceptions raised by the Octoway client. Each carries the gateway's stable error code
(docs/errors.md), the HTTP status, the gateway's message and, where it sent one, Retry-After."""


class OctowayError(Exception):
    """Base class. `code` is the gateway's error code (match on it, never on the message);
    two codes come from the client itself: CONNECTION_FAILED and TIMEOUT (status 0)."""

    def __init__(self, code, message, status=0, retry_after=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after


class BadRequest(OctowayError):
    """400: the message or query was refused (INVALID_JSON, MISSING_KEY, INVALID_EXPIRE, ...). Not retried."""


class Unauthorized(OctowayError):
    """401: missing or wrong credentials (UNAUTHORIZED, PUBLISH_TOKEN_INVALID, HMAC_SIGNATURE_INVALID,
    HMAC_REPLAYED, ...). Not retried."""


class Forbidden(OctowayError):
    """403: refused for a reason other than credentials. Not retried."""


class NotFound(OctowayError):
    """404 NOT_FOUND: the URL does not point at the gateway's API. Not retried."""


class PayloadTooLarge(OctowayError):
    """413 BODY_TOO_LARGE: the body is over the gateway's WS_MAX_BODY. Not retried."""


class RateLimited(OctowayError):
    """429: too many requests; retried after Retry-After, raised once retries run out."""


class Unavailable(OctowayError):
    """5xx (STORE_UNAVAILABLE, SHUTTING_DOWN, ...), an unreachable gateway (CONNECTION_FAILED)
    or no answer in time (TIMEOUT): retried, raised once retries run out. A publish retried with
    the same message_id is never delivered twice."""


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 413: PayloadTooLarge, 429: RateLimited}


def error_for(status, code, message, retry_after=None):
    """The exception for an HTTP answer with this status and body code."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = Unavailable if status >= 500 else OctowayError
    return cls(code, message, status, retry_after)


def is_retryable(error):
    return isinstance(error, (Unavailable, RateLimited))

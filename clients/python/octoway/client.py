"""The Octoway backend client: publish (one message or a batch) with retries that reuse one
message_id, the held-message, presence and history admin calls, and tickets. Publishers
authenticate with Basic credentials, a bearer token or an HMAC signature of the body.
Standard library only; every call has a timeout."""

import base64
import hashlib
import hmac
import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from .errors import OctowayError, Unavailable, error_for, is_retryable

__all__ = ["Octoway"]


class Octoway:
    """A client for one gateway.

    url: the gateway's base URL, e.g. "http://localhost:7890" (publish and admin calls go to "/",
      tickets to "/tickets").
    Credentials, at least one kind (WS_PUBLISH_AUTH says which the gateway takes):
    login, password: the gateway's WS_LOGIN and WS_PASSWORD (`basic`).
    token: one of the gateway's WS_PUBLISH_TOKENS (`bearer`), sent as "Authorization: Bearer".
    hmac_secret: the gateway's WS_HMAC_SECRET (`hmac`): every publish is signed with it, anew for
      each attempt. The gateway takes signatures on publishes only: admin calls and tickets use
      login/password or token, so give one of them too if you make those calls.
    timeout: seconds for each network operation of one attempt (connect, send, each read).
    retries: further attempts after a failure that may pass on retry (5xx, 429, unreachable,
      timeout); 400-class answers are raised at once.
    backoff, max_backoff: the first retry waits a random time up to `backoff` seconds, doubling
      per retry up to `max_backoff` (full jitter); a Retry-After from the gateway is honoured up
      to `max_backoff`.
    """

    def __init__(self, url, login=None, password=None, timeout=5.0, retries=3, backoff=0.2, max_backoff=5.0,
                 token=None, hmac_secret=None):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("url must be http:// or https:// with a host, got %r" % (url,))
        self.url = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/") + "/", "", ""))
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        if (login is None) != (password is None):
            raise ValueError("give login and password together")
        if login is not None and token is not None:
            raise ValueError("give login/password or token, not both")
        if login is None and token is None and not hmac_secret:
            raise ValueError("give credentials: login and password, token, or hmac_secret")
        if token is not None and not token:
            raise ValueError("token must not be empty")
        self._authorization = None
        if login is not None:
            basic = base64.b64encode(("%s:%s" % (login, password)).encode("utf-8")).decode("ascii")
            self._authorization = "Basic " + basic
        elif token is not None:
            self._authorization = "Bearer " + token
        self._hmac_secret = hmac_secret.encode("utf-8") if isinstance(hmac_secret, str) else hmac_secret

    # -- publishing -------------------------------------------------------------------------

    def publish(self, key, value, expire=None, keys=None, message_id=None):
        """Publishes `value` to `key` (and/or every key in `keys`; pass key=None to use keys only).
        `expire` is a duration string ("30s", "5m", "1h30m"; "0": open sockets only).
        Without `message_id` one is made up, so every retry of this call is the same message.
        Returns the gateway's answer: {"id", "delivered", "held"} (and "duplicate": true for a
        repeated message_id)."""
        message = _message(key, value, expire, keys, message_id)
        if "message_id" not in message:
            message["message_id"] = str(uuid.uuid4())
        return self._call("POST", "", message)

    def publish_batch(self, messages):
        """Publishes several messages in one request: each a dict with key and/or keys, value,
        and optionally expire and message_id (one is made up for each that lacks it). All are
        checked first: one bad message raises BadRequest naming its index and none is published.
        Returns the list of per-message answers, in order."""
        batch = []
        for m in messages:
            item = _message(m.get("key"), m.get("value"), m.get("expire"), m.get("keys"), m.get("message_id"))
            if "message_id" not in item:
                item["message_id"] = str(uuid.uuid4())
            batch.append(item)
        return self._call("POST", "", {"messages": batch})["results"]

    # -- admin ------------------------------------------------------------------------------

    def keys(self):
        """The keys that hold messages, as a list of strings."""
        listed = self._call("GET", "")
        # Goctopus answers key strings; older Octoway answered {"key", "count"} items.
        return [item["key"] if isinstance(item, dict) else item for item in listed]

    def held(self, key):
        """The messages held for `key`, oldest first: dicts with at least "id", "key" and "payload"."""
        return self._call("GET", "?" + urllib.parse.urlencode({"key": key}))

    def delete(self, key=None, id=None):
        """Removes held messages: all (no argument), one key's, or one message (key and id).
        Returns how many were removed."""
        if id is not None and key is None:
            raise ValueError("delete(id=...) needs the key too")
        query = {k: v for k, v in (("key", key), ("id", id)) if v is not None}
        answer = self._call("DELETE", "?" + urllib.parse.urlencode(query) if query else "")
        return answer.get("removed") if isinstance(answer, dict) else answer

    def presence(self):
        """Open sockets per key or pattern ({"alice@example.com": 2, ...}); cluster-wide with Redis."""
        return self._call("GET", "?presence")

    def history(self, key):
        """`key`'s most recent messages, delivered or not, oldest first: dicts with "date", "exp",
        "id", "key" and "payload". [] while the gateway's WS_HISTORY_SIZE is 0."""
        return self._call("GET", "?" + urllib.parse.urlencode({"key": key}) + "&history")

    # -- tickets (WS_AUTH_MODE listing ticket) -----------------------------------------------

    def create_ticket(self, user, session=None, keys=None, claims=None, ttl=None):
        """Makes a single-use ticket for `user`; the browser connects once with
        "/ws?ticket=<answer["ticket"]>". `session` names the tab or device, `keys` adds routing
        keys, `claims` is a JSON object kept with the socket, `ttl` a duration string ("30s";
        default the gateway's WS_TICKET_TTL). Returns {"ticket", "user", "session"?, "expires_at"}.
        A retry after a lost answer may leave one unused ticket behind; it expires unused."""
        body = {"user": user}
        for name, value in (("session", session), ("keys", keys), ("claims", claims), ("ttl", ttl)):
            if value is not None:
                body[name] = list(value) if name == "keys" else value
        return self._call("POST", "tickets", body)

    def tickets(self, user, session=None):
        """`user`'s unused, unexpired tickets (of one `session` if given), soonest to expire first."""
        return self._call("GET", "tickets?" + _user_query(user, session))["tickets"]

    def delete_tickets(self, user, session=None):
        """Removes `user`'s unused tickets (of one `session` if given); returns how many."""
        return self._call("DELETE", "tickets?" + _user_query(user, session))["removed"]

    # -- transport --------------------------------------------------------------------------

    def _call(self, method, path_and_query, body=None):
        attempt = 0
        # The gateway refuses a signature it accepted within WS_HMAC_TOLERANCE, and a retry sends
        # the same bytes (same message_id): each attempt of one call signs with a later `t` than
        # the one before (at most `retries` seconds ahead of the clock, well inside the
        # tolerance), so a retry after a lost answer is a duplicate, never HMAC_REPLAYED.
        signed = {"t": 0}
        while True:
            try:
                return self._once(method, path_and_query, body, signed)
            except OctowayError as error:
                if not is_retryable(error) or attempt >= self.retries:
                    raise
                ceiling = min(self.max_backoff, self.backoff * (2 ** attempt))
                delay = random.uniform(0, ceiling)
                if error.retry_after is not None:
                    delay = max(delay, min(error.retry_after, self.max_backoff))
                time.sleep(delay)
                attempt += 1

    def _once(self, method, path_and_query, body, signed):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path_and_query, data=data, method=method)
        if self._hmac_secret and method == "POST" and path_and_query == "":
            # Signed per attempt: the gateway checks the exact bytes sent, with a fresh `t`.
            request.add_header("X-Octoway-Signature", self._sign(data, signed))
        elif self._authorization is not None:
            request.add_header("Authorization", self._authorization)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _json(response.read())
        except urllib.error.HTTPError as answer:
            with answer:
                raise _http_error(answer) from None
        except (OSError, http.client.HTTPException) as failure:
            # urllib wraps connection failures in URLError (an OSError); a read that times out
            # raises socket.timeout (TimeoutError from Python 3.10); a cut answer, HTTPException.
            reason = getattr(failure, "reason", failure)
            if isinstance(reason, socket.timeout):
                raise Unavailable("TIMEOUT", "no answer within %ss" % self.timeout) from failure
            raise Unavailable("CONNECTION_FAILED", str(reason)) from failure

    def _sign(self, data, signed):
        t = max(int(time.time()), signed["t"] + 1)
        signed["t"] = t
        v1 = hmac.new(self._hmac_secret, str(t).encode("ascii") + b"." + data, hashlib.sha256).hexdigest()
        return "t=%d,v1=%s" % (t, v1)


def _user_query(user, session):
    if not user:
        raise ValueError("user must not be empty")
    query = {"user": user}
    if session is not None:
        query["session"] = session
    return urllib.parse.urlencode(query)


def _message(key, value, expire, keys, message_id):
    if key is None and not keys:
        raise ValueError("give key or keys")
    if value is None:
        raise ValueError("value must not be None")
    message = {"value": value}
    if key is not None:
        message["key"] = key
    if keys:
        message["keys"] = list(keys)
    if expire is not None:
        message["expire"] = expire
    if message_id is not None:
        message["message_id"] = message_id
    return message


def _json(raw):
    if not raw:
        return None
    return json.loads(raw.decode("utf-8"))


def _http_error(answer):
    try:
        raw = answer.read()
    except (OSError, http.client.HTTPException):
        raw = b""
    code, message = "HTTP_%d" % answer.code, raw.decode("utf-8", "replace")[:200]
    try:
        parsed = json.loads(raw.decode("utf-8"))
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            code, message = parsed["error"], str(parsed.get("message", ""))
    except ValueError:
        pass
    retry_after = answer.headers.get("Retry-After")
    seconds = float(retry_after) if retry_after is not None and retry_after.strip().isdigit() else None
    return error_for(answer.code, code, message, seconds)

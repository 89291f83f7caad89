"""The Python client against a real gateway. Run by test/clients/python-sdk.test.ts, which starts
the gateway (WS_PUBLISH_AUTH=basic,bearer,hmac, WS_AUTH_MODE=ticket,forward, WS_HISTORY_SIZE > 0)
and sets OCTOWAY_URL, OCTOWAY_LOGIN, OCTOWAY_PASSWORD, OCTOWAY_TOKEN and OCTOWAY_HMAC_SECRET;
stdlib unittest only."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import socket
import threading
import time
import unittest
import urllib.parse
import urllib.request
import uuid

from octoway import BadRequest, Octoway, Unauthorized, Unavailable

URL = os.environ["OCTOWAY_URL"]
LOGIN = os.environ["OCTOWAY_LOGIN"]
PASSWORD = os.environ["OCTOWAY_PASSWORD"]
TOKEN = os.environ["OCTOWAY_TOKEN"]
HMAC_SECRET = os.environ["OCTOWAY_HMAC_SECRET"]


def unique(name):
    return "%s-%s@example.com" % (name, uuid.uuid4().hex[:8])


class Proxy:
    """A loopback HTTP server in front of the gateway that misbehaves on chosen attempts:
    'drop' forwards the request to the gateway but closes the connection without the answer;
    'fail' answers 503 STORE_UNAVAILABLE itself; 'forward' passes the answer through."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.bodies = []
        self.signatures = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.bodies.append(json.loads(body))
                proxy.signatures.append(self.headers.get("X-Octoway-Signature"))
                step = proxy.plan.pop(0) if proxy.plan else "forward"
                if step == "fail":
                    answer = b'{"error":"STORE_UNAVAILABLE","message":"try again"}'
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                headers = {"Content-Type": "application/json"}
                for name in ("Authorization", "X-Octoway-Signature"):
                    if self.headers.get(name) is not None:
                        headers[name] = self.headers[name]
                forwarded = urllib.request.Request(URL, data=body, method="POST", headers=headers)
                with urllib.request.urlopen(forwarded, timeout=5) as response:
                    status, answer = response.status, response.read()
                if step == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class PublishTest(unittest.TestCase):
    def setUp(self):
        self.client = Octoway(URL, LOGIN, PASSWORD, timeout=5, retries=2, backoff=0.01)

    def test_publish_holds_for_an_absent_key_and_admin_lists_and_deletes(self):
        key = unique("held")
        answer = self.client.publish(key, {"hello": "python"}, expire="5m", message_id="order-" + key)
        self.assertEqual(answer["id"], "order-" + key)
        self.assertEqual((answer["delivered"], answer["held"]), (0, 1))
        self.assertIn(key, self.client.keys())
        held = self.client.held(key)
        self.assertEqual([(m["id"], m["payload"]) for m in held], [("order-" + key, {"hello": "python"})])
        self.assertEqual(self.client.delete(key, "order-" + key), 1)
        self.assertEqual(self.client.held(key), [])
        self.assertNotIn(key, self.client.keys())

    def test_a_repeated_message_id_is_a_duplicate(self):
        key = unique("dup")
        first = self.client.publish(key, 1)
        uuid.UUID(first["id"])  # made up by the client, so retries reuse it
        again = self.client.publish(key, 1, message_id=first["id"])
        self.assertTrue(again.get("duplicate"))
        self.assertEqual(len(self.client.held(key)), 1)
        self.assertEqual(self.client.delete(key), 1)

    def test_keys_fan_out(self):
        a, b = unique("a"), unique("b")
        answer = self.client.publish(None, "both", keys=[a, b])
        self.assertEqual(answer["held"], 2)
        self.assertEqual(self.client.delete(a) + self.client.delete(b), 2)

    def test_batch_publishes_in_order_and_a_bad_item_publishes_nothing(self):
        key = unique("batch")
        results = self.client.publish_batch([{"key": key, "value": 1}, {"key": key, "value": 2, "message_id": "m2-" + key}])
        self.assertEqual(len(results), 2)
        self.assertEqual(results[1]["id"], "m2-" + key)
        self.assertEqual([m["payload"] for m in self.client.held(key)], [1, 2])
        with self.assertRaises(BadRequest) as caught:
            self.client.publish_batch([{"key": key, "value": 3}, {"key": key, "value": 4, "expire": "soon"}])
        self.assertEqual((caught.exception.code, caught.exception.status), ("INVALID_EXPIRE", 400))
        self.assertIn("messages[1]", caught.exception.message)
        self.assertEqual(len(self.client.held(key)), 2)
        self.client.delete(key)

    def test_errors_carry_the_gateway_code(self):
        with self.assertRaises(BadRequest) as caught:
            self.client.publish(unique("x"), 1, expire=30)
        self.assertEqual(caught.exception.code, "INVALID_EXPIRE")
        started = time.monotonic()
        with self.assertRaises(Unauthorized) as caught:
            Octoway(URL, LOGIN, "wrong", retries=5, backoff=1).publish(unique("x"), 1)
        self.assertEqual((caught.exception.code, caught.exception.status), ("UNAUTHORIZED", 401))
        self.assertLess(time.monotonic() - started, 0.9, "a 401 is not retried")


class RetryTest(unittest.TestCase):
    def test_a_lost_answer_is_retried_with_the_same_message_id_and_published_once(self):
        key = unique("retry")
        with Proxy(["drop", "fail", "forward"]) as proxy:
            answer = Octoway(proxy.url, LOGIN, PASSWORD, timeout=5, retries=3, backoff=0.01).publish(key, "once")
        ids = [body["message_id"] for body in proxy.bodies]
        self.assertEqual(len(ids), 3)
        self.assertEqual(len(set(ids)), 1, "every attempt carried one message_id")
        self.assertTrue(answer.get("duplicate"), "the first attempt reached the gateway; the retry is its duplicate")
        client = Octoway(URL, LOGIN, PASSWORD)
        self.assertEqual([m["id"] for m in client.held(key)], ids[:1])
        client.delete(key)

    def test_retries_run_out_into_unavailable(self):
        with Proxy(["fail", "fail"]) as proxy:
            with self.assertRaises(Unavailable) as caught:
                Octoway(proxy.url, LOGIN, PASSWORD, retries=1, backoff=0.01).publish(unique("x"), 1)
        self.assertEqual((caught.exception.code, caught.exception.status), ("STORE_UNAVAILABLE", 503))
        self.assertEqual(len(proxy.bodies), 2)

    def test_a_silent_server_times_out(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections (the kernel does) and never answers
        try:
            started = time.monotonic()
            with self.assertRaises(Unavailable) as caught:
                Octoway("http://127.0.0.1:%d" % silent.getsockname()[1], LOGIN, PASSWORD, timeout=0.2, retries=1, backoff=0.01).keys()
            self.assertEqual(caught.exception.code, "TIMEOUT")
            self.assertLess(time.monotonic() - started, 2)
        finally:
            silent.close()

    def test_an_unreachable_gateway_is_connection_failed(self):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        with self.assertRaises(Unavailable) as caught:
            Octoway("http://127.0.0.1:%d" % port, LOGIN, PASSWORD, retries=1, backoff=0.01).publish(unique("x"), 1)
        self.assertEqual(caught.exception.code, "CONNECTION_FAILED")


def check_signature(header, body):
    """The gateway's rule (docs/authentication.md): v1 = hex HMAC-SHA256(secret, "<t>.<raw body>")."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(HMAC_SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return int(fields["t"]), hmac.compare_digest(fields["v1"], expected)


class PublisherAuthTest(unittest.TestCase):
    def test_a_bearer_token_publishes_and_administers(self):
        client = Octoway(URL, token=TOKEN, retries=0)
        key = unique("bearer")
        self.assertEqual(client.publish(key, "by token")["held"], 1)
        self.assertEqual([m["payload"] for m in client.held(key)], ["by token"])
        self.assertEqual(client.delete(key), 1)
        with self.assertRaises(Unauthorized) as caught:
            Octoway(URL, token="not-" + TOKEN, retries=3, backoff=1).publish(unique("x"), 1)
        self.assertEqual((caught.exception.code, caught.exception.status), ("PUBLISH_TOKEN_INVALID", 401))

    def test_an_hmac_signed_publish_is_accepted_and_a_wrong_secret_refused(self):
        key = unique("hmac")
        answer = Octoway(URL, hmac_secret=HMAC_SECRET, retries=0).publish(key, {"signed": True})
        self.assertEqual(answer["held"], 1)
        admin = Octoway(URL, LOGIN, PASSWORD)
        self.assertEqual([m["payload"] for m in admin.held(key)], [{"signed": True}])
        admin.delete(key)
        with self.assertRaises(Unauthorized) as caught:
            Octoway(URL, hmac_secret="x" * 32, retries=3, backoff=1).publish(unique("x"), 1)
        self.assertEqual(caught.exception.code, "HMAC_SIGNATURE_INVALID")

    def test_a_retried_signed_publish_is_signed_anew_and_published_once(self):
        # Without a fresh `t` the retry, sent within the same second with the same bytes, would
        # carry the signature the gateway already accepted and be refused as HMAC_REPLAYED.
        key = unique("hmac-retry")
        with Proxy(["drop", "forward"]) as proxy:
            answer = Octoway(proxy.url, hmac_secret=HMAC_SECRET, retries=2, backoff=0.01).publish(key, "once")
        self.assertTrue(answer.get("duplicate"), "the first attempt reached the gateway; the retry is its duplicate")
        self.assertEqual(len(proxy.signatures), 2)
        self.assertNotEqual(proxy.signatures[0], proxy.signatures[1])
        raw = json.dumps(proxy.bodies[0]).encode()
        times = []
        for header in proxy.signatures:
            t, valid = check_signature(header, raw)
            self.assertTrue(valid, header)
            times.append(t)
        self.assertLess(times[0], times[1])
        self.assertLessEqual(abs(times[0] - time.time()), 5)
        admin = Octoway(URL, LOGIN, PASSWORD)
        self.assertEqual(len(admin.held(key)), 1)
        admin.delete(key)

    def test_a_signed_publish_carries_no_authorization_and_credentials_are_checked(self):
        with Proxy(["forward"]) as proxy:
            Octoway(proxy.url, hmac_secret=HMAC_SECRET).publish(unique("hdr"), 1, expire="0")
        self.assertIsNotNone(proxy.signatures[0])
        with self.assertRaises(ValueError):
            Octoway(URL)
        with self.assertRaises(ValueError):
            Octoway(URL, LOGIN)
        with self.assertRaises(ValueError):
            Octoway(URL, LOGIN, PASSWORD, token=TOKEN)


def open_socket(query):
    """A WebSocket handshake on /ws by hand (the standard library has no WebSocket client):
    returns the status line and, on 101, the open socket."""
    address = urllib.parse.urlsplit(URL)
    connection = socket.create_connection((address.hostname, address.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    connection.sendall(("GET /ws?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (query, address.netloc, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n", 1)[0].decode(), connection


class TicketPresenceHistoryTest(unittest.TestCase):
    def setUp(self):
        self.client = Octoway(URL, LOGIN, PASSWORD, retries=0)

    def test_a_ticket_opens_one_socket_which_presence_counts(self):
        user = unique("ticket")
        made = self.client.create_ticket(user, session="tab-1", keys=["room-" + user], claims={"plan": "pro"}, ttl="30s")
        self.assertEqual((made["user"], made["session"]), (user, "tab-1"))
        self.assertGreater(made["expires_at"], time.time())
        listed = self.client.tickets(user)
        self.assertEqual([t["ticket"] for t in listed], [made["ticket"]])
        self.assertEqual(listed[0]["keys"], ["room-" + user])
        status, connection = open_socket(urllib.parse.urlencode({"ticket": made["ticket"]}))
        try:
            self.assertIn(" 101 ", status)
            deadline = time.monotonic() + 5
            while self.client.presence().get(user) != 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            counts = self.client.presence()
            self.assertEqual((counts.get(user), counts.get("room-" + user)), (1, 1))
            self.assertEqual(self.client.tickets(user), [], "a used ticket is gone")
            again, second = open_socket(urllib.parse.urlencode({"ticket": made["ticket"]}))
            second.close()
            self.assertIn(" 401 ", again, "a ticket opens one socket")
        finally:
            connection.close()

    def test_tickets_are_listed_and_deleted_per_session(self):
        user = unique("tickets")
        self.client.create_ticket(user, session="a")
        self.client.create_ticket(user, session="b")
        self.client.create_ticket(user, session="b")
        self.assertEqual(len(self.client.tickets(user)), 3)
        self.assertEqual([t["session"] for t in self.client.tickets(user, session="b")], ["b", "b"])
        self.assertEqual(self.client.delete_tickets(user, session="b"), 2)
        self.assertEqual(self.client.delete_tickets(user), 1)
        self.assertEqual(self.client.tickets(user), [])
        with self.assertRaises(BadRequest) as caught:
            self.client.create_ticket(user, ttl="soon")
        self.assertEqual(caught.exception.code, "INVALID_TICKET_TTL")
        with self.assertRaises(Unauthorized):
            Octoway(URL, hmac_secret=HMAC_SECRET).create_ticket(user)

    def test_history_keeps_delivered_and_held_messages(self):
        key = unique("history")
        self.assertEqual(self.client.history(key), [])
        self.client.publish(key, 1, message_id="h1-" + key)
        self.client.publish(key, 2, message_id="h2-" + key, expire="0")
        history = self.client.history(key)
        self.assertEqual([(m["id"], m["payload"]) for m in history], [("h1-" + key, 1), ("h2-" + key, 2)])
        self.assertEqual(history[0]["key"], key)
        self.client.delete(key)
        self.assertEqual(len(self.client.history(key)), 2, "history is separate from held messages")


if __name__ == "__main__":
    unittest.main()

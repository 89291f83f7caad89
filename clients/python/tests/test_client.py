"""The Python client against a real gateway. Run by test/clients/python-sdk.test.ts, which starts
the gateway and sets OCTOWAY_URL, OCTOWAY_LOGIN and OCTOWAY_PASSWORD; stdlib unittest only."""

import http.server
import json
import os
import socket
import threading
import time
import unittest
import urllib.request
import uuid

from octoway import BadRequest, Octoway, Unauthorized, Unavailable

URL = os.environ["OCTOWAY_URL"]
LOGIN = os.environ["OCTOWAY_LOGIN"]
PASSWORD = os.environ["OCTOWAY_PASSWORD"]


def unique(name):
    return "%s-%s@example.com" % (name, uuid.uuid4().hex[:8])


class Proxy:
    """A loopback HTTP server in front of the gateway that misbehaves on chosen attempts:
    'drop' forwards the request to the gateway but closes the connection without the answer;
    'fail' answers 503 STORE_UNAVAILABLE itself; 'forward' passes the answer through."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.bodies = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.bodies.append(json.loads(body))
                step = proxy.plan.pop(0) if proxy.plan else "forward"
                if step == "fail":
                    answer = b'{"error":"STORE_UNAVAILABLE","message":"try again"}'
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                forwarded = urllib.request.Request(URL, data=body, method="POST", headers={
                    "Authorization": self.headers["Authorization"], "Content-Type": "application/json"})
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


if __name__ == "__main__":
    unittest.main()

"""A local HTTP server standing in for Twilio's Messages API, for the tests of outgoing texts."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    """A local HTTP server answering like Twilio's Messages API: it records every request and answers from a list
    the test fills (default: 201 with a new message SID)."""

    def __init__(self, delay=0.0):
        self.requests = []
        self.answers = []
        self.delay = delay  # seconds before each answer, so concurrent senders overlap
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": parse_qs(raw.decode())})
                time.sleep(fake.delay)
                status, payload, headers = fake.answers.pop(0) if fake.answers else (201, None, {})
                payload = payload or {"sid": f"SM{len(fake.requests):032d}", "status": "queued"}
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, status, payload=None, headers=None):
        self.answers.append((status, payload or {}, headers or {}))

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

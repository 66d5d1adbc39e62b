"""A local stand-in for the VIES REST API (POST check-vat-number), for tests:
no test reaches the internet. Registered ids answer valid, others invalid;
`down` makes it answer 503 with VIES's MS_UNAVAILABLE error."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache


class ViesServer:
    def __init__(self, registered: dict[str, str]):
        self.registered = dict(registered)  # "DE136695976" -> registered name
        self.down = False
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                server.requests.append(body)
                if server.down:
                    payload, status = {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}, 503
                else:
                    vat_id = f"{body.get('countryCode', '')}{body.get('vatNumber', '')}".replace("EL", "GR", 1)
                    name = server.registered.get(vat_id)
                    payload = {"countryCode": body.get("countryCode"), "vatNumber": body.get("vatNumber"),
                               "requestDate": "2026-11-30T10:00:00.000Z", "valid": name is not None,
                               "name": name or "---", "userError": "VALID" if name else "INVALID"}
                    status = 200
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/check-vat-number"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# A VAT id the local VIES knows (Muster GmbH), for the tests of VAT by place of supply.
REGISTERED = "DE136695976"


@pytest.fixture
def vies(settings):
    """A local VIES (VAT ids checked by billing.vies) knowing REGISTERED."""
    cache.clear()
    with ViesServer({REGISTERED: "Muster GmbH"}) as server:
        settings.VIES_URL = server.url
        yield server
    cache.clear()

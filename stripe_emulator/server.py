"""HTTP transport (standard library only) and the embeddable server."""

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .app import Config, Emulator

log = logging.getLogger("stripe_emulator.http")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's HTTP client expects
    server_version = "stripe-emulator"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and body are separate writes; without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp = self.server.emulator.handle(self.command, self.path, headers, body)
        payload = resp.encode()
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    def log_message(self, format, *args):
        log.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class EmulatorServer:
    """The emulator on a background thread.

        srv = EmulatorServer(port=0).start()   # port 0: any free port
        stripe_client = stripe.StripeClient("sk_test_emulator", base_addresses={"api": srv.url})
        ...
        srv.stop()

    Also a context manager. Extra keyword arguments are `Config` fields
    (webhook_timeout, webhook_max_attempts, webhook_concurrency, refund_delay,
    dispute_delay, sweep_interval, reorder_window, ...)."""

    def __init__(self, host="127.0.0.1", port=0, api_key="sk_test_emulator", state_path=None,
                 webhook_retry_base=1.0, public_url=None, **options):
        self.config = Config(api_key=api_key, state_path=state_path, public_url=public_url,
                             webhook_retry_base=webhook_retry_base, **options)
        self.host, self.port = host, port
        self.emulator = None
        self._httpd = None
        self._thread = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        self.emulator = Emulator(self.config)
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.emulator = self.emulator
        self.port = self._httpd.server_address[1]
        if not self.emulator.public_url:
            self.emulator.public_url = self.url
        self.emulator.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,),
                                        name="emulator-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        """Run in the calling thread (the CLI) until interrupted."""
        self.start()
        logging.getLogger("stripe_emulator").info("Stripe emulator listening on %s (hosted pages: %s)",
                                                  self.url, self.emulator.public_url)
        try:
            self._thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self):
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self.emulator.stop()
        self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

"""What a handler may return instead of a JSON dict."""

import json
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int = 200
    body: object = None  # dict/list (JSON), str (HTML) or None
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self):
        if self.body is None:
            return b""
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body, indent=2).encode()
        return self.body.encode()


def redirect(location):
    return Response(303, None, {"Location": location}, "text/plain")


def html(status, page):
    return Response(status, page, {}, "text/html; charset=utf-8")


def unlocked(handler):
    """Mark a handler that must not hold the state lock (it waits for
    background work that needs the lock)."""
    handler.unlocked = True
    return handler

"""All emulator state, behind one lock, optionally persisted to a JSON file."""

import json
import os
import secrets
import string
import tempfile
import threading
import time

from .wire import not_found

_ALPHABET = string.ascii_letters + string.digits


class Store:
    """Objects by id, exactly as the API returns them (unexpanded), plus
    `private` facts Stripe keeps but never shows (test-card behaviour, webhook
    secrets, a session's line items) and the idempotency cache.

    Callers hold `lock` around every read-modify-write; handlers run under it."""

    def __init__(self, path=None):
        self.lock = threading.RLock()
        self.path = path
        self.clear()
        if path and os.path.exists(path):
            self.load()

    def clear(self):
        with self.lock:
            self.objects = {}
            self.order = {}  # id -> creation sequence, for newest-first lists
            self.private = {}
            self.idempotency = {}
            self.deleted = {}  # id -> object type, so a retrieve answers `deleted: true`
            self.seq = 0
            # Seconds added to the wall clock (control route /_emulator/clock),
            # so tests can let sessions expire without waiting.
            self.clock_offset = 0

    def now(self):
        return int(time.time()) + self.clock_offset

    @staticmethod
    def new_id(prefix, length=24):
        return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def add(self, obj, private=None):
        with self.lock:
            self.seq += 1
            self.objects[obj["id"]] = obj
            self.order[obj["id"]] = self.seq
            if private is not None:
                self.private[obj["id"]] = private
        return obj

    def get(self, id_, type_=None):
        obj = self.objects.get(id_) if isinstance(id_, str) else None
        if obj is None or (type_ and obj.get("object") != type_):
            return None
        return obj

    def require(self, id_, type_, param="id", kind=None):
        obj = self.get(id_, type_)
        if obj is None:
            raise not_found(kind or type_.split(".")[-1].replace("_", " "), id_, param=param)
        return obj

    def secret(self, id_):
        return self.private.setdefault(id_, {})

    def all(self, type_, predicate=None):
        """Objects of `type_`, newest first."""
        with self.lock:
            found = [o for o in self.objects.values()
                     if o.get("object") == type_ and (predicate is None or predicate(o))]
        found.sort(key=lambda o: self.order[o["id"]], reverse=True)
        return found

    def remove(self, id_):
        with self.lock:
            obj = self.objects.pop(id_, None)
            if obj is not None:
                self.deleted[id_] = obj["object"]
            self.order.pop(id_, None)
            self.private.pop(id_, None)

    # --- persistence ---------------------------------------------------------

    def _snapshot(self):
        return {
            "objects": self.objects, "order": self.order, "private": self.private,
            "idempotency": self.idempotency, "deleted": self.deleted, "seq": self.seq, "clock_offset": self.clock_offset,
        }

    def save(self):
        """Write the state atomically (temp file + rename) so a crash mid-write
        never leaves a truncated state file."""
        if not self.path:
            return
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        # Under the lock, so two writers cannot rename an older snapshot last.
        with self.lock:
            text = json.dumps(self._snapshot(), separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".emulator-state-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)

    def load(self):
        with open(self.path, encoding="utf-8") as f:
            data = json.load(f)
        with self.lock:
            self.objects = data["objects"]
            self.order = data["order"]
            self.private = data["private"]
            self.idempotency = data["idempotency"]
            self.deleted = data["deleted"]
            self.seq = data["seq"]
            self.clock_offset = data.get("clock_offset", 0)

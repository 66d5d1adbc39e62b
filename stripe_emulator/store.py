"""All emulator state, behind one lock, optionally persisted to a JSON file."""

import json
import os
import secrets
import string
import tempfile
import threading
import time
from contextlib import contextmanager

from .wire import not_found

_ALPHABET = string.ascii_letters + string.digits


class Store:
    """Objects by id, exactly as the API returns them (unexpanded), plus
    `private` facts Stripe keeps but never shows (test-card behaviour, webhook
    secrets, a session's line items) and the idempotency cache.

    Callers hold `lock` around every read-modify-write; handlers run under it."""

    def __init__(self, path=None, save_delay=0.0):
        self.lock = threading.RLock()
        self.path = path
        self.save_delay = save_delay
        self._save_cond = threading.Condition()
        self._dirty = False
        self._closing = False
        self._writer = None
        self._last_write = 0.0
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
            self.time_override = None  # see `at()`
            self._reindex()

    def _reindex(self):
        # type -> {id: None} (insertion-ordered), so `all(type_)` does not scan
        # every object: billing runs emit many events over large states.
        self.by_type = {}
        for id_, obj in self.objects.items():
            self.by_type.setdefault(obj.get("object"), {})[id_] = None

    def now(self):
        if self.time_override is not None:
            return self.time_override
        return int(time.time()) + self.clock_offset

    @contextmanager
    def at(self, timestamp):
        """Make `now()` answer `timestamp` (a test clock's time) while objects
        and events are created for it. Callers hold `lock`."""
        saved = self.time_override
        self.time_override = timestamp
        try:
            yield
        finally:
            self.time_override = saved

    @staticmethod
    def new_id(prefix, length=24):
        return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def add(self, obj, private=None):
        with self.lock:
            self.seq += 1
            self.objects[obj["id"]] = obj
            self.by_type.setdefault(obj.get("object"), {})[obj["id"]] = None
            self.order[obj["id"]] = self.seq
            if private is not None:
                self.private[obj["id"]] = private
        return obj

    def get(self, id_, type_=None):
        obj = self.objects.get(id_) if isinstance(id_, str) else None
        if obj is None or (type_ and obj.get("object") != type_):
            return None
        return obj

    def require(self, id_, type_, param="id", kind=None, status=None):
        """The stored object, or Stripe's `resource_missing` error: 404 for the
        object a URL names (`param="id"`), 400 for one a parameter names."""
        obj = self.get(id_, type_)
        if obj is None:
            raise not_found(kind or type_.split(".")[-1].replace("_", " "), id_, param=param,
                            status=status or (404 if param == "id" else 400))
        return obj

    def secret(self, id_):
        return self.private.setdefault(id_, {})

    def all(self, type_, predicate=None):
        """Objects of `type_`, newest first."""
        with self.lock:
            objects = self.objects
            found = [objects[id_] for id_ in self.by_type.get(type_, ())
                     if predicate is None or predicate(objects[id_])]
        found.sort(key=lambda o: self.order[o["id"]], reverse=True)
        return found

    def remove(self, id_):
        with self.lock:
            obj = self.objects.pop(id_, None)
            if obj is not None:
                self.deleted[id_] = obj["object"]
                self.by_type.get(obj.get("object"), {}).pop(id_, None)
            self.order.pop(id_, None)
            self.private.pop(id_, None)

    # --- persistence ---------------------------------------------------------

    def _snapshot(self):
        return {
            "objects": self.objects, "order": self.order, "private": self.private,
            "idempotency": self.idempotency, "deleted": self.deleted, "seq": self.seq, "clock_offset": self.clock_offset,
        }

    def save(self):
        """Persist the state. With `save_delay` (seconds) > 0 the write is
        coalesced: a background writer saves at most every `save_delay`, and
        waits at least ten times as long as the last write took (a write holds
        the store's lock and serialises the whole state: with a large state,
        writing at a third of the time, as before, took three quarters of the
        emulator's CPU during 200 renewals), so a large state costs at most
        about a tenth of the time; `flush()` writes at once (the
        server calls it on stop). With 0, every call writes synchronously."""
        if not self.path:
            return
        if self.save_delay <= 0:
            self.flush()
            return
        with self._save_cond:
            self._dirty = True
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="emulator-state-writer",
                                                daemon=True)
                self._writer.start()
            self._save_cond.notify_all()

    def _write_loop(self):
        while True:
            with self._save_cond:
                while not self._dirty and not self._closing:
                    self._save_cond.wait()
                if self._closing:
                    return
            time.sleep(max(self.save_delay, 10 * self._last_write))
            self.flush()

    def flush(self):
        """Write the state now, atomically (temp file + rename) so a crash
        mid-write never leaves a truncated state file."""
        if not self.path:
            return
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        # Under the lock, so two writers cannot rename an older snapshot last.
        with self.lock:
            started = time.monotonic()
            with self._save_cond:
                self._dirty = False
            text = json.dumps(self._snapshot(), separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".emulator-state-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)
            self._last_write = time.monotonic() - started

    def close(self):
        """Stop the background writer after a final write of pending changes."""
        with self._save_cond:
            self._closing = True
            dirty = self._dirty
            self._save_cond.notify_all()
        if dirty:
            self.flush()

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
            self._reindex()

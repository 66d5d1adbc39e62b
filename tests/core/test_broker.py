"""The embedded default's file broker (config/broker.py): a worker polling the
folder while a message is being written never takes it half-written."""

import json
from queue import Empty

import pytest
from kombu import Connection
from kombu.transport import filesystem

from config import broker


def _channel(url: str, folder):
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder)}
    connection = Connection(url, transport_options=options)
    return connection, connection.default_channel


def _worker_polls_while_writing(monkeypatch, module, channel):
    """Make `module`'s next write of a message poll the queue first, as a
    worker would between the file's creation and its content: returns what
    that poll got (a message, or the exception it raised)."""
    seen = []
    real_open = open

    class PollingFile:
        def __init__(self, f):
            self._f = f

        def write(self, data):
            try:
                seen.append(channel._get("events"))
            except Exception as error:  # noqa: BLE001  what the worker's loop would get
                seen.append(error)
            return self._f.write(data)

        def __getattr__(self, name):  # fileno (kombu's lock), close
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

    monkeypatch.setattr(module, "open", lambda *a, **k: PollingFile(real_open(*a, **k)), raising=False)
    return seen


def test_kombus_own_file_transport_lets_a_worker_take_a_message_before_it_is_written(tmp_path, monkeypatch):
    """Why config/broker.py exists: kombu's own transport creates the file
    under its final name, then writes it."""
    connection, channel = _channel("filesystem://", tmp_path)
    seen = _worker_polls_while_writing(monkeypatch, filesystem, channel)
    channel._put("events", {"body": "a message"})
    assert len(seen) == 1 and isinstance(seen[0], json.JSONDecodeError)  # the worker read an empty file
    connection.release()


def test_a_worker_sees_a_message_whole_or_not_at_all(tmp_path, monkeypatch):
    connection, channel = _channel("shopfs://", tmp_path)
    assert isinstance(channel, broker.Channel)
    seen = _worker_polls_while_writing(monkeypatch, broker, channel)
    channel._put("events", {"body": "a message"})
    assert len(seen) == 1 and isinstance(seen[0], Empty)  # not there yet: nothing taken, nothing lost
    assert channel._get("events") == {"body": "a message"}
    assert list(tmp_path.iterdir()) == []  # taken, and no partial file left behind
    connection.release()


def test_the_worker_and_the_web_process_exchange_tasks_through_it(tmp_path):
    connection, channel = _channel("shopfs://", tmp_path)
    for i in range(3):
        channel._put("events", {"n": i})
    # In the order sent, to the millisecond (kombu's file names): all of them, once.
    assert sorted(channel._get("events")["n"] for _ in range(3)) == [0, 1, 2]
    with pytest.raises(Empty):
        channel._get("events")
    connection.release()

"""The embedded default's Celery broker (no Redis): kombu's filesystem
transport, with each message written whole before any worker can see it.

kombu's own `_put` creates a message file under its final name, then writes
it; a worker polling the folder (every 20 ms here) can move and read the file
in between, read nothing, and stop ("Unrecoverable error: JSONDecodeError",
seen in the browser tests on SQLite: every later payment waited for a worker
that was gone). Here the message is written under a name no worker takes
(`….msg.part`) and renamed into place: a rename within one folder is atomic,
so a worker finds a message whole or not at all.

Registered as the `shopfs://` broker URL (config/settings/base.py) when this
module is imported, which config/celery.py does in every process.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`: written aside, then renamed into place."""
        final = os.path.join(self.data_folder_out, f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg")
        partial = f"{final}.part"  # "<queue>.msg.part": no worker takes it
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES.setdefault("shopfs", "config.broker:Transport")

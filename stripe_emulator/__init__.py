"""An offline emulator of the Stripe API (the parts a shop uses).

    from stripe_emulator import EmulatorServer
    with EmulatorServer(port=0) as srv:
        ...  # point the stripe SDK at srv.url

Or from a shell: `python -m stripe_emulator --port 12111`."""

from .server import EmulatorServer

__all__ = ["EmulatorServer"]

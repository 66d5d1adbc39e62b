"""`python -m stripe_emulator`: run the emulator until interrupted."""

import argparse
import logging
import os
import signal

from .engine.settings import FINAL_ACTIONS, retry_days
from .server import EmulatorServer
from .wire import StripeError


def _retry_days(value):
    if isinstance(value, list):
        return value
    try:
        return retry_days(value)
    except StripeError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def server_from_args(argv=None):
    """The EmulatorServer the command line (and STRIPE_EMULATOR_* variables) describe."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description="Offline Stripe API emulator.")
    parser.add_argument("--host", default=env("STRIPE_EMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("STRIPE_EMULATOR_PORT", "12111")))
    parser.add_argument("--api-key", default=env("STRIPE_EMULATOR_API_KEY", "sk_test_emulator"))
    parser.add_argument("--state", default=env("STRIPE_EMULATOR_STATE"),
                        help="JSON file to keep state in across restarts (default: memory only)")
    parser.add_argument("--public-url", default=env("STRIPE_EMULATOR_PUBLIC_URL"),
                        help="base URL browsers use to reach the hosted pages (default: http://HOST:PORT)")
    parser.add_argument("--webhook-retry-base", type=float,
                        default=float(env("STRIPE_EMULATOR_WEBHOOK_RETRY_BASE", "1.0")),
                        help="seconds before the first webhook retry; doubled on each further one")
    parser.add_argument("--webhook-timeout", type=float, default=float(env("STRIPE_EMULATOR_WEBHOOK_TIMEOUT", "10")))
    parser.add_argument("--webhook-concurrency", type=int,
                        default=int(env("STRIPE_EMULATOR_WEBHOOK_CONCURRENCY", "8")),
                        help="deliveries in flight at once per webhook endpoint (1: one at a time, in order)")
    parser.add_argument("--refund-delay", type=float, default=float(env("STRIPE_EMULATOR_REFUND_DELAY", "1.0")),
                        help="seconds a refund stays pending")
    parser.add_argument("--retry-days", type=_retry_days, default=env("STRIPE_EMULATOR_RETRY_DAYS"),
                        help="failed subscription payments: days between retries, e.g. 3,5,7 (the Dashboard's "
                             "retry schedule; default 3,5,7)")
    parser.add_argument("--retry-final-action", choices=FINAL_ACTIONS,
                        default=env("STRIPE_EMULATOR_RETRY_FINAL_ACTION"),
                        help="what happens after the last failed retry: cancel the subscription (default), "
                             "mark it unpaid, or leave it past_due")
    parser.add_argument("--lenient-params", dest="strict_params", action="store_false",
                        default=env("STRIPE_EMULATOR_STRICT_PARAMS", "true").lower() not in ("false", "0", "no", "off"),
                        help="accept parameters Stripe would refuse (unknown, wrong type, bad expand[]): an escape "
                             "hatch; by default requests are checked as Stripe checks them")
    parser.add_argument("--log-level", default=env("STRIPE_EMULATOR_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if args.retry_final_action not in (None, *FINAL_ACTIONS):  # from the environment
        parser.error(f"STRIPE_EMULATOR_RETRY_FINAL_ACTION must be one of {', '.join(FINAL_ACTIONS)}")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return EmulatorServer(
        host=args.host, port=args.port, api_key=args.api_key, state_path=args.state,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        webhook_retry_base=args.webhook_retry_base, webhook_timeout=args.webhook_timeout,
        webhook_concurrency=args.webhook_concurrency, refund_delay=args.refund_delay,
        retry_days=args.retry_days, retry_final_action=args.retry_final_action, strict_params=args.strict_params)


def main(argv=None):
    server = server_from_args(argv)
    # SIGTERM stops like Ctrl-C, so pending state is flushed to --state.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server.serve_forever()


if __name__ == "__main__":
    main()

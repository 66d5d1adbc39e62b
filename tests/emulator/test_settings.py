"""Startup settings: the retry schedule for failed subscription payments is
configured like a Dashboard setting (constructor, command line, environment);
the control route still changes it for a test."""

import pytest
import stripe

from stripe_emulator import EmulatorServer
from stripe_emulator.__main__ import server_from_args

from .billing_helpers import DAY, advance, clock_customer, new_clock, period, recurring_price, subscribe
from .conftest import API_KEY, FAST, control


def _schedule(server):
    return control(server, "billing/retry_schedule", method="GET")


def test_constructor_options_set_the_schedule_and_survive_a_reset():
    with EmulatorServer(api_key=API_KEY, retry_days=[1, 2], retry_final_action="unpaid", **FAST) as server:
        assert (_schedule(server)["retry_days"], _schedule(server)["final_action"]) == ([1, 2], "unpaid")
        control(server, "billing/retry_schedule", {"days": [4], "final_action": "cancel"})
        assert _schedule(server)["retry_days"] == [4]
        control(server, "reset")
        assert (_schedule(server)["retry_days"], _schedule(server)["final_action"]) == ([1, 2], "unpaid")


def test_command_line_and_environment(monkeypatch):
    server = server_from_args(["--port", "0", "--api-key", API_KEY, "--retry-days", "2,4.5",
                               "--retry-final-action", "past_due"])
    with server:
        assert (_schedule(server)["retry_days"], _schedule(server)["final_action"]) == ([2, 4.5], "past_due")
    monkeypatch.setenv("STRIPE_EMULATOR_RETRY_DAYS", "5")
    monkeypatch.setenv("STRIPE_EMULATOR_RETRY_FINAL_ACTION", "unpaid")
    with server_from_args(["--port", "0", "--api-key", API_KEY]) as server:
        assert (_schedule(server)["retry_days"], _schedule(server)["final_action"]) == ([5], "unpaid")


def test_defaults_and_refusals(monkeypatch):
    with server_from_args(["--port", "0", "--api-key", API_KEY]) as server:
        assert (_schedule(server)["retry_days"], _schedule(server)["final_action"]) == ([3, 5, 7], "cancel")
    for argv in (["--retry-days", "0"], ["--retry-days", "three"], ["--retry-final-action", "explode"]):
        with pytest.raises(SystemExit):
            server_from_args(argv)
    monkeypatch.setenv("STRIPE_EMULATOR_RETRY_FINAL_ACTION", "explode")
    with pytest.raises(SystemExit):
        server_from_args([])
    with pytest.raises(ValueError, match="final_action"):
        EmulatorServer(api_key=API_KEY, retry_final_action="explode").start()


def test_a_configured_schedule_drives_dunning():
    with EmulatorServer(api_key=API_KEY, retry_days="1", retry_final_action="unpaid", **FAST) as server:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": server.url})
        clock = new_clock(client, 1_800_000_000)
        customer = clock_customer(client, clock)
        sub = subscribe(client, customer, recurring_price(client, 900))
        bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
        client.v1.subscriptions.update(sub.id, params={"default_payment_method": bad.id})
        renew_at = period(sub)[1]
        advance(client, clock, renew_at + 60)
        invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
        assert invoice.next_payment_attempt == renew_at + DAY
        advance(client, clock, renew_at + 2 * DAY)
        assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"

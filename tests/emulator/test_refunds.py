"""Refunds (async settlement, failures, limits) and control-route disputes."""

import pytest
import stripe

from .conftest import control, new_session, pay_on_page, wait_for_webhooks


@pytest.fixture
def paid(client, emulator):
    session = new_session(client)  # 2 x 12.50 USD
    assert pay_on_page(emulator, session, "4242424242424242")[0] == 303
    pi = client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).payment_intent)
    return pi


def test_partial_then_full_refund(client, emulator, receiver, endpoint, paid):
    first = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1000, "reason": "requested_by_customer",
                                             "metadata": {"rma": "1"}})
    assert first.status == "pending" and first.amount == 1000 and first.charge == paid.latest_charge
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create(params={"charge": paid.latest_charge, "amount": 1501})
    assert err.value.code == "amount_too_large" and err.value.param == "amount"
    assert "($15.01) is greater than unrefunded amount on charge ($15.00)" in err.value.user_message
    rest = client.v1.refunds.create(params={"charge": paid.latest_charge})
    assert rest.amount == 1500
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create(params={"charge": paid.latest_charge})
    assert err.value.code == "charge_already_refunded"
    wait_for_webhooks(emulator)
    assert client.v1.refunds.retrieve(first.id).status == "succeeded"
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert charge.refunded and charge.amount_refunded == 2500
    assert {r.id for r in charge.refunds.data} == {first.id, rest.id}
    assert [r.id for r in client.v1.refunds.list(params={"payment_intent": paid.id}).data] == [rest.id, first.id]
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge.id, "limit": 1}).data] == [rest.id]
    txn = client.v1.balance_transactions.retrieve(client.v1.refunds.retrieve(first.id).balance_transaction)
    assert txn.amount == -1000 and txn.type == "refund"
    types = [t for t in receiver.types() if t.startswith(("refund.", "charge.refunded"))]
    assert types == ["refund.created", "refund.created", "refund.updated", "charge.refunded",
                     "refund.updated", "charge.refunded"]


def test_fail_next_refund(client, emulator, receiver, endpoint, paid):
    control(emulator, "refunds/fail_next")
    refund = client.v1.refunds.create(params={"payment_intent": paid.id})
    wait_for_webhooks(emulator)
    failed = client.v1.refunds.retrieve(refund.id)
    assert failed.status == "failed" and failed.failure_reason
    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert charge.amount_refunded == 0 and not charge.refunded
    assert "refund.failed" in receiver.types()
    # The next one goes through again.
    assert client.v1.refunds.create(params={"payment_intent": paid.id}).status == "pending"


def test_refund_errors(client, paid):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create(params={})
    assert err.value.param == "charge"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create(params={"charge": "ch_nope"})
    # A parameter naming a missing object is a bad request (400), not a missing URL.
    assert (err.value.http_status, err.value.code, err.value.param) == (400, "resource_missing", "charge")
    unpaid = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create(params={"payment_intent": unpaid.id})
    assert err.value.param == "payment_intent"


def test_control_route_dispute(client, emulator, receiver, endpoint, paid):
    dispute = control(emulator, "disputes", {"charge": paid.latest_charge})
    assert dispute["object"] == "dispute" and dispute["charge"] == paid.latest_charge
    wait_for_webhooks(emulator)
    assert "charge.dispute.created" in receiver.types()
    assert client.v1.charges.retrieve(paid.latest_charge).disputed
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create(params={"charge": paid.latest_charge})
    assert err.value.code == "charge_disputed"

"""Checkout sessions and the hosted page, paid by HTTP form posts with each test card."""

import json
import re
import time
import urllib.parse
import urllib.request

import pytest
import stripe

from .conftest import control, new_session, pay_on_page, raw, wait_for_webhooks


def _path(url):
    return urllib.parse.urlsplit(url).path


def test_session_create_retrieve_list_and_line_items(client, emulator):
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 500, "product_data": {"name": "Pen"}})
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://s.example/ok", "cancel_url": "https://s.example/no",
        "line_items": [{"price": price.id, "quantity": 3},
                       {"price_data": {"currency": "usd", "unit_amount": 250, "product_data": {"name": "Ink"}},
                        "quantity": 1}],
        "customer_email": "buyer@example.com", "client_reference_id": "order-7",
        "metadata": {"order_id": "7"}, "payment_intent_data": {"metadata": {"order_id": "7"}},
    })
    assert session.status == "open" and session.payment_status == "unpaid"
    assert session.amount_total == 1750 and session.currency == "usd"
    assert session.url == f"{emulator.url}/c/pay/{session.id}"
    assert session.id.startswith("cs_test_") and session.payment_intent is None
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.object, i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("item", "Pen", 3, 1500), ("item", "Ink", 1, 250)]
    assert client.v1.checkout.sessions.retrieve(session.id).client_reference_id == "order-7"
    assert client.v1.checkout.sessions.list(params={"status": "open"}).data[0].id == session.id


@pytest.mark.parametrize("offset, message", [(60, "at least 30 minutes"), (25 * 3600, "less than 24 hours")])
def test_expires_at_bounds(client, offset, message):
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_session(client, expires_at=int(time.time()) + offset)
    assert err.value.param == "expires_at" and message in err.value.user_message
    ok = new_session(client, expires_at=int(time.time()) + 3600)
    assert ok.expires_at > time.time()


def test_hosted_page_shows_the_order(client, emulator):
    session = new_session(client, customer_email="prefill@example.com")
    status, headers, page = raw(emulator, "GET", _path(session.url))
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "Blue mug" in page and "$25.00" in page
    assert 'value="prefill@example.com"' in page
    for field in ('name="number"', 'name="exp"', 'name="cvc"', 'name="name"', 'id="pay"'):
        assert field in page
    assert 'href="https://shop.example/cart"' in page  # cancel link


def test_success_with_4242(client, emulator, receiver, endpoint):
    session = new_session(client, payment_intent_data={"metadata": {"order_id": "42"}})
    status, headers, _ = pay_on_page(emulator, session, "4242 4242 4242 4242")
    assert status == 303
    assert headers["location"] == f"https://shop.example/success?session_id={session.id}"
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert done.status == "complete" and done.payment_status == "paid"
    assert done.customer_details.email == "buyer@example.com" and done.customer_details.name == "Ada Buyer"
    pi = done.payment_intent
    assert pi.status == "succeeded" and pi.metadata.to_dict() == {"order_id": "42"} and pi.customer == done.customer
    charge = pi.latest_charge
    assert charge.status == "succeeded" and charge.balance_transaction.startswith("txn_")
    card = charge.payment_method_details.card
    assert (card.last4, card.brand, card.exp_month, card.exp_year) == ("4242", "visa", 12, 2034)
    assert charge.receipt_url.startswith(emulator.url)
    assert raw(emulator, "GET", _path(charge.receipt_url))[0] == 200
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert txn.amount == 2500 and txn.fee == 103 and txn.net == 2397
    wait_for_webhooks(emulator)
    assert receiver.types() == [
        "payment_intent.created", "customer.created", "payment_method.attached", "charge.succeeded",
        "payment_intent.succeeded", "checkout.session.completed"]
    # Paid once: the page now refuses.
    status, _, page = raw(emulator, "GET", _path(session.url))
    assert "already paid" in page
    assert pay_on_page(emulator, session, "4242424242424242")[0] == 409


@pytest.mark.parametrize("card, decline_code, message", [
    ("4000000000000002", "generic_decline", "Your card was declined."),
    ("4000000000009995", "insufficient_funds", "Your card has insufficient funds."),
])
def test_declines_then_retry(client, emulator, receiver, endpoint, card, decline_code, message):
    session = new_session(client)
    status, _, page = pay_on_page(emulator, session, card)
    assert status == 402 and message in page
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert session.status == "open"
    pi = client.v1.payment_intents.retrieve(session.payment_intent)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "card_declined" and pi.last_payment_error.decline_code == decline_code
    wait_for_webhooks(emulator)
    assert receiver.types() == ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]
    # Retry with a good card on the same session and payment intent.
    assert pay_on_page(emulator, session, "4242424242424242")[0] == 303
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert paid.status == "complete" and paid.payment_intent == pi.id


def test_invalid_card_number_and_expiry(client, emulator):
    session = new_session(client)
    status, _, page = pay_on_page(emulator, session, "1234 5678 9012 3456")
    assert status == 402 and "Your card number is invalid" in page
    status, _, page = pay_on_page(emulator, session, "4242424242424242", exp="01 / 20")
    assert status == 402 and "in the past" in page
    assert client.v1.checkout.sessions.retrieve(session.id).payment_intent is None


@pytest.mark.parametrize("action", ["complete", "fail"])
def test_3d_secure(client, emulator, action):
    session = new_session(client)
    status, headers, _ = pay_on_page(emulator, session, "4000002500003155")
    assert status == 303
    challenge = headers["location"]
    assert re.fullmatch(r"/c/3ds/pi_\w+", challenge)
    pi = client.v1.payment_intents.retrieve(challenge.rsplit("/", 1)[1])
    assert pi.status == "requires_action" and pi.next_action.type == "redirect_to_url"
    status, _, page = raw(emulator, "GET", challenge)
    assert "Complete authentication" in page and "Fail authentication" in page
    status, headers, page = raw(emulator, "POST", challenge, {"action": action})
    session = client.v1.checkout.sessions.retrieve(session.id)
    pi = client.v1.payment_intents.retrieve(pi.id)
    if action == "complete":
        assert status == 303 and session.id in headers["location"]
        assert session.status == "complete" and pi.status == "succeeded"
        charge = client.v1.charges.retrieve(pi.latest_charge)
        assert charge.payment_method_details.card.three_d_secure.result == "authenticated"
    else:
        assert status == 402 and "failed authentication" in page
        assert session.status == "open" and pi.status == "requires_payment_method"
        assert pi.last_payment_error.code == "payment_intent_authentication_failure"


def test_0259_is_disputed(client, emulator, receiver, endpoint):
    session = new_session(client)
    assert pay_on_page(emulator, session, "4000000000000259")[0] == 303
    wait_for_webhooks(emulator)
    assert "charge.dispute.created" in receiver.types()
    pi = client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).payment_intent)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.disputed is True
    dispute = client.v1.disputes.list(params={"charge": charge.id}).data[0]
    assert dispute.amount == 2500 and dispute.status == "needs_response" and dispute.payment_intent == pi.id
    assert client.v1.disputes.retrieve(dispute.id).charge == charge.id
    updated = client.v1.disputes.update(dispute.id, params={"evidence": {"customer_name": "Ada"}, "submit": True})
    assert updated.status == "under_review" and updated.evidence.customer_name == "Ada"
    assert client.v1.disputes.close(dispute.id).status == "lost"


def test_0341_succeeds_now_and_fails_later(client, emulator):
    session = new_session(client)
    assert pay_on_page(emulator, session, "4000000000000341")[0] == 303
    session = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert session.payment_status == "paid"
    pm = session.payment_intent.payment_method
    later = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "customer": session.customer})
    with pytest.raises(stripe.CardError) as err:
        client.v1.payment_intents.confirm(later.id, params={"payment_method": pm, "off_session": True})
    assert err.value.code == "card_declined"


def test_cancel_link_and_no_success_url(client, emulator):
    session = new_session(client)
    page = raw(emulator, "GET", _path(session.url))[2]
    assert 'href="https://shop.example/cart"' in page and "Cancel / back" in page
    bare = client.v1.checkout.sessions.create(params={"mode": "payment", "line_items": [
        {"price_data": {"currency": "eur", "unit_amount": 999, "product_data": {"name": "Book"}}, "quantity": 1}]})
    status, _, page = pay_on_page(emulator, bare, "4242424242424242")
    assert status == 200 and "Payment complete" in page


def test_expire_endpoint_and_expired_page(client, emulator, receiver, endpoint):
    session = new_session(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.expire(session.id)
    assert err.value.http_status == 400
    page = raw(emulator, "GET", _path(session.url))[2]
    assert "expired" in page and 'id="pay"' not in page
    status, _, _ = pay_on_page(emulator, session, "4242424242424242")
    assert status == 409
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    wait_for_webhooks(emulator)
    assert receiver.types() == ["checkout.session.expired"]


def test_sessions_expire_by_themselves(client, emulator, receiver, endpoint):
    session = new_session(client, expires_at=int(time.time()) + 1800)
    unpaid = new_session(client)
    pay_on_page(emulator, unpaid, "4000000000000002")  # leaves an intent to cancel
    control(emulator, "clock/advance", {"seconds": 1801})
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(unpaid.id).status == "open"
    control(emulator, "clock/advance", {"seconds": 24 * 3600})
    time.sleep(0.3)  # the background sweep
    unpaid = client.v1.checkout.sessions.retrieve(unpaid.id)
    assert unpaid.status == "expired"
    assert client.v1.payment_intents.retrieve(unpaid.payment_intent).status == "canceled"
    wait_for_webhooks(emulator)
    assert receiver.types().count("checkout.session.expired") == 2


def test_automation_pay_route(client, emulator):
    session = new_session(client)
    req = urllib.request.Request(f"{emulator.url}/_emulator/checkout/sessions/{session.id}/pay",
                                 data=json.dumps({"card": "4000002500003155"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        paid = json.loads(resp.read())
    assert paid["status"] == "complete" and paid["object"] == "checkout.session"
    other = new_session(client)
    pay_url = f"{emulator.url}/_emulator/checkout/sessions/{other.id}/pay"
    with urllib.request.urlopen(urllib.request.Request(pay_url, data=b"card=4000000000000002")) as resp:
        declined = json.loads(resp.read())
    assert declined["status"] == "open"
    pi = client.v1.payment_intents.retrieve(declined["payment_intent"])
    assert pi.last_payment_error.decline_code == "generic_decline"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(pay_url, data=b"card=1111"))
    assert err.value.code == 402
    assert "invalid" in json.loads(err.value.read())["error"]["message"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(
            f"{emulator.url}/_emulator/checkout/sessions/{session.id}/pay", data=b"card=4242424242424242"))
    assert err.value.code == 400

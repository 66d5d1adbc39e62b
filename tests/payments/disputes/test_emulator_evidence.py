"""The emulator's side of evidence: file uploads (multipart, /v1/files),
dispute updates naming a file, and the control route deciding a dispute."""

import io
import urllib.error
import urllib.request

import pytest
import stripe

from tests.conftest import EMULATOR_KEY, emulator_control


@pytest.fixture
def client(stripe_emulator):
    return stripe.StripeClient(EMULATOR_KEY, base_addresses={"api": stripe_emulator.url,
                                                             "files": stripe_emulator.url})


def paid_charge(client, url):
    session = client.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "http://example.com/ok", "cancel_url": "http://example.com/no",
        "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 2500,
                                                     "product_data": {"name": "Mug"}}}],
    })
    emulator_control(url, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    return client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).payment_intent)


def pdf(name="INV-2026-000001.pdf"):
    handle = io.BytesIO(b"%PDF-1.7\n\xe2\xe3\xcf\xd3 binary\x00bytes\n%%EOF")
    handle.name = name
    return handle


def test_upload_retrieve_and_download_a_file(client, stripe_emulator):
    uploaded = client.v1.files.create({"purpose": "dispute_evidence", "file": pdf()}, {"idempotency_key": "f-1"})
    assert uploaded.id.startswith("file_") and uploaded.object == "file"
    assert (uploaded.purpose, uploaded.type, uploaded.filename) == ("dispute_evidence", "pdf", "INV-2026-000001.pdf")
    assert uploaded.size == len(pdf().getvalue())
    replay = client.v1.files.create({"purpose": "dispute_evidence", "file": pdf()}, {"idempotency_key": "f-1"})
    assert replay.id == uploaded.id
    assert client.v1.files.retrieve(uploaded.id).size == uploaded.size
    assert [f.id for f in client.v1.files.list({"purpose": "dispute_evidence"}).data] == [uploaded.id]
    request = urllib.request.Request(uploaded.url, headers={"Authorization": f"Bearer {EMULATOR_KEY}"})
    with urllib.request.urlopen(request) as response:
        assert response.read() == pdf().getvalue()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(uploaded.url)  # contents need the key


def test_upload_errors(client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.files.create({"purpose": "dispute_evidence", "file": io.BytesIO(b"plain text")})
    assert error.value.code == "invalid_file_type"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.files.create({"purpose": "nonsense", "file": pdf()})
    assert error.value.param == "purpose"


def test_evidence_names_an_uploaded_file_and_the_dispute_is_decided(client, stripe_emulator):
    intent = paid_charge(client, stripe_emulator.url)
    dispute = emulator_control(stripe_emulator.url, "disputes", {"charge": intent.latest_charge})
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.disputes.update(dispute["id"], {"evidence": {"uncategorized_file": "file_missing"}})
    assert error.value.param == "evidence[uncategorized_file]"
    uploaded = client.v1.files.create({"purpose": "dispute_evidence", "file": pdf()})
    updated = client.v1.disputes.update(dispute["id"], {
        "evidence": {"uncategorized_file": uploaded.id, "uncategorized_text": "Delivered."}, "submit": True})
    assert updated.status == "under_review" and updated.evidence.uncategorized_file == uploaded.id
    assert updated.evidence_details.submission_count == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute["id"], {"submit": True})  # submitted once

    won = emulator_control(stripe_emulator.url, f"disputes/{dispute['id']}/settle", {"status": "won"})
    assert won["status"] == "won" and len(won["balance_transactions"]) == 2
    events = [e.type for e in client.v1.events.list({"limit": 10}).data]
    assert "charge.dispute.closed" in events and "charge.dispute.funds_reinstated" in events
    with pytest.raises(urllib.error.HTTPError):
        emulator_control(stripe_emulator.url, f"disputes/{dispute['id']}/settle", {"status": "lost"})

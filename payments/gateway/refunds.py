"""Refunds, disputes and the files sent as dispute evidence."""

import io
from typing import Any

from .client import call, call_list, client
from .types import Dispute, Refund, StripeFile


def refund_create(
    *, idempotency_key: str, payment_intent_id: str, amount: int, reason: str, metadata: dict[str, str]
) -> Refund:
    params: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata}
    if reason:
        params["reason"] = reason
    return Refund.from_stripe(call(
        "refund create", lambda: client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
    ))


def refund_retrieve(refund_id: str) -> Refund:
    return Refund.from_stripe(call("refund retrieve", lambda: client().v1.refunds.retrieve(refund_id)))


def refund_list(*, payment_intent_id: str = "", charge_id: str = "") -> list[Refund]:
    params: dict[str, Any] = {"limit": 100}
    if payment_intent_id:
        params["payment_intent"] = payment_intent_id
    if charge_id:
        params["charge"] = charge_id
    return [Refund.from_stripe(r) for r in call_list("refund list", lambda: client().v1.refunds.list(params))]


def file_create(*, content: bytes, filename: str, purpose: str, idempotency_key: str) -> StripeFile:
    """Upload a file (multipart, to the files base URL), e.g. dispute evidence."""

    def upload():
        handle = io.BytesIO(content)
        handle.name = filename  # the SDK sends it as the part's filename
        return client().v1.files.create({"purpose": purpose, "file": handle}, {"idempotency_key": idempotency_key})

    return StripeFile.from_stripe(call("file create", upload))


def dispute_update(*, dispute_id: str, evidence: dict[str, str], submit: bool, idempotency_key: str) -> Dispute:
    params = {"evidence": evidence, "submit": submit}
    return Dispute.from_stripe(call(
        "dispute update",
        lambda: client().v1.disputes.update(dispute_id, params, {"idempotency_key": idempotency_key}),
    ))

"""Stripe's test cards and what each one does in the emulator."""

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    # "succeed", "decline", "3ds" (needs authentication), "dispute" (succeeds,
    # then is disputed) or "fail_later" (attaches, later off-session charges fail)
    behaviour: str = "succeed"
    decline_code: str | None = None

    @property
    def last4(self):
        return self.number[-4:]


CARDS = {card.number: card for card in (
    Card("4242424242424242", "visa"),
    Card("5555555555554444", "mastercard"),
    Card("4000000000000002", "visa", behaviour="decline", decline_code="generic_decline"),
    Card("4000000000009995", "visa", funding="debit", behaviour="decline", decline_code="insufficient_funds"),
    Card("4000000000000341", "visa", behaviour="fail_later", decline_code="generic_decline"),
    Card("4000000000000259", "visa", behaviour="dispute"),
    Card("4000002500003155", "visa", behaviour="3ds"),
)}

# Stripe's test PaymentMethod ids (usable as `payment_method=pm_card_visa`).
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_authenticationRequired": "4000002500003155",
}

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}

# Outcome.seller_message for declines, as Stripe words them.
SELLER_MESSAGES = {
    "generic_decline": "The bank did not return any further details with this decline.",
    "insufficient_funds": "The bank returned the decline code `insufficient_funds`.",
}


def lookup(number):
    """The test card for a typed number (spaces and dashes allowed), or None."""
    digits = "".join(ch for ch in (number or "") if ch not in " -")
    return CARDS.get(digits)


def fingerprint(card):
    # Stable per card number, like Stripe's (which is per account and number).
    return hashlib.sha256(card.number.encode()).hexdigest()[:16]

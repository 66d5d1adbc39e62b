"""What a failed payment means, in the customer's words.

Stripe's own message is written for developers ("The provided PaymentMethod
has failed authentication. You can provide payment_method_data..."): staff
keep it on the payment record; the customer reads one of these, chosen by
Stripe's decline code, else its error code."""

from .gateway.types import PaymentError

GENERIC = "Your payment was declined. No money was taken; you can try again with another card."

BY_DECLINE_CODE = {
    "insufficient_funds": "Your card has insufficient funds. No money was taken; try another card.",
    "lost_card": "Your bank declined this card. No money was taken; please use another card.",
    "stolen_card": "Your bank declined this card. No money was taken; please use another card.",
    "expired_card": "Your card has expired. No money was taken; please use another card.",
    "incorrect_cvc": "The security code (CVC) was not accepted. No money was taken; check it and try again.",
    "incorrect_number": "The card number was not accepted. No money was taken; check it and try again.",
    "card_velocity_exceeded": "Your card's limit was reached. No money was taken; try another card.",
    "withdrawal_count_limit_exceeded": "Your card's limit was reached. No money was taken; try another card.",
    "processing_error": "Your bank could not process the payment. No money was taken; please try again.",
    "authentication_required": (
        "Your bank asked for a confirmation that was not completed. No money was taken; please try again."
    ),
}
BY_CODE = {
    "expired_card": BY_DECLINE_CODE["expired_card"],
    "incorrect_cvc": BY_DECLINE_CODE["incorrect_cvc"],
    "incorrect_number": BY_DECLINE_CODE["incorrect_number"],
    "invalid_expiry_month": "The expiry date was not accepted. No money was taken; check it and try again.",
    "invalid_expiry_year": "The expiry date was not accepted. No money was taken; check it and try again.",
    "processing_error": BY_DECLINE_CODE["processing_error"],
    "payment_intent_authentication_failure": (
        "The security check of your bank (3-D Secure) was not completed. No money was taken; please try again."
    ),
    "authentication_required": BY_DECLINE_CODE["authentication_required"],
}


def customer_message(error: PaymentError | None) -> str:
    """The sentence shown to the customer for a failed payment attempt."""
    if error is None:
        return GENERIC
    return BY_DECLINE_CODE.get(error.decline_code) or BY_CODE.get(error.code) or GENERIC

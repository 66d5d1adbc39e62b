"""E-mails built from templates: `<name>_subject.txt`, `<name>_message.txt`
and `<name>_message.html`, with the seller as reply-to and files attached."""

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def templated_email(
    *, template: str, context: dict, to: Iterable[str], attachments: Iterable[tuple[str, bytes, str]] = (),
) -> EmailMultiAlternatives:
    """The message `template` (e.g. "billing/email/invoice") renders to; not sent.

    The subject is one line whatever the template's whitespace; replies go to
    the seller's address (SHOP_SELLER["email"]) when there is one."""
    seller_email = (settings.SHOP_SELLER or {}).get("email")
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string(f"{template}_subject.txt", context).split()),
        body=render_to_string(f"{template}_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=[seller_email] if seller_email else None,
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", context), "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from orders.services import BillingDetails, CartItem, order_cancel, order_place
from payments.models import Payment
from shop.cart import SESSION_KEY, Cart
from tests.factories import UserFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

BILLING = BillingDetails(name="Ana Lima", line1="1 rue Neuve", postal_code="75001", city="Paris", country="FR")


def place(product, quantity, customer=None, email="x@example.com"):
    return order_place(
        items=[CartItem(product_id=product.pk, quantity=quantity)], email=email, billing=BILLING, customer=customer
    )


def test_account_requires_login(client):
    response = client.get(reverse("shop:account"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_lists_only_own_orders_with_payments(client, mug, coffee):
    ana = UserFactory(username="ana@example.com")
    bob = UserFactory(username="bob@example.com")
    mine = place(mug, 2, customer=ana, email="ana@example.com")
    Payment.objects.create(
        order=mine, status=Payment.Status.SUCCEEDED, amount=3200, currency="eur",
        stripe_payment_intent_id="pi_123", card_brand="visa", card_last4="4242",
    )
    theirs = place(coffee, 1, customer=bob, email="bob@example.com")
    guest = place(coffee, 1, customer=None, email="ana@example.com")  # same e-mail, but a guest order

    client.force_login(ana)
    response = client.get(reverse("shop:account"))
    assert response.status_code == 200
    assert list(response.context["orders"]) == [mine]
    html = response.content.decode()
    assert mine.number in html
    assert mine.get_absolute_url() in html
    assert "€32.00" in html
    assert "Awaiting payment" in html and "badge-awaiting_payment" in html
    assert "Visa •••• 4242" in html and "Succeeded" in html
    assert theirs.number not in html and guest.number not in html
    assert theirs.get_absolute_url() not in html


def test_account_with_no_orders(client):
    client.force_login(UserFactory())
    html = client.get(reverse("shop:account")).content.decode()
    assert "You have no orders yet." in html


def test_restore_from_order_puts_cancelled_order_back_in_cart(client, rf, mug, coffee):
    order = order_place(
        items=[CartItem(product_id=mug.pk, quantity=2), CartItem(product_id=coffee.pk, quantity=3)],
        email="x@example.com", billing=BILLING,
    )
    order_cancel(order_id=order.pk)
    session = client.session
    session[SESSION_KEY] = {}
    session.save()
    request = rf.get("/")
    request.session = client.session
    cart = Cart(request)
    cart.restore_from_order(order)
    request.session.save()
    assert {line.product.pk: line.quantity for line in cart.lines()} == {mug.pk: 2, coffee.pk: 3}
    assert cart.total == 2 * 1600 + 3 * 1290
    assert client.get(reverse("shop:cart")).context["cart"].count == 5


def _confirm_link(message) -> str:
    import re

    return re.search(r"https?://[^/\s]+(/accounts/signup/\S+)", message.body).group(1)


@pytest.mark.django_db(transaction=True)  # the e-mail leaves through the outbox, after commit
def test_signup_with_email_confirms_by_link_then_logs_in_and_goes_to_account(client):
    response = client.post(
        reverse("shop:signup"),
        {"email": "New.Customer@Example.com", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    user = get_user_model().objects.get()
    assert user.username == user.email == "new.customer@example.com" and not user.is_active
    assert mail.outbox[-1].to == ["new.customer@example.com"]
    response = client.get(_confirm_link(mail.outbox[-1]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:account")
    user.refresh_from_db()
    assert user.is_active and response.context["user"] == user
    assert "Welcome! Your account has been created." in messages_of(response)
    # The link works once.
    client.post(reverse("logout"))
    assert client.get(_confirm_link(mail.outbox[-1])).status_code == 400
    # ... and can sign in again with the e-mail.
    response = client.post(
        reverse("login"), {"username": "new.customer@example.com", "password": "a-long-pass-phrase"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("shop:account")


@pytest.mark.parametrize(
    "data, error",
    [
        ({"email": "new@example.com", "password1": "a-long-pass-phrase", "password2": "another-pass-phrase"},
         "The two password fields didn’t match."),
        ({"email": "new@example.com", "password1": "short", "password2": "short"}, "This password is too short."),
        ({"email": "nope", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
         "Enter a valid email address."),
    ],
)
def test_signup_errors(client, data, error):
    UserFactory(username="taken@example.com")
    response = client.post(reverse("shop:signup"), data)
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert get_user_model().objects.count() == 1


def test_login_page_and_logout(client):
    UserFactory(username="ana@example.com")
    html = client.get(reverse("login")).content.decode()
    assert "Sign in" in html and reverse("shop:signup") in html
    response = client.post(reverse("login"), {"username": "ana@example.com", "password": "wrong"})
    assert "did not match" in response.content.decode()
    client.post(reverse("login"), {"username": "ana@example.com", "password": "correct-horse-battery"})
    html = client.get(reverse("shop:product_list")).content.decode()
    assert f'action="{reverse("logout")}"' in html and "Sign out" in html
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("shop:product_list")
    assert client.get(reverse("shop:account")).status_code == 302


def test_signup_page_renders(client):
    html = client.get(reverse("shop:signup")).content.decode()
    assert 'name="email"' in html and 'name="password1"' in html


def _document(order, kind, number, sequence):
    from django.utils import timezone

    from billing.models import Document

    return Document.objects.create(
        kind=kind, number=number, series=number.split("-")[0], year=2026, sequence=sequence,
        issued_at=timezone.now(), order=order, customer=order.customer, customer_email=order.email,
        currency="eur", total_net=2667, total_tax=533, total_gross=3200, snapshot={},
    )


def test_account_lists_own_documents_with_download_links(client, mug):
    ana = UserFactory(username="ana@example.com")
    bob = UserFactory(username="bob@example.com")
    mine = place(mug, 2, customer=ana, email="ana@example.com")
    theirs = place(mug, 2, customer=bob, email="bob@example.com")
    invoice = _document(mine, "invoice", "INV-2026-000001", 1)
    receipt = _document(mine, "receipt", "RCP-2026-000001", 1)
    other = _document(theirs, "invoice", "INV-2026-000002", 2)

    client.force_login(ana)
    html = client.get(reverse("shop:account")).content.decode()
    for doc, _kind in ((invoice, "Invoice"), (receipt, "Receipt")):
        assert doc.number in html
        assert reverse("billing:document_pdf", args=[doc.pk]) in html
    assert "Invoice" in html and "Receipt" in html and "€32.00" in html
    assert other.number not in html
    assert reverse("billing:document_pdf", args=[other.pk]) not in html


def _paid_with_refund(customer, product):
    from payments.models import Refund

    order = place(product, 1, customer=customer, email=customer.email)
    payment = Payment.objects.create(order=order, status=Payment.Status.SUCCEEDED, amount=order.total, currency="eur",
                                     stripe_payment_intent_id=f"pi_{order.pk}", card_brand="visa", card_last4="4242")
    Refund.objects.create(order=order, payment=payment, status=Refund.Status.SUCCEEDED, amount=500, currency="eur")
    Refund.objects.create(order=order, payment=payment, status=Refund.Status.PENDING, amount=300, currency="eur")
    return order


def test_payment_history_shows_refunds_and_the_card_of_a_failed_payment(client, mug):
    ana = UserFactory(username="ana@example.com")
    _paid_with_refund(ana, mug)
    failed = place(mug, 1, customer=ana, email=ana.email)
    Payment.objects.create(order=failed, status=Payment.Status.FAILED, amount=failed.total, currency="eur",
                           stripe_payment_intent_id="pi_failed", card_brand="mastercard", card_last4="0341",
                           failure_message="Your card was declined.")
    client.force_login(ana)
    html = client.get(reverse("shop:account")).content.decode()
    assert "Refund · €5.00" in html and "Refunded" in html
    assert "Refund · €3.00" in html and "In progress" in html
    assert "Mastercard •••• 0341" in html and "Failed" in html


def test_orders_and_documents_are_paged_in_constant_queries(client, mug):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import Document
    from orders.documents import order_documents_issue
    from tests.billing.factories import PaidOrderFactory

    ana = UserFactory(username="ana@example.com")
    client.force_login(ana)
    mug.stock = 1000
    mug.save(update_fields=["stock"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("shop:account")).status_code == 200
        return len(captured)

    order_documents_issue(order_id=PaidOrderFactory(customer=ana, email=ana.email).pk)
    few = queries()
    for _ in range(24):
        order = PaidOrderFactory(customer=ana, email=ana.email)
        order_documents_issue(order_id=order.pk)
        _paid_with_refund(ana, mug)
    assert queries() == few

    response = client.get(reverse("shop:account"))
    html = response.content.decode()
    assert len(response.context["orders"]) == 20
    assert "Page 1 of 3" in html  # 49 orders, 20 a page
    assert "?orders_page=2" in html and "?documents_page=2" in html
    # Each document's snapshot stays in the database; its order number comes with it.
    documents = list(response.context["documents"])
    assert len(documents) == 20
    assert all("snapshot" in doc.get_deferred_fields() for doc in documents)
    assert documents[0].order_number and documents[0].order_number in html

    second = client.get(reverse("shop:account") + "?orders_page=3&documents_page=2")
    assert len(second.context["orders"]) == 9
    assert Document.objects.filter(customer=ana).count() == 50
    assert len(second.context["documents"]) == 20
    assert "Page 3 of 3" in second.content.decode()

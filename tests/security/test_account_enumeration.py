"""No account enumeration: signup and password reset answer the same page
whether or not an account uses the address; only the mailbox learns which."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORDS = {"password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}


def _page(response) -> str:
    """The page as the visitor sees it, less what differs by design (the address typed, the CSRF token)."""
    html = response.content.decode()
    html = re.sub(r"[\w.+-]+@example\.com", "ADDRESS", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.mark.django_db(transaction=True)  # the e-mail leaves through the outbox, after commit
def test_signup_answers_the_same_for_a_taken_and_a_free_address(client):
    UserFactory(username="taken@example.com", password="the-owners-own-phrase")
    taken = client.post(reverse("shop:signup"), {"email": "Taken@example.com", **PASSWORDS})
    free = client.post(reverse("shop:signup"), {"email": "free@example.com", **PASSWORDS})
    assert taken.status_code == free.status_code == 200
    assert _page(taken) == _page(free)
    assert "already exists" not in _page(taken)
    # The owner of the taken address is told by e-mail, and nothing changed on the account.
    owner_mail = next(m for m in mail.outbox if m.to == ["taken@example.com"])
    assert "You already have one" in owner_mail.body and "/accounts/password_reset/" in owner_mail.body
    owner = get_user_model().objects.get(username="taken@example.com")
    assert owner.is_active and owner.check_password("the-owners-own-phrase")
    assert get_user_model().objects.filter(username="free@example.com", is_active=False).exists()


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(client):
    UserFactory(username="known@example.com")
    known = client.post(reverse("password_reset"), {"email": "known@example.com"}, follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "unknown@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert _page(known) == _page(unknown)
    assert [m.to for m in mail.outbox] == [["known@example.com"]]


def test_password_pages_are_in_the_shops_look(client):
    html = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}">Forgot password?' in html
    for name in ("password_reset", "password_reset_done"):
        page = client.get(reverse(name)).content.decode()
        assert 'class="site-header"' in page and "Django administration" not in page
    client.force_login(UserFactory())
    for name in ("password_change", "password_change_done"):
        page = client.get(reverse(name)).content.decode()
        assert 'class="site-header"' in page and "Django administration" not in page

"""Login brute force: wrong passwords are counted per account and per address,
on the site's login and the admin's; a locked account or address is refused
(even with the right password) with a page that says why and how to get back."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


def _login(client, url, username, password, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_wrong_passwords_for_one_account_lock_it_even_from_many_addresses(client, url_name):
    UserFactory(username="ana@example.com", is_staff=True, is_superuser=True)
    url = reverse(url_name)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        response = _login(client, url, "ana@example.com", f"guess-{attempt}", ip=f"10.0.1.{attempt}")
        # The ordinary "did not match", until the last one allowed.
        assert response.status_code == (200 if attempt < settings.AXES_FAILURE_LIMIT - 1 else 429)
    # From yet another address, with the right password: still refused.
    response = _login(client, url, "ana@example.com", PASSWORD, ip="10.0.9.9")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many sign-in attempts" in html and "Try again in 15 minutes" in html
    assert reverse("password_reset") in html
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_wrong_passwords_from_one_address_lock_that_address(client, url_name):
    UserFactory(username="ana@example.com", is_staff=True, is_superuser=True)
    url = reverse(url_name)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, url, f"someone{attempt}@example.com", "guess", ip="10.0.2.2")
    assert _login(client, url, "ana@example.com", PASSWORD, ip="10.0.2.2").status_code == 429
    # The real user elsewhere is not affected.
    response = _login(client, url, "ana@example.com", PASSWORD, ip="10.0.3.3")
    assert response.status_code == 302 and client.session["_auth_user_id"]


@pytest.mark.django_db
def test_lockout_ends_after_the_cool_off_time(client):
    UserFactory(username="ana@example.com")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, reverse("login"), "ana@example.com", f"guess-{attempt}")
    assert _login(client, reverse("login"), "ana@example.com", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = _login(client, reverse("login"), "ana@example.com", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("shop:account")


@pytest.mark.django_db
def test_a_password_reset_lifts_the_lockout_of_its_account(client):
    UserFactory(username="ana@example.com")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, reverse("login"), "ana@example.com", f"guess-{attempt}", ip=f"10.0.4.{attempt}")
    client.post(reverse("password_reset"), {"email": "ana@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[-1].body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": "a-brand-new-phrase", "new_password2": "a-brand-new-phrase"})
    assert response.status_code == 302
    response = _login(client, reverse("login"), "ana@example.com", "a-brand-new-phrase", ip="10.0.5.5")
    assert response.status_code == 302 and response["Location"] == reverse("shop:account")


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_count(client):
    UserFactory(username="ana@example.com")
    for _ in range(2):
        for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            _login(client, reverse("login"), "ana@example.com", f"guess-{attempt}")
        assert _login(client, reverse("login"), "ana@example.com", PASSWORD).status_code == 302
        client.post(reverse("logout"))


@pytest.mark.django_db
def test_staff_unlock_an_account_in_admin(client):
    UserFactory(username="ana@example.com")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, reverse("login"), "ana@example.com", f"guess-{attempt}", ip=f"10.0.6.{attempt}")
    staff = UserFactory(username="boss", is_staff=True, is_superuser=True)
    staff_client = client.__class__()
    staff_client.force_login(staff)
    changelist = staff_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200 and "ana@example.com" in changelist.content.decode()
    staff_client.post(reverse("admin:axes_accessattempt_changelist"), {
        "action": "delete_selected", "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        "post": "yes",
    })
    assert not AccessAttempt.objects.exists()
    assert _login(client, reverse("login"), "ana@example.com", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_support_staff_may_unlock_accounts(client):
    from django.core.management import call_command

    call_command("seed_shop", verbosity=0)
    UserFactory(username="ana@example.com")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, reverse("login"), "ana@example.com", f"guess-{attempt}", ip=f"10.0.7.{attempt}")
    support = client.__class__()
    support.force_login(UserFactory._meta.model.objects.get(username="support"))
    page = support.get(reverse("admin:axes_accessattempt_changelist"))
    assert page.status_code == 200 and "ana@example.com" in page.content.decode()
    support.post(reverse("admin:axes_accessattempt_changelist"), {
        "action": "delete_selected", "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        "post": "yes",
    })
    assert _login(client, reverse("login"), "ana@example.com", PASSWORD).status_code == 302

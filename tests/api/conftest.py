"""API tests: users of every role, their keys, and a client that sends one."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from api.tokens import api_token_create
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _site(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://shop.example.com"


@pytest.fixture
def admin_user(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


@pytest.fixture
def customer(db):
    return UserFactory(username="ada@example.com", email="ada@example.com")


@pytest.fixture
def other_customer(db):
    return UserFactory(username="grace@example.com", email="grace@example.com")


@pytest.fixture
def support(db):
    user = UserFactory(username="support", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Support")[0])
    return user


@pytest.fixture
def accountant(db):
    user = UserFactory(username="accountant")
    user.groups.add(Group.objects.get_or_create(name=settings.ACCOUNTANTS_GROUP)[0])
    return user


def key_for(user, created_by=None) -> str:
    _, key = api_token_create(user=user, name=f"tests for {user.username}", created_by=created_by)
    return key


def client_with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def as_user():
    """as_user(user) -> an API client sending a fresh key of that user."""
    return lambda user: client_with_key(key_for(user))


def error_of(response) -> dict:
    """The one JSON shape of every API error."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"status", "code", "message", "fields"}, body
    assert body["error"]["status"] == response.status_code
    return body["error"]

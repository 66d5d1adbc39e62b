"""The OpenAPI schema: valid, every endpoint documented with examples, and
the API answering as it says (schemathesis generates requests from the
schema, valid and not, and checks every answer: no 5xx, and each status,
content type and body as documented). Bounded: a few dozen cases per endpoint."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from djstripe.models import Customer, Invoice, Subscription
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from tests.billing.factories import issued_pair, subscription_invoice

from .conftest import key_for

pytestmark = pytest.mark.django_db

EXAMPLES_PER_ENDPOINT = 30


def test_the_schema_documents_every_endpoint(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]["apiKey"][
            "description"]}
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert {path for path, _, _ in operations} == {
        "/api/v1/orders/", "/api/v1/orders/{reference}/", "/api/v1/orders/{reference}/status/",
        "/api/v1/documents/", "/api/v1/documents/{id}/", "/api/v1/documents/{id}/pdf/",
        "/api/v1/subscriptions/", "/api/v1/subscriptions/{id}/", "/api/v1/products/", "/api/v1/products/{id}/",
        "/api/v1/plans/"}
    for path, method, op in operations:
        assert method == "get", path
        assert op.get("summary") and op.get("description"), path
        ok = op["responses"]["200"]["content"]
        if path.endswith("/pdf/"):
            assert ok["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
        else:
            assert ok["application/json"]["schema"] and ok["application/json"].get("examples"), path
        for status, answer in op["responses"].items():
            if status != "200":
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    path, status)
                assert answer["content"]["application/json"].get("examples"), (path, status)


def test_the_documentation_page_is_served_from_our_static_files(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    script = client.get("/api/docs/?script=").content.decode()
    assert "/api/schema/" in script


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the WSGI application as a server runs it, minus
    closing the database connection after each one (it holds the test's
    transaction), as Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_data(db, admin_user, customer):
    """Data for the generated requests to find: a paid order with its
    documents, a subscription with its invoice."""
    issued_pair(customer=customer, email=customer.email)
    stripe_customer = Customer.objects.create(id="cus_fuzz", email=customer.email, subscriber=customer,
                                              livemode=False, stripe_data={"id": "cus_fuzz"})
    subscription = Subscription.objects.create(
        id="sub_fuzz", customer=stripe_customer, livemode=False,
        stripe_data={"id": "sub_fuzz", "status": "active", "items": {"data": [
            {"quantity": 1, "current_period_end": 1893456000,
             "price": {"id": "price_fuzz", "currency": "eur", "unit_amount": 1900, "product": "prod_fuzz",
                       "recurring": {"interval": "month", "interval_count": 1}}}]}})
    Invoice.objects.create(id="in_fuzz", customer=stripe_customer, livemode=False, subscription=subscription,
                           stripe_data={"id": "in_fuzz"})
    subscription_invoice(stripe_invoice_id="in_fuzz", amount=1900, customer=customer)
    return key_for(admin_user)


# The schema as the application serves it (the schema view reads no data).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# One test per operation, named by it ("GET /api/v1/orders/"). Not
# schemathesis's `schema.parametrize()`: on pytest 9 its tests all share one
# node id, and pytest-xdist (`make test`) then ran one of the eleven.
OPERATIONS = sorted(result.ok().label for result in schema.get_all_operations())


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_api_answers_as_its_schema_says(operation, api_data):
    method, path = operation.split(" ", 1)

    @given(case=schema[path][method].as_strategy())
    @hypothesis_settings(max_examples=EXAMPLES_PER_ENDPOINT, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {api_data}"})

    answers_as_documented()

"""ECB reference rates: a periodic job stores them (from a local server here),
issuing reads stored rates only."""

import threading
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing.models import ExchangeRate
from billing.tasks import fetch_exchange_rates

pytestmark = pytest.mark.django_db

ECB_DAILY = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube><Cube time="2026-11-27"><Cube currency="USD" rate="1.0812"/><Cube currency="JPY" rate="162.37"/>
  <Cube currency="GBP" rate="0.8391"/></Cube></Cube>
</gesmes:Envelope>"""


@pytest.fixture
def ecb(settings):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(ECB_DAILY)))
            self.end_headers()
            self.wfile.write(ECB_DAILY)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ECB_RATES_URL = f"http://127.0.0.1:{server.server_address[1]}/eurofxref-daily.xml"
    yield server
    server.shutdown()
    server.server_close()


def test_the_periodic_job_stores_the_days_rates_once(ecb):
    assert fetch_exchange_rates.delay().get() == 3
    assert fetch_exchange_rates.delay().get() == 0  # the same day again: nothing new
    stored = {(r.currency, r.date, r.rate) for r in ExchangeRate.objects.all()}
    assert stored == {("usd", date(2026, 11, 27), Decimal("1.0812")), ("jpy", date(2026, 11, 27), Decimal("162.37")),
                      ("gbp", date(2026, 11, 27), Decimal("0.8391"))}
    assert str(ExchangeRate.objects.get(currency="usd")) == "1 EUR = 1.081200 USD (ECB, 2026-11-27)"

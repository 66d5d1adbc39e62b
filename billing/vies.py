"""Checking a buyer's EU VAT id with VIES, the European Commission's VAT
Information Exchange System, before a sale is exempted or reverse charged.

python-stdnum checks the format and check digits offline (core.countries);
only VIES says whether the id is registered. The client speaks VIES's REST
API (POST {"countryCode", "vatNumber"} -> {"valid", "requestDate", "name",
"userError"}) at settings.VIES_URL, so that tests point it at a local server
(no test reaches the internet) and an empty URL turns the check off (every id
is then "unavailable": VAT is charged).

Never called inside a transaction: it is a network call (the checkout view
calls it before placing the order).
"""

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.countries import vat_id_compact, vat_id_country, vat_id_is_valid

logger = logging.getLogger(__name__)

VALID = "valid"
INVALID = "invalid"
UNAVAILABLE = "unavailable"
MISMATCH = "mismatch"
# A VIES answer is kept this long (an id does not change registration by the minute).
CACHE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class VatIdCheck:
    vat_id: str
    status: str  # valid, invalid, unavailable, mismatch
    checked_at: datetime
    detail: str = ""  # VIES's registered name, or why there is no answer

    @property
    def verified(self) -> bool:
        return self.status == VALID

    @property
    def customer_message(self) -> str:
        """What the customer reads when the id does not exempt the sale ("" when it does)."""
        if self.status == VALID:
            return ""
        reasons = {
            INVALID: "the EU's VIES service says it is not registered for intra-EU trade",
            UNAVAILABLE: "the EU's VIES service could not be reached to verify it",
            MISMATCH: "it is not a VAT id of the billing country",
        }
        return (f"Your VAT id {self.vat_id} could not be verified ({reasons.get(self.status, self.status)}), "
                "so VAT is charged. It is printed on your invoice; your accountant can reclaim the VAT.")


def _ask_vies(country: str, number: str) -> tuple[str, str]:
    url = settings.VIES_URL
    if not url:
        return UNAVAILABLE, "VIES check turned off (VIES_URL is empty)"
    body = json.dumps({"countryCode": "EL" if country == "GR" else country, "vatNumber": number}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=settings.VIES_TIMEOUT) as response:
            answer = json.loads(response.read() or b"{}")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        logger.warning("VIES check of %s%s failed: %s", country, number, error)
        return UNAVAILABLE, f"VIES did not answer ({error.__class__.__name__})"
    if not isinstance(answer, dict):
        return UNAVAILABLE, "VIES gave an unreadable answer"
    if answer.get("valid") is True:
        return VALID, str(answer.get("name") or "")[:300]
    user_error = str(answer.get("userError") or "")
    if answer.get("valid") is False and user_error in ("", "VALID", "INVALID", "INVALID_INPUT"):
        return INVALID, user_error or "INVALID"
    return UNAVAILABLE, f"VIES: {user_error or 'no answer'}"


def vat_id_check(*, vat_id: str, buyer_country: str) -> VatIdCheck | None:
    """Check a buyer's VAT id for a sale to `buyer_country`. None without an id."""
    vat_id = vat_id_compact(vat_id)
    if not vat_id:
        return None
    now = timezone.now()
    country = vat_id_country(vat_id)
    if not country or country != (buyer_country or "").upper():
        return VatIdCheck(vat_id=vat_id, status=MISMATCH, checked_at=now)
    if not vat_id_is_valid(vat_id):
        return VatIdCheck(vat_id=vat_id, status=INVALID, checked_at=now, detail="format or check digits")
    key = f"vies:{vat_id}"
    cached = cache.get(key)
    if cached:
        status, detail, checked_at = cached
        return VatIdCheck(vat_id=vat_id, status=status, checked_at=checked_at, detail=detail)
    status, detail = _ask_vies(country, vat_id[2:])
    if status != UNAVAILABLE:
        cache.set(key, (status, detail, now), CACHE_SECONDS)
    return VatIdCheck(vat_id=vat_id, status=status, checked_at=now, detail=detail)

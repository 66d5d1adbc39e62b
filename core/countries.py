"""EU member states and VAT ids, from python-stdnum (one rule for the whole shop)."""

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.util import clean

# ISO 3166-1 alpha-2 codes of the EU member states (stdnum lists "XI",
# Northern Ireland, for its VAT ids; it is not a member state).
EU_MEMBER_STATES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES if code != "xi")


def vat_id_compact(vat_id: str) -> str:
    """A VAT id without spaces, dots or dashes, upper case: "fr 40 123.456.824" -> "FR40123456824"."""
    return clean(vat_id or "", " -./,").upper().strip()


def vat_id_country(vat_id: str) -> str:
    """The member state of an EU VAT id's prefix ("EL..." is Greece: "GR"), or ""."""
    prefix = vat_id_compact(vat_id)[:2]
    if prefix == "EL":
        return "GR"
    return prefix if prefix in EU_MEMBER_STATES else ""


def vat_id_error(vat_id: str) -> str:
    """Why an EU VAT id is not well formed (format and check digits), or "" when it is."""
    try:
        eu_vat.validate(vat_id)
    except ValidationError as error:
        return str(error)
    return ""


def vat_id_is_valid(vat_id: str) -> bool:
    """Well formed: an EU member state's prefix, the right length and check digits."""
    return bool(vat_id) and not vat_id_error(vat_id)

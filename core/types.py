"""Plain data types handed between apps: no model, no database."""

from dataclasses import asdict, dataclass


def address_lines(*, company: str = "", line1: str = "", line2: str = "", postal_code: str = "", city: str = "",
                  country: str = "") -> list[str]:
    """An address as printed, one line each, empty parts left out."""
    return [
        line
        for line in (company, line1, line2, f"{postal_code} {city}".strip(), country)
        if line
    ]


@dataclass(frozen=True)
class Buyer:
    """Who a document is addressed to, as printed on it."""

    name: str
    email: str = ""
    company: str = ""
    address_line1: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    vat_id: str = ""

    @property
    def address_lines(self) -> list[str]:
        return address_lines(company=self.company, line1=self.address_line1, postal_code=self.postal_code,
                             city=self.city, country=self.country)

    def as_snapshot(self) -> dict:
        return {**asdict(self), "address_lines": self.address_lines}

    @classmethod
    def from_snapshot(cls, data: dict) -> "Buyer":
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})

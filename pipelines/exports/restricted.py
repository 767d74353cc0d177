"""Values that identify enterprise data, for the export validators: if any of them appears in a package
that is to leave the restricted zone, the export is refused."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import polars as pl

from pipelines.config import Settings
from pipelines.enterprise import store

MARKER_COLUMNS = {
    "enterprise": ("uscc", "enterprise_name", "address", "contact_name", "contact_phone", "contact_email"),
    "product": ("product_name", "model"),
    "activity": ("supplier", "evidence"),
}


def _distinctive(text: str) -> bool:
    # Chinese carries more per character: 4 characters of a name are distinctive, 6 of a Latin code
    return len(text) >= (4 if any(ord(ch) > 0x2E80 for ch in text) else 6)


def restricted_markers(settings: Settings) -> list[str]:
    """Distinctive strings of the uploads in force (credit codes, names, contacts, suppliers, evidence
    references); short generic words are left out so that a factor called 电力 is not a false hit."""
    out: set[str] = set()
    for table, cols in MARKER_COLUMNS.items():
        frame = store.read_current(settings, table)
        for c in cols:
            if c in frame.columns:
                out |= {str(v) for v in frame[c].drop_nulls().unique().to_list() if _distinctive(str(v))}
    return sorted(out)


# Structured restricted values, compared the way each kind can leak (the national package's check). A word
# in a free-text field ("approved" written as evidence) is not a value of any of these kinds.
NAME_COLUMNS = {
    "enterprise": ("enterprise_name", "address", "contact_name", "contact_phone", "contact_email"),
    "product": ("product_name", "model"),
    "activity": ("supplier",),
}
ITEM_COLUMNS = {"activity": ("item", "evidence"), "facility": ("facility_name",)}
USCC_TOKEN = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")


@dataclass
class RestrictedValues:
    credit_codes: set[str] = field(default_factory=set)  # found as an 18-character token anywhere
    names: set[str] = field(default_factory=set)  # enterprise, product, supplier, contact: contained in a cell
    items: set[str] = field(default_factory=set)  # item texts, evidence, facility names: a whole cell equal
    amounts: set[float] = field(default_factory=set)  # activity amounts with 6+ significant digits: a value equal

    def find(self, table: pl.DataFrame, text_columns: list[str], number_columns: list[str]) -> list[str]:
        """What of these values appears in the table, as 'column: value' (empty: nothing)."""
        hits = []
        for col in text_columns:
            cells = [c for c in table[col].drop_nulls().unique().to_list() if c]
            for cell in cells:
                folded = cell.strip().casefold()
                codes = set(USCC_TOKEN.findall(cell)) & self.credit_codes
                names = [n for n in self.names if n.casefold() in folded]
                if codes or names or folded in self._items_folded():
                    hits.append(f"{col}: {cell[:60]}")
        for col in number_columns:
            values = set(table[col].drop_nulls().to_list())
            hits += [f"{col}: {v}" for v in sorted(values & self.amounts)]
        return hits

    def _items_folded(self) -> set[str]:
        return {i.strip().casefold() for i in self.items}

    def markers(self) -> list[str]:
        return sorted(self.credit_codes | self.names | self.items)


def _significant_digits(x: float) -> int:
    text = f"{x:.15g}".replace(".", "").replace("-", "").lstrip("0")
    return len(text.rstrip("0")) if "e" not in text else 15


def restricted_values(settings: Settings) -> RestrictedValues:
    out = RestrictedValues()
    enterprise = store.read_current(settings, "enterprise")
    if "uscc" in enterprise.columns:
        out.credit_codes |= set(enterprise["uscc"].drop_nulls().to_list())
    for target, spec in ((out.names, NAME_COLUMNS), (out.items, ITEM_COLUMNS)):
        for table, cols in spec.items():
            frame = store.read_current(settings, table)
            for c in cols:
                if c in frame.columns:
                    target |= {str(v) for v in frame[c].drop_nulls().unique().to_list() if _distinctive(str(v))}
    activity = store.read_current(settings, "activity")
    if "amount" in activity.columns:
        out.amounts |= {
            float(a)
            for a in activity["amount"].drop_nulls().to_list()
            if math.isfinite(a) and _significant_digits(a) >= 6
        }
    return out

"""Values that identify enterprise data, for the export validators: if any of them appears in a package
that is to leave the restricted zone, the export is refused."""

from __future__ import annotations


from pipelines.config import Settings
from pipelines.enterprise import store

MARKER_COLUMNS = {"enterprise": ("uscc", "enterprise_name", "address", "contact_name", "contact_phone", "contact_email"),
                  "product": ("product_name", "model"),
                  "activity": ("supplier", "evidence")}


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

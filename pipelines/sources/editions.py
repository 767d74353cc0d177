"""Editions of a source: which one is loaded, and what differs between them, read from the edition itself.

Everything that changes from one edition to the next (version, GWP basis, data year, publication date,
document title, DOI, URL, currency year of monetary units) is read from the edition's own files, never
typed into an adapter:

1. ``edition.json`` beside the files (a steward writes it when the publisher's files do not say it), e.g.
   ``{"version": "v1.3.0", "gwp_set": "AR5", "data_year": 2022, "publication_date": "2024-08-01",
   "doi": "10.23719/xxxxxxx", "url": "https://...", "currency_year": 2022, "document": "..."}``;
2. a DCAT/data.gov metadata record in the directory (``*provenance*.json``, ``*datagov*.json``):
   ``modified`` -> publication date, ``identifier``/``doi`` -> DOI, the distribution's download URL,
   "based on GHG data representing YYYY" in the description -> data year, ``title`` -> document;
3. the file names (``_v1.3.0_``, ``USD2022``);
4. the data: the GWP basis is the IPCC set whose GWP100 values reproduce the published CO2e from the
   published gases (adapter calls ``fit_gwp_set``).

What could not be found stays empty (and is reported by ``pcf status``) rather than borrowed from another
edition. Each value records where it came from (``basis``).

Which edition is loaded: the newest directory (numeric order) unless ``PCF_EDITIONS`` pins one,
e.g. ``PCF_EDITIONS=epa_sef_v1_2=epa_sef_v1_2`` (comma-separated ``source_id=directory`` pairs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("version", "gwp_set", "data_year", "publication_date", "document", "doi", "url", "currency_year")


@dataclass
class EditionMeta:
    directory: str
    values: dict = field(default_factory=dict)
    basis: dict = field(default_factory=dict)  # field -> where the value came from

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def set(self, key: str, value, basis: str) -> None:
        if value in (None, "") or key in self.values:
            return
        self.values[key] = value
        self.basis[key] = basis

    def record(self) -> dict:
        return {
            "directory": self.directory,
            **{k: self.values.get(k) for k in FIELDS},
            "basis": {k: self.basis[k] for k in FIELDS if k in self.basis},
        }


def pinned_editions() -> dict[str, str]:
    from pipelines.config import settings

    raw = settings().editions
    pairs = [p.split("=", 1) for p in raw.split(",") if "=" in p]
    return {k.strip(): v.strip() for k, v in pairs}


def choose(source_id: str, editions: list[Path]) -> tuple[Path | None, str]:
    """-> (the edition directory to load, why). `editions` oldest first."""
    if not editions:
        return None, "no edition found"
    pin = pinned_editions().get(source_id)
    if pin:
        for d in editions:
            if d.name == pin:
                return d, f"pinned by PCF_EDITIONS ({pin})"
        return None, f"PCF_EDITIONS pins {pin!r}, which is not among {', '.join(d.name for d in editions)}"
    return editions[-1], "newest of " + ", ".join(d.name for d in editions)


def read(directory: Path) -> EditionMeta:
    meta = EditionMeta(directory.name)
    declared = directory / "edition.json"
    if declared.is_file():
        try:
            data = json.loads(declared.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{declared}: not valid JSON ({exc})") from None
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise ValueError(f"{declared}: unknown field(s) {', '.join(unknown)}; expected {', '.join(FIELDS)}")
        for key in FIELDS:
            meta.set(key, data.get(key), "edition.json")
    for path in sorted(directory.glob("*.json")):
        if path.name == "edition.json" or not re.search(r"provenance|datagov|dcat|metadata", path.name, re.I):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict):
            _from_dcat(meta, record, path.name)
    return meta


def _from_dcat(meta: EditionMeta, record: dict, name: str) -> None:
    meta.set("publication_date", str(record.get("modified") or record.get("issued") or "")[:10], f"{name}: modified")
    meta.set("document", record.get("title"), f"{name}: title")
    ident = str(record.get("identifier") or record.get("doi") or "")
    doi = re.search(r"10\.\d{4,9}/[^\s\"'<>]+", ident)
    if doi:
        meta.set("doi", doi.group(0).rstrip("/."), f"{name}: identifier")
    links = [
        d.get("downloadURL") or d.get("accessURL") for d in record.get("distribution") or [] if isinstance(d, dict)
    ]
    urls = [str(u) for u in links if u]
    if urls:
        meta.set("url", urls[0].rsplit("/", 1)[0] + "/", f"{name}: distribution")
    year = re.search(
        r"(?:data|GHG data)\s+(?:representing|for|from)\s+(\d{4})", str(record.get("description") or ""), re.I
    )
    if year:
        meta.set("data_year", int(year.group(1)), f"{name}: description")
    match = re.search(r"\bv(\d+(?:\.\d+)+)", str(record.get("title") or ""))
    if match:
        meta.set("version", f"v{match.group(1)}", f"{name}: title")


def from_file_name(meta: EditionMeta, file_name: str) -> None:
    version = re.search(r"_v(\d+(?:\.\d+)+)_", file_name)
    if version:
        meta.set("version", f"v{version.group(1)}", f"file name {file_name}")
    currency = re.search(r"(?:USD|CNY|GBP|EUR)(\d{4})", file_name)
    if currency:
        meta.set("currency_year", int(currency.group(1)), f"file name {file_name}")


def fit_gwp_set(
    rows: list[tuple[float, list[tuple[str, float, bool]]]], abs_tol: float, rel_tol: float
) -> tuple[str | None, str]:
    """The GWP100 set whose values reproduce the published CO2e from the published gases.

    rows: (published CO2e, [(gas, amount, already_co2e)]). -> (set or None, how it was decided). A set is
    taken only if it reproduces at least 95 % of the rows within the tolerances and does better than every
    other set; otherwise None (the publisher's basis is then unknown and stated so)."""
    from pipelines.common.gwp import GwpError, gwp
    from pipelines.config import GWP_SETS

    scores = {}
    for s in GWP_SETS:
        ok = n = 0
        for total, gases in rows:
            try:
                est = sum(a if as_co2e else a * (1.0 if g.startswith("CO2") else gwp(g, s)) for g, a, as_co2e in gases)
            except GwpError:
                continue
            n += 1
            diff = abs(total - est)
            ok += diff <= abs_tol or diff <= rel_tol * abs(total)
        scores[s] = ok / n if n else 0.0
    best = max(scores, key=lambda k: scores[k])
    ranked = sorted(scores.values(), reverse=True)
    summary = ", ".join(f"{k} {v:.1%}" for k, v in scores.items())
    if scores[best] >= 0.95 and (len(ranked) < 2 or ranked[0] > ranked[1]):
        return best, f"fitted: published CO2e reproduced by {best} GWP100 ({summary} of rows within tolerance)"
    return None, f"not determinable from the data ({summary} of rows within tolerance)"

"""US EPA Supply Chain GHG Emission Factors by NAICS-6 (USEEIO based), spend-based fallback factors.

Two factors per NAICS code: without margins (cradle to factory gate, producer side) and with margins
(to the point of sale, purchaser price). Gases from the byGHG file, "HFCs and PFCs, unspecified" already
in CO2e. What differs between editions (version, currency year, data year, GWP basis, publication date,
DOI, URL) is read from each edition's files (sources/editions.py): v1.2's CO2e is reproduced by AR4
GWP100 (fitted on the data, as SOURCE.md found), its data year and DOI come from its data.gov record.
A newer edition (epa_sef_v1_3_0 ...) beside this one loads as a new version of the same source.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.common.parsing import InputError, parse_number, read_csv_strings
from pipelines.factors.schema import staged_frame
from pipelines.sources import editions
from pipelines.sources.base import (
    SourceBatch,
    SourceSpec,
    edition_dirs,
    file_error_rows,
    finish,
    lineage,
    missing_batch,
    raw_file_record,
    raw_files_frame,
    year_start,
)

SPEC = SourceSpec(
    source_id="epa_sef_v1_2",
    title="Supply Chain Greenhouse Gas Emission Factors for US Industries and Commodities (by NAICS-6)",
    publisher="U.S. EPA Office of Research and Development",
    licence="US-PD (U.S. Government work)",
    redistributable=True,
    approved_by_source=True,
    location="external",
    dir_glob="epa_sef_v*",
    expected_refresh_days=730,
    # url, DOI, version, GWP basis, data year, publication date: per edition (sources/editions.py)
)
VARIANTS = {
    "without_margins": ("Supply Chain Emission Factors without Margins", "cradle to factory gate, producer price"),
    "with_margins": ("Supply Chain Emission Factors with Margins", "to point of sale incl. margins, purchaser price"),
}
GAS_MAP = {"Carbon dioxide": "CO2_fossil", "Methane": "CH4", "Nitrous oxide": "N2O"}
UNSPECIFIED = "HFCs and PFCs, unspecified"
CODE, TITLE = "2017 NAICS Code", "2017 NAICS Title"


def _column(columns: list[str], *words: str) -> str | None:
    """The header that contains all `words` (case-insensitive): editions rename headers
    ('2017 NAICS Code', 'NAICS Code 2017' ...)."""
    for c in columns:
        low = c.lower()
        if all(w in low for w in words):
            return c
    return None


def load(root: Path) -> SourceBatch:
    directory, why = editions.choose(SPEC.source_id, edition_dirs(root, SPEC.dir_glob))
    if directory is None:
        return (
            missing_batch(SPEC, root / SPEC.dir_glob)
            if why == "no edition found"
            else SourceBatch(SPEC, "absent", staged_frame([]), raw_files_frame([]), "error", why)
        )
    co2e_files = sorted(directory.glob("SupplyChainGHGEmissionFactors_*_CO2e_*.csv"))
    ghg_files = sorted(directory.glob("SupplyChainGHGEmissionFactors_*_byGHG_*.csv"))
    if not co2e_files:
        return missing_batch(SPEC, directory)
    try:
        meta = editions.read(directory)
    except ValueError as exc:
        return SourceBatch(SPEC, directory.name, staged_frame([]), raw_files_frame([]), "error", str(exc))
    editions.from_file_name(meta, co2e_files[0].name)
    meta.set("version", directory.name, "directory name")
    raws, rows = [], []
    gases: dict[str, dict[str, list]] = {}
    if ghg_files:
        path = ghg_files[0]
        try:
            frame, enc = read_csv_strings(path)
            raw_g = raw_file_record(SPEC, path, root, frame.height, enc)
            raws.append(raw_g)
            gcode = _column(frame.columns, "naics", "code") or "NAICS Code"  # a missing column: KeyError below
            gas_col = _column(frame.columns, "ghg") or "GHG"
            for i, rec in enumerate(frame.iter_rows(named=True), start=1):
                gases.setdefault(rec[gcode], {k: [] for k in VARIANTS})
                for variant in VARIANTS:
                    col = _variant_column(frame.columns, variant) or variant
                    gases[rec[gcode]][variant].append((rec[gas_col], rec.get(col), i, raw_g))
        except (InputError, KeyError) as exc:
            exc = (
                exc
                if isinstance(exc, InputError)
                else InputError(f"byGHG file: no column {exc}", "columns", "file.missing_columns")
            )
            raw_g = raw_file_record(SPEC, path, root, 0, error=str(exc))
            raws.append(raw_g)
            rows += file_error_rows(SPEC, raw_g, exc, 0)
    path = co2e_files[0]
    try:
        frame, enc = read_csv_strings(path)
    except InputError as exc:
        raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
        return finish(SPEC, meta.get("version"), rows + file_error_rows(SPEC, raw, exc, 0), raws + [raw])
    raw = raw_file_record(SPEC, path, root, frame.height, enc)
    raws.append(raw)
    code, title = _column(frame.columns, "naics", "code"), _column(frame.columns, "naics", "title")
    columns = {v: _variant_column(frame.columns, v) for v in VARIANTS}
    missing = [n for n, c in (("NAICS code", code), ("NAICS title", title), *columns.items()) if c is None]
    if missing:
        problem = InputError(
            f"{path.name}: no column for {', '.join(missing)} (headers: {', '.join(frame.columns)})",
            ",".join(missing),
            "file.missing_columns",
        )
        return finish(SPEC, meta.get("version"), rows + file_error_rows(SPEC, raw, problem, frame.height), raws)
    assert code is not None and title is not None  # missing columns returned above
    found_columns = {v: c for v, c in columns.items() if c is not None}  # all of them (checked above)
    _edition_gwp_basis(meta, frame, code, found_columns["without_margins"], gases)
    if meta.get("data_year") is None and meta.get("currency_year"):
        meta.set(
            "data_year",
            meta.get("currency_year"),
            "assumed: the currency year (no data year in the edition's files; state it in edition.json)",
        )
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        for variant in VARIANTS:
            rows.append(
                _row(
                    rec,
                    i,
                    raw,
                    variant,
                    gases.get(rec[code], {}).get(variant, []),
                    meta,
                    code,
                    title,
                    found_columns[variant],
                )
            )
    batch = finish(SPEC, meta.get("version"), rows, raws)
    batch.edition_meta = {**meta.record(), "choice": why}
    return batch


def _variant_column(columns: list[str], variant: str) -> str | None:
    if variant == "without_margins":
        return _column(columns, "without margins")
    return next((c for c in columns if "with margins" in c.lower() and "without" not in c.lower()), None)


def _edition_gwp_basis(meta, frame, code: str, column: str, gases: dict) -> None:
    """The GWP set the publisher used: declared, else fitted on the data (CO2e = sum of gases x GWP100)."""
    if meta.get("gwp_set") or not gases:
        return
    sample = []
    for rec in frame.iter_rows(named=True):
        try:
            total = parse_number(rec[column], column)
            parts = [
                (GAS_MAP.get(g, g), parse_number(v, "gas"), g == UNSPECIFIED)
                for g, v, _i, _r in gases.get(rec[code], {}).get("without_margins", [])
            ]
        except InputError:
            continue
        parts = [(g, a, c) for g, a, c in parts if a is not None]
        if total is not None and parts:
            sample.append((total, parts))
    from pipelines.factors.validation import GWP_SUM_ABS_TOL, GWP_SUM_REL_TOL

    # None amounts were filtered out above
    found, how = editions.fit_gwp_set(sample, GWP_SUM_ABS_TOL, GWP_SUM_REL_TOL)  # type: ignore[arg-type]
    if found:
        meta.set("gwp_set", found, how)
    else:
        meta.basis["gwp_set"] = how


def _row(
    rec: dict, i: int, raw: dict, variant: str, gas_rows: list, meta, code_col: str, title_col: str, column: str
) -> dict:
    _column_name, note = VARIANTS[variant]
    code = rec[code_col]
    version, currency = meta.get("version"), meta.get("currency_year")
    year = meta.get("data_year")
    row = {
        "natural_key": f"{code}:{variant}",
        "name_zh": None,
        "name_en": f"{rec[title_col]} ({note})",
        "classification_scheme": "NAICS2017",
        "classification_code": code,
        "activity_category": "spend",
        "factor_purpose": "spend_eeio",
        "unit_raw": f"{currency} USD" if currency else "USD",
        "value_scale": 1.0,
        "published_gwp_set": meta.get("gwp_set") or "unknown",
        "gas_basis": "per_gas" if gas_rows else "co2e_only",
        "geography_raw": "US",
        "reference_year": year,
        "valid_from": year_start(year),
        "technology": f"USEEIO commodity {rec.get('Reference USEEIO Code')}"
        if rec.get("Reference USEEIO Code")
        else None,
        "system_boundary": "cradle_to_gate",
        "data_type": "secondary",
        "document": meta.get("document")
        or f"Supply Chain GHG Emission Factors {version} by NAICS-6" + (f" (USD{currency})" if currency else ""),
        "locator": f"{raw['raw_file'].split('/')[-1]} NAICS {code}, column '{column}'",
        "publication_date": meta.get("publication_date"),
        "removal_declared": False,
        "url": meta.get("url"),
        "doi": meta.get("doi"),
        "qa_flags": "edition.data_year_assumed" if str(meta.basis.get("data_year", "")).startswith("assumed") else None,
        "dq_reliability": 2,
        "dq_completeness": 2,
        "dq_technological": 4,
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": i,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i)
        + [{"raw_file": g[3]["raw_file"], "raw_sha256": g[3]["raw_sha256"], "raw_row": g[2]} for g in gas_rows],
    }
    try:
        row["co2e_published"] = parse_number(rec[column], column)
        parsed = []
        for name, value, _i, _raw in gas_rows:
            amount = parse_number(value, f"byGHG {name}")
            if amount is None:
                continue
            parsed.append({"gas": GAS_MAP.get(name, name), "amount": amount, "as_co2e": name == UNSPECIFIED})
        row["gases"] = parsed or None
    except InputError as exc:
        row.update(error_rule=exc.rule, error_column=exc.column, error_message=str(exc))
    return row

"""US EPA Supply Chain GHG Emission Factors by NAICS-6 (USEEIO based), spend-based fallback factors.

Two factors per NAICS code: without margins (cradle to factory gate, producer side) and with margins
(to the point of sale, purchaser price). Gases from the byGHG file; the published CO2e uses AR4
GWP100 with "HFCs and PFCs, unspecified" already in CO2e (SOURCE.md, checked). A newer edition
(epa_sef_v1_3_0 ...) beside this one loads as a new version of the same source.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.parsing import InputError, parse_number, read_csv_strings
from pipelines.sources.base import (SourceBatch, SourceSpec, edition_dirs, file_error_rows, finish, lineage,
                                    missing_batch, raw_file_record, year_start)

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
    url="https://pasteur.epa.gov/uploads/10.23719/1528686/",
    doi="10.23719/1528686",
)
VARIANTS = {
    "without_margins": ("Supply Chain Emission Factors without Margins", "cradle to factory gate, producer price"),
    "with_margins": ("Supply Chain Emission Factors with Margins", "to point of sale incl. margins, purchaser price"),
}
GAS_MAP = {"Carbon dioxide": "CO2_fossil", "Methane": "CH4", "Nitrous oxide": "N2O"}
UNSPECIFIED = "HFCs and PFCs, unspecified"
CODE, TITLE = "2017 NAICS Code", "2017 NAICS Title"


def load(root: Path) -> SourceBatch:
    editions = edition_dirs(root, SPEC.dir_glob)
    if not editions:
        return missing_batch(SPEC, root / SPEC.dir_glob)
    directory = editions[-1]  # the newest edition is the current version of this source
    co2e_files = sorted(directory.glob("SupplyChainGHGEmissionFactors_*_CO2e_*.csv"))
    ghg_files = sorted(directory.glob("SupplyChainGHGEmissionFactors_*_byGHG_*.csv"))
    if not co2e_files:
        return missing_batch(SPEC, directory)
    m = re.search(r"_v(?P<ver>[\d.]+)_.*USD(?P<year>\d{4})", co2e_files[0].name)
    edition, price_year = (f"v{m.group('ver')}", m.group("year")) if m else (directory.name, "")
    raws, rows = [], []
    gases: dict[str, dict[str, list]] = {}
    if ghg_files:
        path = ghg_files[0]
        try:
            frame, enc = read_csv_strings(path)
            raw_g = raw_file_record(SPEC, path, root, frame.height, enc)
            raws.append(raw_g)
            for i, rec in enumerate(frame.iter_rows(named=True), start=1):
                gases.setdefault(rec[CODE], {k: [] for k in VARIANTS})
                for variant, (column, _) in VARIANTS.items():
                    gases[rec[CODE]][variant].append((rec["GHG"], rec[column], i, raw_g))
        except InputError as exc:
            raw_g = raw_file_record(SPEC, path, root, 0, error=str(exc))
            raws.append(raw_g)
            rows += file_error_rows(SPEC, raw_g, exc, 0)
    path = co2e_files[0]
    try:
        frame, enc = read_csv_strings(path)
    except InputError as exc:
        raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
        return finish(SPEC, edition, rows + file_error_rows(SPEC, raw, exc, 0), raws + [raw])
    raw = raw_file_record(SPEC, path, root, frame.height, enc)
    raws.append(raw)
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        for variant in VARIANTS:
            rows.append(_row(rec, i, raw, variant, gases.get(rec[CODE], {}).get(variant, []), edition, price_year))
    return finish(SPEC, edition, rows, raws)


def _row(rec: dict, i: int, raw: dict, variant: str, gas_rows: list, edition: str, price_year: str) -> dict:
    column, note = VARIANTS[variant]
    code = rec[CODE]
    row = {
        "natural_key": f"{code}:{variant}",
        "name_zh": None,
        "name_en": f"{rec[TITLE]} ({note})",
        "classification_scheme": "NAICS2017", "classification_code": code,
        "activity_category": "spend", "factor_purpose": "spend_eeio",
        "unit_raw": f"{price_year} USD" if price_year else "USD", "value_scale": 1.0,
        "published_gwp_set": "AR4", "gas_basis": "per_gas" if gas_rows else "co2e_only",
        "geography_raw": "US", "reference_year": 2019, "valid_from": year_start(2019),
        "technology": f"USEEIO v2.0 commodity {rec.get('Reference USEEIO Code')}",
        "system_boundary": "cradle_to_gate", "data_type": "secondary",
        "document": f"Supply Chain GHG Emission Factors {edition} by NAICS-6 (USD{price_year})",
        "locator": f"{raw['raw_file'].split('/')[-1]} NAICS {code}, column '{column}'",
        "publication_date": "2023-04-12", "removal_declared": False,
        "dq_reliability": 2, "dq_completeness": 2, "dq_technological": 4,
        "raw_file": raw["raw_file"], "raw_sha256": raw["raw_sha256"], "raw_row": i,
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

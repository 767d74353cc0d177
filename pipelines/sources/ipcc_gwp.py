"""IPCC GWP table (openclimatedata ``globalwarmingpotentials`` 0.13.2, CC0) as a source.

The GWP sets the warehouse applies come from the package (a pinned dependency). This asset reads the
copy in the sources directory, checks it agrees with the package, and turns each species into a
'release of 1 kg of the gas to air' factor (what a refrigerant or process-gas leak line needs); the
CO2e of each is computed under the selected GWP set, and a species with no value in that set is
quarantined with that reason (rule gwp.missing_for_set).
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from pipelines.common.gwp import gwp_table
from pipelines.common.parsing import InputError, decode_bytes, parse_number
from pipelines.config import GWP_SETS
from pipelines.sources.base import (
    SourceBatch,
    SourceSpec,
    file_error_rows,
    finish,
    lineage,
    missing_batch,
    raw_file_record,
)

SPEC = SourceSpec(
    source_id="ipcc_gwp_openclimatedata",
    title="Global warming potentials (IPCC SAR, TAR, AR4, AR5, AR6), openclimatedata/globalwarmingpotentials 0.13.2",
    publisher="IPCC assessment reports, compiled by openclimatedata",
    licence="CC0-1.0",
    redistributable=True,
    approved_by_source=True,
    location="external",
    dir_glob="ipcc_gwp_openclimatedata",
    expected_refresh_days=2000,
    url="https://github.com/openclimatedata/globalwarmingpotentials",
)


def load(root: Path) -> SourceBatch:
    path = root / SPEC.dir_glob / "globalwarmingpotentials.csv"
    if not path.is_file():
        return missing_batch(SPEC, path.parent)
    try:
        text = decode_bytes(path.read_bytes(), str(path), allow_gbk=False).text
        frame = pl.read_csv(io.StringIO(text), comment_prefix="#", infer_schema=False)
    except InputError as exc:
        raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
        return finish(SPEC, "0.13.2", file_error_rows(SPEC, raw, exc, 0), [raw])
    raw = raw_file_record(SPEC, path, root, frame.height)
    sets = [c for c in frame.columns if c.endswith("GWP100") and c[:-6] in GWP_SETS]
    rows = []
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        species = rec["Species"]
        row = {
            "natural_key": f"release:{species}",
            "name_en": f"Release of {species} to air (1 kg), GWP100",
            "name_zh": f"{species} 排放到大气 (1 kg)",
            "classification_scheme": "IPCC-GWP",
            "classification_code": species,
            "activity_category": "refrigerant",
            "activity_key": f"release.{species}",
            "factor_purpose": "fugitive",
            "unit_raw": "kg",
            "value_scale": 1.0,
            "gas_basis": "per_gas",
            "published_gwp_set": None,
            "geography_raw": "GLO",
            "reference_year": 2021,
            "technology": None,
            "system_boundary": "gate_to_gate",
            "data_type": "secondary",
            "document": "IPCC assessment reports: GWP100 (see package comment lines for tables)",
            "locator": f"globalwarmingpotentials.csv species {species}",
            "publication_date": "2021",
            "removal_declared": False,
            "dq_reliability": 1,
            "dq_completeness": 1,
            "dq_technological": 1,
            "raw_file": raw["raw_file"],
            "raw_sha256": raw["raw_sha256"],
            "raw_row": i,
            "lineage": lineage(raw["raw_file"], raw["raw_sha256"], i),
        }
        try:
            # The file must agree with the package the warehouse computes with.
            differs = [
                c
                for c in sets
                if (v := parse_number(rec.get(c), c)) is not None and abs(v - gwp_table(c[:-6]).get(species, v)) > 1e-9
            ]
            if differs:
                row["qa_flags"] = "gwp.file_differs_from_package:" + "/".join(differs)
            row["gases"] = [{"gas": species, "amount": 1.0, "as_co2e": False}]
        except InputError as exc:
            row.update(error_rule=exc.rule, error_column=exc.column, error_message=str(exc))
        rows.append(row)
    return finish(SPEC, "0.13.2", rows, [raw])

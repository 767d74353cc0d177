"""TianGong LCA open data (天工LCA数据库), Chinese-location subset, ILCD 1.1 zip (sources dir
`tiangong_lca_ilcd/*.zip`; MIT licence, notice kept: see SOURCE.md there).

One candidate factor per imported process data set: kg of each greenhouse gas per unit of its reference flow,
cradle to gate within the archive (pipelines/ilcd/importer.py: rules, gas mapping, network, completeness
flags). Data sets the importer quarantines become quarantine rows with their rule and message; exchange-level
quarantine is the release table `import_issue`. Research data, internal review only: factors arrive pending,
for a steward (the release guard applies as to any source).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.common import gwp as gwp_module
from pipelines.factors.schema import IMPORT_ISSUE_SCHEMA
from pipelines.ilcd.archive import ArchiveError, read
from pipelines.ilcd.importer import geography_of, import_archive
from pipelines.sources.base import SourceBatch, SourceSpec, finish, lineage, missing_batch, raw_file_record

SPEC = SourceSpec(
    source_id="tiangong_ilcd",
    title="TianGong LCA Data (天工LCA数据库), Chinese-location processes, ILCD 1.1",
    publisher="TianGong LCI Data Working Group (天工LCI数据工作小组), linancn/TianGong-LCA-Data",
    licence="MIT (© 2023 linancn; notice kept with every export that carries these factors)",
    redistributable=True,
    approved_by_source=False,
    location="external",
    dir_glob="tiangong_lca_ilcd",
    expected_refresh_days=730,
    url="https://github.com/linancn/TianGong-LCA-Data",
    authority="literature",
)
GASES = ("CO2_fossil", "CO2_biogenic", "CH4_fossil", "CH4_biogenic", "N2O", "CF4", "C2F6", "NF3", "CHCl3", "CH2Cl2")


def gwp_values() -> dict[str, float]:
    """AR6 GWP100 of the gases the importer maps (for its check against the archive's EF 3.1 method)."""
    values = {g: gwp_module.gwp_or_none(g, "AR6") for g in GASES}
    return {g: v for g, v in values.items() if v is not None}


def notice(root: Path) -> str | None:
    """The archive's own LICENSE text (MIT: the copyright and permission notice travel with every copy of
    the data, so every export that carries these factors includes it). None when no archive is present."""
    import zipfile

    folder = root / SPEC.dir_glob
    zips = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    if not zips:
        return None
    try:
        with zipfile.ZipFile(zips[-1]) as zf:
            name = next((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "LICENSE"), None)
            text = zf.read(name).decode("utf-8") if name else None
    except (OSError, zipfile.BadZipFile):
        text = None
    return text or f"{SPEC.title}\n{SPEC.licence}\n{SPEC.url}\n"


def load(root: Path) -> SourceBatch:
    folder = root / SPEC.dir_glob
    zips = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    if not zips:
        return missing_batch(SPEC, folder)
    path = zips[-1]
    try:
        arc = read(path)
    except ArchiveError as exc:
        raw = raw_file_record(SPEC, path, root, 0, error=str(exc))
        return finish(SPEC, path.stem, [], [raw])
    raw = raw_file_record(SPEC, path, root, len(arc.processes), encoding="ilcd-1.1-zip")
    res = import_archive(arc, gwp_values())
    order = {p["file"]: i for i, p in enumerate(arc.processes, start=1)}
    rows = [_row(s, raw, order[s["process"]["file"]]) for s in res.staged]
    for q in res.quarantined:
        p = q["process"]
        rows.append(
            {
                **_base(p, raw, order[p["file"]]),
                "error_rule": q["rule"],
                "error_column": "dataset",
                "error_message": f"{p.get('file')}: {q['message']}",
            }
        )
    issues = (
        pl.DataFrame([{**i, "source_id": SPEC.source_id} for i in res.issues], schema=IMPORT_ISSUE_SCHEMA)
        if res.issues
        else pl.DataFrame(schema=IMPORT_ISSUE_SCHEMA)
    )
    edition = path.stem
    return finish(
        SPEC,
        edition,
        rows,
        [raw],
        import_issue=issues,
        import_summary=pl.DataFrame([{**res.counts, **{k: v for k, v in res.ef_check.items()}}]),
    )


def _base(p: dict, raw: dict, n: int) -> dict:
    name = p.get("name") or {}
    return {
        "natural_key": p.get("uuid") or p.get("file"),
        "name_zh": name.get("zh"),
        "name_en": name.get("en"),
        "raw_file": raw["raw_file"],
        "raw_sha256": raw["raw_sha256"],
        "raw_row": n,
        "lineage": lineage(raw["raw_file"], raw["raw_sha256"], n),
        "raw_sheet": p.get("file"),
        "publisher": SPEC.publisher,
        "licence": SPEC.licence,
    }


def _row(s: dict, raw: dict, n: int) -> dict:
    p = s["process"]
    geo, how = geography_of(p["location"])
    year = int(p["reference_year"]) if (p.get("reference_year") or "").isdigit() else None
    linked = s["linked"] > 0
    gases = [{"gas": g, "amount": a, "as_co2e": False} for g, a in sorted(s["gases"].items())]
    qa = list(s["qa"]) + ([f"ilcd.location:{how}"] if how not in ("table",) else [])
    unit = s["unit"]
    category = {
        "kg": "material",
        "piece": "product",
        "MJ": "fuel",
        "m**3": "material",
        "t*km": "transport_freight",
        "EUR": "spend",
        "m**2": "material",
    }.get(unit or "", "other")
    return {
        **_base(p, raw, n),
        "classification_scheme": "ILCD-classification",
        "classification_code": " > ".join(p.get("classes") or []) or None,
        "activity_category": category,
        "factor_purpose": "life_cycle" if linked else "direct",
        "unit_raw": unit,
        "value_scale": 1.0,
        "gases": gases,
        "gas_basis": "per_gas",
        "geography_raw": geo,
        "reference_year": year,
        "technology": (p.get("technology") or "")[:500] or None,
        "system_boundary": "cradle_to_gate" if linked else "gate_to_gate",
        "data_type": "secondary",
        "document": f"TianGong LCA Data, process {p.get('uuid')} version {p.get('version')}",
        "locator": p.get("file"),
        "url": (p.get("uri") or "").replace("&amp;", "&") or None,
        "publication_date": None,
        "removal_declared": False,
        "dq_reliability": 3,  # internal review only (review type 'Dependent internal review')
        "dq_completeness": 4 if not linked else 3,
        "dq_technological": 3,
        "qa_flags": ",".join(qa) or None,
    }

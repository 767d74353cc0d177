"""Which factor a line gets: one precedence, used by every inventory line (enterprise uploads and reference
product models go through the same matcher) and by the review queue's side-by-side values.

Among the candidates a line reaches (factor id, activity key or name), whose unit converts to the line's
and that are not rejected or deprecated, in this order (docs/factor_selection.md, worked examples there):

 1. purpose: a product footprint needs a life-cycle (cradle-to-gate, all gases) factor. Scope 2 CO2-only
    factors are set aside whenever a life-cycle factor for the activity exists anywhere in the line's
    geography chain; only where none exists is the CO2-only factor used, and the line says that upstream
    and non-CO2 gases are missing. (Decided: no uplift is estimated — a derived number no publisher
    stands behind; a steward who wants a provincial life-cycle factor publishes it as a regional factor.)
 2. place: factors inside the line's geography chain (province -> grid region -> country -> global) before
    factors for other places (used only when nothing in the chain exists);
 3. a steward's regional factor at a province or grid region of the chain;
 4. authority: official_cn (Chinese national or provincial publication) > official_other (other
    governments, IPCC) > literature > third_party (copies and compilations such as the CPCD snapshot);
 5. reference year closest to the line's period; at equal distance the earlier (published) year;
 6. geography specificity: province, grid region, country, global;
 7. the lower DQR; then the factor id (deterministic).

`rank` returns the candidates in this order with the criterion that separates each from the next, so the
chosen factor's reason is "won on <criterion> against <runner-up>".
"""

from __future__ import annotations

AUTHORITY_RANK = {"steward_regional": 0, "official_cn": 1, "official_other": 2, "literature": 3, "third_party": 4}
STEP_RANK = {"requested": 0, "grid_region": 1, "country": 2, "global": 3, "other": 4}
REGIONAL_SOURCE = "regional_steward"
CO2_ONLY_PURPOSES = ("scope2_location",)
CRITERIA = (
    "purpose",
    "place",
    "steward regional factor",
    "authority",
    "reference year",
    "geography specificity",
    "data quality (DQR)",
    "factor id",
)


def key(c: dict, reporting_year: int, life_cycle_available: bool) -> tuple:
    """The sort key of a candidate; `c` carries `_step` (its geography step for the line)."""
    step = c.get("_step", "other")
    year = c.get("reference_year")
    gap = abs(reporting_year - year) if year is not None else 99
    steward_here = c.get("source_id") == REGIONAL_SOURCE and step in ("requested", "grid_region")
    return (
        int(life_cycle_available and c.get("factor_purpose") in CO2_ONLY_PURPOSES),
        int(step == "other"),
        int(not steward_here),
        AUTHORITY_RANK.get(c.get("authority") or "", 5),
        (gap, int(year is not None and year > reporting_year)),
        STEP_RANK.get(step, 4),
        c.get("dqr") if c.get("dqr") is not None else 5.0,
        c.get("factor_id") or "",
    )


def rank(candidates: list[dict], reporting_year: int) -> list[dict]:
    """Candidates best first, each with `_key` and `_decided_by` (the criterion that puts it ahead of the
    next one)."""
    life_cycle = any(c.get("factor_purpose") not in CO2_ONLY_PURPOSES for c in candidates)
    for c in candidates:
        c["_key"] = key(c, reporting_year, life_cycle)
    ordered = sorted(candidates, key=lambda c: c["_key"])
    for here, after in zip(ordered, ordered[1:] + [None]):
        here["_decided_by"] = (
            None
            if after is None
            else next(CRITERIA[i] for i, (a, b) in enumerate(zip(here["_key"], after["_key"])) if a != b)
            if here["_key"] != after["_key"]
            else "factor id"
        )
    return ordered


def describe(c: dict) -> str:
    return (
        f"{c.get('factor_id')} {c.get('source_id')} [{c.get('authority')}] {c.get('name_zh') or c.get('name_en')} "
        f"({c.get('geography_code')}, {c.get('reference_year')}, {c.get('factor_purpose')}, per {c.get('unit')})"
    )


def reason(ordered: list[dict]) -> str:
    """Why the first candidate was chosen, in one sentence."""
    if not ordered:
        return "no candidate"
    best = ordered[0]
    if len(ordered) == 1:
        return "the only candidate"
    runner = ordered[1]
    why = best["_decided_by"]
    detail = {
        "purpose": f"life-cycle factor preferred to the CO2-only {runner.get('factor_purpose')} factor",
        "place": f"inside the line's geography chain ({best.get('geography_code')}), the other is for {runner.get('geography_code')}",
        "steward regional factor": "the stewards' regional factor at this geography",
        "authority": f"{best.get('authority')} before {runner.get('authority')}",
        "reference year": f"year {best.get('reference_year')} closest to the line's period (next: {runner.get('reference_year')})",
        "geography specificity": f"{best.get('_step')} geography before {runner.get('_step')}",
        "data quality (DQR)": f"DQR {best.get('dqr')} before {runner.get('dqr')}",
        "factor id": "equal on every criterion; lowest factor id",
    }[why]
    return f"won on {why} ({detail}) against {runner.get('factor_id')} {runner.get('source_id')}; {len(ordered)} candidates"


def explain_lines(settings, line_id: str, product_id: str | None = None, release: str | None = None) -> list[dict]:
    """For every line with this id (an upload's or a reference model's; narrowed by product), the ranked
    candidates against a release's factors, as `pcf explain` prints them. Reads the restricted zone: a
    steward's (or the enterprise's own) view."""
    import polars as pl

    from pipelines.enterprise.inventory import in_scope, line_geography
    from pipelines.matching.lines import FactorIndex, _line_quantity, candidates_for, rank_candidates
    from pipelines.release.publish import read_manifest, read_table

    manifest = read_manifest(settings, release)
    scope = in_scope(settings)
    activities = scope["activity"]
    if activities.is_empty():
        return []
    chosen = activities.filter(pl.col("line_id") == line_id)
    if product_id and "allocation" in scope and scope["allocation"].height:
        keep = scope["allocation"].filter((pl.col("line_id") == line_id) & (pl.col("product_id") == product_id))
        chosen = chosen.join(keep.select("upload_id").unique(), on="upload_id")
    if chosen.is_empty():
        return []
    factors = read_table(settings, manifest["version"], "factor")
    lookups = [*chosen["item"].to_list(), *(chosen["factor_ref"].to_list() if "factor_ref" in chosen.columns else [])]
    fuel = read_table(settings, manifest["version"], "fuel_property") if "fuel_property" in manifest["tables"] else None
    index = FactorIndex(factors, None, lookups, fuel)
    geo = {(r["upload_id"], r["facility_id"]): r["geography_code"] for r in scope["facility"].iter_rows(named=True)}
    years = {r["upload_id"]: r["reporting_year"] for r in scope["enterprise"].iter_rows(named=True)}
    out = []
    for line in chosen.iter_rows(named=True):
        g = line_geography(line, geo.get((line["upload_id"], line["facility_id"])))
        year = years[line["upload_id"]]
        candidates, method, ref = candidates_for(line, index)
        _amount, unit = _line_quantity(line)
        ordered, dim, note = rank_candidates(candidates, unit, g, year, index.fuels) if candidates else ([], "", "")
        out.append(
            {
                "upload_id": line["upload_id"],
                "line_id": line_id,
                "item": line["item"],
                "unit": line["unit"],
                "geography": g,
                "reporting_year": year,
                "method": method,
                "ref": ref,
                "release": manifest["version"],
                "reached": len(candidates),
                "dimension": dim,
                "note": note.lstrip("; "),
                "ranked": ordered,
                "reason": reason(ordered),
            }
        )
    return out

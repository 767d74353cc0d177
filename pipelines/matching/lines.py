"""Factor matching: each foreground line gets the best factor from a release, with the choice, the
geography fallback taken and the representativeness scores recorded.

Order of evidence (most specific first):
  1. supplier-specific: the supplier's own footprint per unit, declared on the line;
  2. another enterprise's product in this warehouse (factor_ref 'product:<credit code>/<product id>'):
     the amount in that product's declared units; its footprint comes from the network solve, so a
     cell's footprint feeds a pack's and a pack's a car's (match_method 'supplier_product');
  3. an explicit factor_id on the line (factor_ref);
  4. an activity key on the line (factor_ref, e.g. electricity.grid_average, fuel.natural_gas);
  5. the item's name equal to a factor's Chinese or English name;
  6. a steward's confirmed mapping of this enterprise's text and unit (pipelines/matching/mappings.py);
  7. the text matcher (pipelines/matching/matcher.py): used when its score reaches PCF_MATCH_THRESHOLD
     (match_method 'text_match', score and reason in the note); below it the line is set aside for a
     steward's mapping (match_method 'unmatched', 'awaiting mapping' and the best candidates in the note, a
     row in the mapping queue), never guessed.
Among the candidates of 3-5 only factors whose unit has the line's dimension qualify (after turning a
transport mass into t·km with the distance); they are ranked by the one precedence of
pipelines/matching/selection.py (purpose, place, steward regional factor, authority, reference year, geography
specificity, DQR, id; docs/factor_selection.md). The line records the chosen factor, the geography step
and why it won (selection_rule); a steward's regional factor is marked (precedence = 'regional_steward').
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pint
import polars as pl

from pipelines.common import geography, units
from pipelines.common.parts import Parts, lazy, whole
from pipelines.matching import selection

GEO_STEP_SCORE = {"requested": 1, "grid_region": 2, "country": 3, "global": 4, "other": 5}


@dataclass(frozen=True)
class Match:
    method: str  # supplier_specific | supplier_product | factor_id | activity_key | name | unmatched
    factor_id: str | None
    factor_name: str | None
    factor_unit: str | None
    factor_co2e_per_unit: float | None  # kgCO2e per factor_unit (GWP set of the release)
    factor_biogenic_per_unit: float | None
    amount_in_factor_unit: float | None  # the line's amount expressed in factor_unit
    geography_requested: str | None
    geography_used: str | None
    geography_step: str | None  # requested | grid_region | country | global | other
    reference_year: int | None
    source_id: str | None
    dq_temporal: int
    dq_geographical: int
    dq_technological: int
    factor_gsd2: float | None
    factor_dqr: float | None
    note: str = ""
    precedence: str | None = None  # 'regional_steward' when a steward's regional factor took precedence
    selection_rule: str = ""  # why this factor: the criterion that beat the runner-up (pipelines/matching/selection.py)


MATCH_COLUMNS = [
    "factor_id",
    "name_zh",
    "name_en",
    "unit",
    "co2e_kg",
    "co2e_biogenic_kg",
    "activity_key",
    "geography_code",
    "reference_year",
    "source_id",
    "dqr",
    "gsd2",
    "steward_status",
    "factor_purpose",
    "authority",
]


class FactorIndex:
    """The release's factors indexed by id, activity key and name (names compared case-insensitively).

    `lookups`: the factor refs and item names the lines will ask for. Given, only factors that one of them
    can reach are indexed (a vectorised filter first): indexing every factor of a release with a
    1,000,000-row literature upload as Python dicts took 8.6 s for a few dozen lines."""

    def __init__(
        self,
        factors: pl.DataFrame | Parts,
        products: pl.DataFrame | None = None,
        lookups: Iterable[str] | None = None,
        fuel_property: pl.DataFrame | None = None,
        mappings: dict | None = None,
    ):
        from pipelines.common.fuels import fuels_from

        self.fuels = fuels_from(fuel_property)  # activity_key -> NCV (and density): fuels in any sensible unit
        self._factors = factors  # in parts (millions of factors): read whole only if the text matcher is needed
        self._whole: pl.DataFrame | None = factors if isinstance(factors, pl.DataFrame) else None
        self._fuel_property = fuel_property
        self._matcher = None
        self.mappings: dict = dict(mappings or {})
        self.pending: dict[tuple, dict] = {}  # mapping queue: (uscc, text, unit) -> the line ids and candidates
        columns = factors.columns
        usable = (
            lazy(factors).filter(~pl.col("steward_status").is_in(["rejected", "deprecated"]))
            if "steward_status" in columns
            else lazy(factors)
        )
        if lookups is not None:
            wanted = {str(x) for x in lookups if x is not None}
            names = sorted({x.strip().lower() for x in wanted})
            reach = [pl.col("factor_id").is_in(sorted(wanted))]
            reach += [pl.col(c).is_in(sorted(wanted)) for c in ("activity_key",) if c in columns]
            reach += [
                pl.col(c).cast(pl.String).str.strip_chars().str.to_lowercase().is_in(names)
                for c in ("name_zh", "name_en")
                if c in columns
            ]
            usable = usable.filter(pl.any_horizontal(reach).fill_null(False))
        self.rows = usable.select([c for c in MATCH_COLUMNS if c in columns]).collect().to_dicts()
        self.by_id = {r["factor_id"]: r for r in self.rows}
        self.ranked: dict[tuple, tuple[list[dict], str, str]] = {}  # match_line's ranking, per build
        self.by_key: dict[str, list[dict]] = {}
        self.by_name: dict[str, list[dict]] = {}
        for r in self.rows:
            if r.get("activity_key"):
                self.by_key.setdefault(r["activity_key"], []).append(r)
            for name in (r.get("name_zh"), r.get("name_en")):
                if name:
                    self.by_name.setdefault(str(name).strip().lower(), []).append(r)
        # Enterprise products in force, by 'product:<credit code>/<product id>': another enterprise's line can
        # draw on them (a cell feeds a pack), and the engine solves the chain (loops included).
        self.products: dict[str, dict] = {}
        if products is not None and products.height:
            for r in products.iter_rows(named=True):
                self.products[f"{PRODUCT_REF_PREFIX}{r['uscc']}/{r['product_id']}"] = r

    @property
    def matcher(self):
        """The text matcher over every factor of the release (built on first need: most lines name a factor)."""
        if self._matcher is None:
            from pipelines.matching.matcher import Matcher

            self._matcher = Matcher(self._all_factors, self._fuel_property)
        return self._matcher

    @property
    def _all_factors(self) -> pl.DataFrame:
        if self._whole is None:
            self._whole = whole(self._factors)
        return self._whole

    def factor_row(self, factor_id: str) -> dict | None:
        if factor_id in self.by_id:
            return self.by_id[factor_id]
        source = self._whole if self._whole is not None else self._factors
        hit = lazy(source).filter(pl.col("factor_id") == factor_id).collect()
        if hit.is_empty():
            return None
        row = hit.select([c for c in MATCH_COLUMNS if c in hit.columns]).row(0, named=True)
        self.by_id[factor_id] = row
        return row


PRODUCT_REF_PREFIX = "product:"
REGIONAL_SOURCE = selection.REGIONAL_SOURCE


def _dimension(unit: str) -> str:
    return units._normalise_dimension(units.unit_info(unit).dimension)


def _line_quantity(line: dict) -> tuple[float, str]:
    """Amount and unit to match on; transport given as a mass becomes t·km with the distance."""
    if line["kind"] == "transport" and _dimension(line["unit"]) == "[mass]":
        return units.convert(line["amount"], line["unit"], "t") * line["distance_km"], "t*km"
    return line["amount"], line["unit"]


def _temporal(reporting_year: int, reference_year: int | None) -> int:
    if reference_year is None:
        return 5
    age = abs(reporting_year - reference_year)
    return 1 if age < 3 else 2 if age < 6 else 3 if age < 10 else 4 if age < 15 else 5


def match_line(line: dict, index: FactorIndex, geography_code: str | None, reporting_year: int) -> Match:
    amount, unit = _line_quantity(line)
    if line.get("supplier_pcf_kgco2e") is not None:
        return Match(
            "supplier_specific",
            None,
            line.get("supplier"),
            line["unit"],
            line["supplier_pcf_kgco2e"],
            None,
            line["amount"],
            geography_code,
            geography_code,
            "requested",
            reporting_year,
            "supplier",
            1,
            1,
            1,
            None,
            None,
            "supplier's own footprint per unit, as declared",
        )
    ref = line.get("factor_ref")
    if ref and ref.startswith(PRODUCT_REF_PREFIX):
        return _match_product(line, ref, index, geography_code, reporting_year)
    candidates, method, ref = candidates_for(line, index)
    text_note = ""
    if not candidates and method == "name" and not ref:
        candidates, method, text_note = _by_mapping_or_text(line, index, unit, geography_code, reporting_year)
        if not candidates:
            return _unmatched(geography_code, text_note)
    # the ranking depends only on the candidates, the unit, the place and the year: the same for a line
    # every enterprise writes alike (kept per index, i.e. per build; 40 % of matching time at scale, issue 20)
    rank_key = (tuple(c["factor_id"] for c in candidates), unit, geography_code, reporting_year)
    ranked = index.ranked.get(rank_key)
    if ranked is None:
        ranked = index.ranked[rank_key] = rank_candidates(candidates, unit, geography_code, reporting_year, index.fuels)
    ordered, dim, boundary_note = ranked
    boundary_note = text_note + boundary_note
    if not ordered:
        why = (
            f"no factor for {method} '{ref or line['item']}'"
            if not candidates
            else f"{len(candidates)} candidate(s) for '{ref or line['item']}' but none in a unit of dimension {dim}"
        )
        return _unmatched(geography_code, why)
    best = ordered[0]
    step = best["_step"]
    if best.get("factor_purpose") in selection.CO2_ONLY_PURPOSES:
        boundary_note += (
            "; CO2-only factor: upstream and non-CO2 gases are not included (no life-cycle factor for "
            "this activity in reach)"
        )
    if best.get("_fuel_path"):  # a fuel in another dimension: through its NCV (and density)
        fuel = index.fuels[best["activity_key"]]
        gj, how = fuel.to_gj(amount, unit)
        converted = fuel.from_gj(gj, best["unit"])
        boundary_note += f"; unit path {amount:g} {unit} -> {converted:.6g} {best['unit']} via {how or 'energy units'}"
    else:
        converted = units.convert(amount, unit, best["unit"])
    tech = 2 if method in ("factor_id", "activity_key", "steward_mapping") else 3
    return Match(
        method,
        best["factor_id"],
        best.get("name_zh") or best.get("name_en"),
        best["unit"],
        best["co2e_kg"],
        best.get("co2e_biogenic_kg"),
        converted,
        geography_code,
        best["geography_code"],
        step,
        best["reference_year"],
        best["source_id"],
        _temporal(reporting_year, best["reference_year"]),
        GEO_STEP_SCORE[step],
        tech,
        best.get("gsd2"),
        best.get("dqr"),
        f"{len(ordered)} candidate(s); chosen at {best['geography_code']}{boundary_note}",
        "regional_steward" if best.get("source_id") == REGIONAL_SOURCE else None,
        selection.reason(ordered),
    )


def rank_candidates(
    candidates: list[dict], unit: str, geography_code: str | None, reporting_year: int, fuels: dict | None = None
) -> tuple[list[dict], str, str]:
    """-> (the candidates whose unit fits, ranked by pipelines/matching/selection.py, each a copy with its geography
    step; the line's dimension; a note on factors set aside for their purpose). A fuel factor in another
    dimension (per GJ for a line in t, per t for a line in litres) fits through the fuel's NCV and density
    when no factor of the line's own dimension exists (pipelines/common/fuels.py)."""
    dim = _dimension(unit)
    steps = geography_steps(geography_code)
    fitting, via_fuel = [], []
    for c in candidates:
        try:
            if c.get("co2e_kg") is None:
                continue
            if _dimension(c["unit"]) == dim:
                fitting.append({**c, "_step": steps.get(c["geography_code"], "other")})
            elif fuels and c.get("activity_key") in fuels and _fuel_converts(fuels[c["activity_key"]], unit, c["unit"]):
                via_fuel.append({**c, "_step": steps.get(c["geography_code"], "other"), "_fuel_path": True})
        except units.UnitError:
            continue
    fitting = fitting or via_fuel
    ordered = selection.rank(fitting, reporting_year)
    set_aside = sum(1 for c in ordered if c["_key"][0] == 1)
    note = (
        (
            f"; {set_aside} scope2_location (CO2-only) factor(s) set aside for the life_cycle factor a product "
            f"footprint needs"
        )
        if set_aside
        else ""
    )
    return ordered, dim, note


def geography_steps(geography_code: str | None) -> dict[str, str]:
    """Geography code -> its step in the line's fallback chain: requested, grid_region, country, global (any
    other place is 'other'). Accepts 'CN-CQ', '重庆' and '500000' alike; an unknown place has no chain."""
    steps: dict[str, str] = {}
    if not geography_code:
        return steps
    try:
        chain = geography.fallback_chain(geography.normalise(geography_code).code)
    except (KeyError, ValueError):
        return steps
    for geo, basis in chain:
        steps.setdefault(
            geo.code,
            "requested"
            if basis == "requested"
            else "grid_region"
            if geo.level == "grid_region"
            else "country"
            if geo.level == "country"
            else "global"
            if geo.code == "GLO"
            else "other",
        )
    return steps


def _fuel_converts(fuel, unit: str, target: str) -> bool:
    from pipelines.common.fuels import FuelConversionError

    try:
        fuel.from_gj(fuel.to_gj(1.0, unit)[0], target)
        return True
    except (FuelConversionError, units.UnitError, ValueError):
        return False


def _by_mapping_or_text(
    line: dict, index: FactorIndex, unit: str, geography_code: str | None, year: int
) -> tuple[list[dict], str, str]:
    """No factor by reference or exact name: a steward's confirmed mapping, else the text matcher when it is
    confident, else the line waits in the mapping queue (-> no candidates and why)."""
    from pipelines.matching.mappings import mapping_key
    from pipelines.matching.matcher import MatchUnitError

    key = mapping_key(line.get("uscc") or "", line["item"], line["unit"])
    confirmed = index.mappings.get(key)
    if confirmed is not None:
        row = index.factor_row(confirmed.factor_id)
        if row is not None:
            return (
                [row],
                "steward_mapping",
                (f"steward mapping by {confirmed.steward} at {confirmed.at}: {confirmed.reason}; "),
            )
        why = f"steward mapping to {confirmed.factor_id}, which is not in this release"
    else:
        why = ""
    try:
        result = index.matcher.match(line["item"], unit, geography_code, year, top=3)
    except MatchUnitError as exc:
        return [], "unmatched", f"no factor for '{line['item']}': {exc}"
    if result.confident and not why:
        best = result.best
        return [best.row], "text_match", f"text match score {best.score:.2f} ({best.reason}); "
    shown = "; ".join(f"{c.factor_id} {c.name_zh or c.name_en} [{c.unit}] {c.score:.2f}" for c in result.candidates)
    entry = index.pending.setdefault(
        key,
        {
            "uscc": key[0],
            "text": line["item"],
            "unit": line["unit"],
            "geography": geography_code,
            "year": year,
            "line_ids": [],
            "best_score": result.best.score if result.best else None,
            "candidates": json.dumps(
                [
                    {
                        "factor_id": c.factor_id,
                        "name": c.name_zh or c.name_en,
                        "unit": c.unit,
                        "score": c.score,
                        "reason": c.reason,
                    }
                    for c in result.candidates
                ],
                ensure_ascii=False,
            ),
            "note": why or result.note,
        },
    )
    line_id = str(line.get("line_id") or "")
    if line_id and line_id not in entry["line_ids"]:
        entry["line_ids"].append(line_id)
    return (
        [],
        "unmatched",
        (f"awaiting a steward's mapping ({why or 'no confident match'}; best: {shown or result.note})"),
    )


def candidates_for(line: dict, index: FactorIndex) -> tuple[list[dict], str, str | None]:
    """The factors a line reaches: by factor id, activity key or name -> (candidates, method, ref)."""
    ref = line.get("factor_ref")
    if ref and ref in index.by_id:
        return [index.by_id[ref]], "factor_id", ref
    if ref and ref in index.by_key:
        return index.by_key[ref], "activity_key", ref
    return index.by_name.get(str(line["item"]).strip().lower(), []), "name", ref


def _unmatched(geography_code: str | None, why: str) -> Match:
    return Match(
        "unmatched",
        None,
        None,
        None,
        None,
        None,
        None,
        geography_code,
        None,
        None,
        None,
        None,
        5,
        5,
        5,
        None,
        None,
        why,
    )


def _match_product(line: dict, ref: str, index: FactorIndex, geography_code: str | None, reporting_year: int) -> Match:
    """A line drawing on another enterprise product in force: amount in that product's declared units; its
    footprint per declared unit is not known here but from the network solve (factor_co2e_per_unit None)."""
    product = index.products.get(ref)
    if product is None:
        return _unmatched(
            geography_code,
            f"'{ref}' is not a product in force (check the credit code and product id, "
            f"and that the supplier's upload was accepted)",
        )
    label, per = product["declared_unit_label"], product["declared_unit_amount"]
    try:
        converted = units.convert(line["amount"], line["unit"], label) / per
    except (units.UnitError, pint.DimensionalityError):
        return _unmatched(
            geography_code,
            f"'{ref}' is declared per {per:g} {label}; the line's unit '{line['unit']}' does not convert to it",
        )
    return Match(
        "supplier_product",
        ref,
        product.get("product_name"),
        f"{per:g} {label}",
        None,
        None,
        converted,
        geography_code,
        product.get("geography_code") or geography_code,
        "requested",
        product.get("reporting_year"),
        "enterprise product",
        1 if product.get("reporting_year") in (None, reporting_year) else 2,
        1,
        1,
        None,
        None,
        "the supplier's product in this warehouse; footprint from the network solve",
    )

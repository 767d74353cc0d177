"""An ILCD archive -> candidate factors, with every data set and exchange either imported or quarantined
under a rule (docs/ilcd.md). Rules:

data set  ilcd.dataset.unreadable    the XML does not parse
          ilcd.reference.missing     no reference flow, or it names no exchange
          ilcd.reference.multiple    two or more reference flows and no allocation: not split by guessing
          ilcd.reference.dangling    the reference exchange's flow is not in the archive (or not a UUID)
          ilcd.reference.zero        the reference amount is missing or zero
          ilcd.location.unknown      the location maps to no warehouse geography (reference/ilcd_locations.csv)
          ilcd.magnitude.implausible emissions per reference unit beyond what one unit can cause (sector totals)
          ilcd.ghg.none              no greenhouse gas in the data set or its inputs within the archive
exchange  ilcd.dataset.quarantined   its data set is quarantined
          ilcd.flow.not_uuid         the flow reference is not a UUID ('Cement', '')
          ilcd.flow.dangling         the flow is not in the archive
          ilcd.amount.missing        no meanAmount / resultingAmount
          ilcd.unit.no_path          the flow's property or unit group is missing: no reference unit
          ilcd.description.mismatch  the exchange's description contradicts the flow it names (reported, not guessed)
          ilcd.pollutant.duplicate   the same elementary flow listed again (before/after end-of-pipe treatment):
                                     the smallest amount is the one emitted (after treatment), the others go here
          ilcd.gas.unmapped          a greenhouse gas (a flow with a climate-change factor) the warehouse cannot name

Conservation: data sets in = imported + quarantined; exchanges in = imported + quarantined.

Factors: each imported process becomes one candidate factor per unit of its reference flow. Elementary flows
are mapped to the warehouse's gases through the archive's EF 3.1 climate-change method (which flows are
greenhouse gases) and reference/ilcd_gas_map.csv (which gas each is); the processes form one product
network (pipelines/engine) so a process's inputs made by other processes of the archive bring their own
gases (cradle to gate within the archive). Completeness is flagged, never assumed: `ilcd.direct_only`
(no input linked: the pollution-census coefficients), `ilcd.inputs_cut_off:N`, `ilcd.waste_untreated:N`,
`ilcd.co_products_unallocated`, `ilcd.no_energy_input`. The warehouse's GWP100 CO2e of each process's own
emissions is compared with the archive's EF 3.1 characterisation (`ef_check`).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl
from rapidfuzz import fuzz

from pipelines.ilcd.archive import UUID, Archive

REF = Path(__file__).parent.parent / "reference"
# emissions per reference unit no single unit can cause (kg CO2e): the basis is the largest published cradle-
# to-gate footprints per unit (primary aluminium ~20 kg/kg, SF6 production ~ 1e3 kg/kg; EEIO sectors < 10
# kg/EUR): ten to a hundred times above them means the data set carries a sector's total, not a unit's.
IMPLAUSIBLE_PER_UNIT = {"kg": 1e4, "EUR": 1e3, "MJ": 1e2, "m3": 1e4, "piece": 1e6, "m2": 1e4, "t*km": 10.0}
ENERGY_WORDS = (
    "electric",
    "电",
    "heat",
    "热",
    "steam",
    "蒸汽",
    "coal",
    "煤",
    "natural gas",
    "天然气",
    "diesel",
    "柴油",
    "fuel",
    "油",
    "gas",
    "气",
)
UNIT_NAMES = {
    "Item(s)": "piece",
    "kg": "kg",
    "m3": "m**3",
    "MJ": "MJ",
    "m2": "m**2",
    "t*km": "t*km",
    "EUR": "EUR",
    "kBq": "kBq",
    "m": "m",
    "a": "a",
    "m2*a": "m**2*a",
}


@lru_cache(maxsize=1)
def locations() -> dict[str, dict]:
    with (REF / "ilcd_locations.csv").open(encoding="utf-8", newline="") as fh:
        return {r["code"]: r for r in csv.DictReader(fh)}


@lru_cache(maxsize=1)
def gas_map() -> dict[str, str]:
    with (REF / "ilcd_gas_map.csv").open(encoding="utf-8", newline="") as fh:
        return {r["flow_name"].strip().lower(): r["gas"] for r in csv.DictReader(fh)}


def geography_of(code: str | None) -> tuple[str | None, str]:
    """Archive location -> warehouse geography code (GB/T 2260 for provinces) and how it was found."""
    if not code:
        return None, "no location"
    table = locations()
    if code in table:
        return table[code]["geography"], "table"
    parts = code.split("-")
    if len(parts) == 3 and parts[2] == "CN" and f"{parts[1]}-CN" in table:  # a city: its province
        return table[f"{parts[1]}-CN"]["geography"], f"city {parts[0]} -> its province"
    return None, "unknown"


@dataclass
class ImportResult:
    staged: list[dict] = field(default_factory=list)  # one per imported process
    quarantined: list[dict] = field(default_factory=list)  # one per quarantined data set
    issues: list[dict] = field(default_factory=list)  # exchange-level quarantine
    counts: dict = field(default_factory=dict)
    ef_check: dict = field(default_factory=dict)


def _issue(out: list, p: dict, ex: dict | None, rule: str, message: str) -> None:
    out.append(
        {
            "dataset_uuid": p.get("uuid"),
            "file": p.get("file"),
            "exchange": ex.get("internal_id") if ex else None,
            "flow": ex.get("flow") if ex else None,
            "rule": rule,
            "message": message,
        }
    )


def flow_unit(arc: Archive, flow: dict) -> str | None:
    prop = flow.get("property")
    fp = arc.flow_properties.get(prop[0]) if prop else None
    ug = arc.unit_groups.get(fp["unit_group"]) if fp else None
    return ug.get("reference_unit") if ug else None


def import_archive(arc: Archive, gwp: dict[str, float]) -> ImportResult:
    res = ImportResult()
    cc: dict[str, float] = next(
        (m["factors"] for m in arc.lcia if (m.get("name") or "").strip() == "Climate change"), {}
    )
    gases = gas_map()
    kept: list[dict] = []
    for p in arc.processes:
        exchanges = p.get("exchanges", [])
        if "error" in p:
            res.quarantined.append({"process": p, "rule": "ilcd.dataset.unreadable", "message": p["error"]})
            continue
        reasons = _dataset_problems(arc, p)
        if reasons:
            rule, message = reasons
            res.quarantined.append({"process": p, "rule": rule, "message": message})
            for ex in exchanges:
                _issue(res.issues, p, ex, "ilcd.dataset.quarantined", f"data set quarantined: {rule}")
            continue
        kept.append(p)
    # exchange checks, then the network over the processes that remain
    per_process: dict[str, dict] = {}
    for p in kept:
        ref_ex = next(e for e in p["exchanges"] if e["internal_id"] == p["reference_ids"][0])
        ref_amount = ref_ex["amount"]
        good: list[tuple] = []
        seen_elem: dict[str, list[dict]] = {}
        for ex in p["exchanges"]:
            if ex is ref_ex:
                continue
            fid = ex["flow"]
            if not UUID.match(fid or ""):
                _issue(res.issues, p, ex, "ilcd.flow.not_uuid", f"flow reference {fid!r} is not a UUID")
                continue
            flow = arc.flows.get(fid)
            if flow is None:
                _issue(
                    res.issues, p, ex, "ilcd.flow.dangling", f"flow {fid} ({ex['description']}) is not in the archive"
                )
                continue
            if ex["amount"] is None:
                _issue(res.issues, p, ex, "ilcd.amount.missing", "the exchange has no meanAmount")
                continue
            unit = flow_unit(arc, flow)
            if unit is None:
                _issue(
                    res.issues,
                    p,
                    ex,
                    "ilcd.unit.no_path",
                    f"flow {fid}: its flow property or unit group is not in the archive",
                )
                continue
            if ex["description"] and _contradicts(ex["description"], flow["name"]):
                _issue(
                    res.issues,
                    p,
                    ex,
                    "ilcd.description.mismatch",
                    f"the exchange says {ex['description']!r} but names flow {flow['name'].get('en') or fid!r}",
                )
                continue
            if flow["type"] == "Elementary flow" and ex["direction"] == "Output":
                if fid in seen_elem:
                    seen_elem[fid].append(ex)
                    continue
                seen_elem[fid] = [ex]
                continue
            good.append((ex, flow, unit))
        for fid, exs in seen_elem.items():
            keep = min(exs, key=lambda e: (abs(e["amount"]), e["internal_id"]))
            for other in exs:
                if other is not keep:
                    _issue(
                        res.issues,
                        p,
                        other,
                        "ilcd.pollutant.duplicate",
                        f"flow {arc.flows[fid]['name'].get('en')} listed again ({other['amount']:g} against "
                        f"{keep['amount']:g}): the smaller, after end-of-pipe treatment, is the one emitted",
                    )
            good.append((keep, arc.flows[fid], flow_unit(arc, arc.flows[fid])))
        per_process[p["uuid"]] = {"process": p, "ref": ref_ex, "ref_amount": ref_amount, "exchanges": good}
    _factors(arc, per_process, cc, gases, gwp, res)
    res.counts = {"datasets_in": len(arc.processes), "datasets_quarantined": len(res.quarantined)}
    n_ex = sum(len(p.get("exchanges", [])) for p in arc.processes)
    res.counts.update(
        {
            "datasets_imported": len(res.staged),
            "exchanges_in": n_ex,
            "exchanges_quarantined": len(res.issues),
            "exchanges_imported": sum(len(v["exchanges"]) + 1 - v.get("unmapped", 0) for v in per_process.values()),
        }
    )
    return res


def _dataset_problems(arc: Archive, p: dict) -> tuple[str, str] | None:
    refs = p["reference_ids"]
    if not refs:
        return "ilcd.reference.missing", "no reference flow (quantitativeReference)"
    if len(refs) > 1:
        return (
            "ilcd.reference.multiple",
            f"{len(refs)} reference flows and no allocation factors: a footprint per reference flow would be a guess",
        )
    ref = next((e for e in p["exchanges"] if e["internal_id"] == refs[0]), None)
    if ref is None:
        return "ilcd.reference.missing", f"the reference flow names exchange {refs[0]}, which does not exist"
    if not UUID.match(ref["flow"] or "") or ref["flow"] not in arc.flows:
        return (
            "ilcd.reference.dangling",
            f"the reference flow {ref['flow']!r} ({ref['description']}) is not in the archive",
        )
    if not ref["amount"]:
        return "ilcd.reference.zero", "the reference amount is missing or zero"
    geo, how = geography_of(p["location"])
    if geo is None:
        return "ilcd.location.unknown", f"location {p['location']!r} is not in reference/ilcd_locations.csv"
    return None


def _contradicts(description: str, names: dict[str, str]) -> bool:
    """A description contradicts its flow when it shares almost nothing with any of the flow's names and does
    not name the same gas (a naming variant such as 'Nitrogen oxides' for 'nitrogen oxides (NOx)', or 'CO2' for
    'carbon dioxide (fossil)', does not)."""
    from pipelines.common.gwp import resolve_gas

    d = description.lower().strip()
    if max((fuzz.token_set_ratio(d, n.lower()) for n in names.values() if n), default=100) >= 50:
        return False
    species = resolve_gas(description)
    base = {resolve_gas(re.sub(r"\s*\(.*\)$", "", n)) for n in names.values() if n}
    return not (species is not None and (species in base or species[:3] in {b[:3] for b in base if b}))


def _factors(arc: Archive, per_process: dict, cc: dict, gases: dict, gwp: dict, res: ImportResult) -> None:
    from pipelines.common.gwp import resolve_gas
    from pipelines.engine.network import NetworkError, Solver, build, solve_footprints

    # which imported process provides each product flow: same location first, then CN, then by UUID
    providers: dict[str, list[dict]] = {}
    for v in per_process.values():
        providers.setdefault(v["ref"]["flow"], []).append(v["process"])
    tech, bio, flags, direct_ef, direct_ours = [], [], {}, {}, {}
    for pid, v in per_process.items():
        p, ra = v["process"], v["ref_amount"]
        f = {"cut_off": 0, "waste": 0, "linked": 0, "co_products": 0, "energy": False}
        ef, ours = 0.0, 0.0
        for ex, flow, unit in v["exchanges"]:
            amount = ex["amount"] / ra
            kind = flow["type"]
            name = (flow["name"].get("en") or "").lower()
            if kind == "Elementary flow":
                if ex["direction"] != "Output" or "Emissions to air" not in flow.get("categories", []):
                    continue  # resources (CO2 from air included) and emissions to water or soil are not GHG to air
                ef += cc.get(ex["flow"], 0.0) * amount
                gas = gases.get(name) or resolve_gas(flow["name"].get("en"))
                if gas is None:
                    if cc.get(ex["flow"]):
                        v["unmapped"] = v.get("unmapped", 0) + 1
                        _issue(
                            res.issues,
                            p,
                            ex,
                            "ilcd.gas.unmapped",
                            f"{flow['name'].get('en')} has a climate-change factor but no warehouse gas "
                            f"(reference/ilcd_gas_map.csv)",
                        )
                    continue
                bio.append({"process_id": pid, "gas": gas, "amount_kg": amount})
                # the check follows EF 3.1's convention: biogenic CO2 characterised 0 (the warehouse keeps it apart)
                ours += 0.0 if gas == "CO2_biogenic" else gwp.get(gas, 0.0) * amount
            elif ex["direction"] == "Input" and kind == "Product flow":
                if any(w in name or w in (flow["name"].get("zh") or "") for w in ENERGY_WORDS) or unit == "MJ":
                    f["energy"] = True
                cands = providers.get(ex["flow"], [])
                if not cands:
                    f["cut_off"] += 1
                    continue
                same = [c for c in cands if c["location"] == p["location"]] or [
                    c for c in cands if c["location"] == "CN"
                ]
                chosen = sorted(same or cands, key=lambda c: c["uuid"])[0]
                if chosen["uuid"] != pid:
                    tech.append({"consumer": pid, "provider": chosen["uuid"], "amount": amount})
                    f["linked"] += 1
            elif kind == "Waste flow" and ex["direction"] == "Output":
                f["waste"] += 1
            elif kind == "Product flow" and ex["direction"] == "Output":
                f["co_products"] += 1
        flags[pid], direct_ef[pid], direct_ours[pid] = f, ef, ours
    # sector totals: an implausible direct CO2e per reference unit quarantines the data set
    unit_of = {
        pid: UNIT_NAMES.get(flow_unit(arc, arc.flows[v["ref"]["flow"]]) or "", None) for pid, v in per_process.items()
    }
    raw_unit = {pid: flow_unit(arc, arc.flows[v["ref"]["flow"]]) for pid, v in per_process.items()}
    bad = {
        pid
        for pid in per_process
        if max(direct_ef[pid], direct_ours[pid]) > IMPLAUSIBLE_PER_UNIT.get(raw_unit[pid] or "", 1e6)
    }
    for pid in sorted(bad):
        v = per_process.pop(pid)
        res.quarantined.append(
            {
                "process": v["process"],
                "rule": "ilcd.magnitude.implausible",
                "message": (
                    f"{max(direct_ef[pid], direct_ours[pid]):.3g} kg CO2e per {raw_unit[pid]} of reference flow: beyond what "
                    f"one unit can cause (more than {IMPLAUSIBLE_PER_UNIT.get(raw_unit[pid] or '', 1e6):g}); the data set "
                    f"looks like a sector total"
                ),
            }
        )
        for ex in v["process"]["exchanges"]:
            _issue(
                res.issues,
                v["process"],
                ex,
                "ilcd.dataset.quarantined",
                "data set quarantined: ilcd.magnitude.implausible",
            )
    tech = [t for t in tech if t["consumer"] in per_process and t["provider"] in per_process]
    bio = [b for b in bio if b["process_id"] in per_process]
    ids = sorted(per_process)
    processes = pl.DataFrame(
        {
            "process_id": ids,
            "name": [per_process[i]["process"]["name"].get("en") or i for i in ids],
            "reference_amount": [1.0] * len(ids),
        }
    )
    tech_df = pl.DataFrame(tech, schema={"consumer": pl.String, "provider": pl.String, "amount": pl.Float64})
    bio_df = pl.DataFrame(bio, schema={"process_id": pl.String, "gas": pl.String, "amount_kg": pl.Float64})
    refused = ""
    per_gas_rows: dict[str, dict[str, float]] = {i: {} for i in ids}
    try:
        net = build(processes, tech_df, bio_df)
        fps = solve_footprints(net, "AR6", Solver(net))
        for g, gas in enumerate(fps.gases):
            for i, pid in enumerate(net.process_ids):
                if fps.per_gas[g, i]:
                    per_gas_rows[pid][gas] = float(fps.per_gas[g, i])
    except NetworkError as exc:  # the archive's network cannot be vouched for: each process's own emissions
        refused = str(exc)[:200]
        for b in bio:
            per_gas_rows[b["process_id"]][b["gas"]] = per_gas_rows[b["process_id"]].get(b["gas"], 0.0) + b["amount_kg"]
    compared = [(direct_ours[i], direct_ef[i]) for i in ids if direct_ef[i] or direct_ours[i]]
    worst = max((abs(a - b) / max(abs(b), 1e-12) for a, b in compared), default=0.0)
    res.ef_check = {
        "processes_compared": len(compared),
        "max_relative_difference": worst,
        "differ_over_1pct": sum(1 for a, b in compared if abs(a - b) > 0.01 * max(abs(b), 1e-12)),
    }
    no_ghg: list[str] = []
    for pid in ids:
        v, f = per_process[pid], flags[pid]
        if not per_gas_rows[pid]:  # only other pollutants (particulates, NOx ...) in reach: not a carbon factor
            res.quarantined.append(
                {
                    "process": v["process"],
                    "rule": "ilcd.ghg.none",
                    "message": (
                        "no greenhouse gas in the data set or in the inputs it draws from the archive (only other "
                        "pollutants): not a carbon footprint factor"
                    ),
                }
            )
            no_ghg.append(pid)
            continue
        qa = []
        if f["linked"] == 0:
            qa.append("ilcd.direct_only")
        if f["cut_off"]:
            qa.append(f"ilcd.inputs_cut_off:{f['cut_off']}")
        if f["waste"]:
            qa.append(f"ilcd.waste_untreated:{f['waste']}")
        if f["co_products"]:
            qa.append("ilcd.co_products_unallocated")
        if not f["energy"]:
            qa.append("ilcd.no_energy_input")
        if refused:
            qa.append("ilcd.network_refused")
        if abs(direct_ours[pid] - direct_ef[pid]) > 0.01 * max(abs(direct_ef[pid]), 1e-12):
            qa.append("ilcd.ef31_check.differs")
        res.staged.append(
            {
                "process": v["process"],
                "unit": unit_of[pid] or raw_unit[pid],
                "unit_raw": raw_unit[pid],
                "gases": per_gas_rows[pid],
                "qa": qa,
                "linked": f["linked"],
                "ef31_direct_co2e": direct_ef[pid],
            }
        )
    res.ef_check["network_refused"] = refused
    already = {(i["dataset_uuid"], i["exchange"]) for i in res.issues}
    for pid in no_ghg:
        v = per_process.pop(pid)
        for ex in v["process"]["exchanges"]:
            if (pid, ex["internal_id"]) not in already:
                _issue(res.issues, v["process"], ex, "ilcd.dataset.quarantined", "data set quarantined: ilcd.ghg.none")


def amount_ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)

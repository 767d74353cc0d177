"""openLCA JSON-LD (zip) -> network tables (processes, technosphere, biosphere).

- Amounts are converted to the reference unit of each flow (unit-group conversion factors and the
  flow's own flow-property factors), per reference output of the process.
- Product inputs are linked to the process that outputs the same product flow (no defaultProvider in
  USLCI); several producers: the one in the consumer's location, else the first by process id. Inputs
  with no producer are cut off and listed. Avoided products are negative inputs.
- Multi-output processes with allocation factors are split into one column per product (PHYSICAL or
  ECONOMIC factors per product, CAUSAL per exchange and product, as the process's default method says);
  without factors all burdens go to the quantitative reference and the other outputs are recorded.
- Elementary flows map to gases through the reviewed table data/raw/embedded/uslci_ghg_flow_map.csv
  (name + direction); unmapped GHG-like flows are listed.
- Uncertainty: lognormal exchanges keep GSD^2 (olca's geomSd squared).
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.config import resource_dir

GHG_MAP = resource_dir("data/raw") / "embedded" / "uslci_ghg_flow_map.csv"


def ghg_map() -> dict[tuple[str, str], tuple[str | None, float, str]]:
    with open(GHG_MAP, encoding="utf-8") as fh:
        return {
            (r["flow_name"], r["direction"]): (r["gas"] or None, float(r["sign"]), r["note"])
            for r in csv.DictReader(fh)
        }


@dataclass
class OlcaTables:
    processes: pl.DataFrame
    technosphere: pl.DataFrame
    biosphere: pl.DataFrame
    cut_off: pl.DataFrame
    unmapped_elementary: pl.DataFrame
    notes: list[str] = field(default_factory=list)


def _load(zf: zipfile.ZipFile, folder: str) -> dict[str, dict]:
    out = {}
    for name in zf.namelist():
        if name.startswith(folder + "/") and name.endswith(".json"):
            doc = json.loads(zf.read(name))
            out[doc["@id"]] = doc
    return out


def load_olca_zip(path: Path) -> OlcaTables:
    with zipfile.ZipFile(path) as zf:
        processes = _load(zf, "processes")
        flows = _load(zf, "flows")
        unit_groups = _load(zf, "unit_groups")
    unit_factor = {u["@id"]: u.get("conversionFactor", 1.0) for g in unit_groups.values() for u in g.get("units", [])}
    flow_prop_factor = {
        (f["@id"], fp["flowProperty"]["@id"]): fp.get("conversionFactor", 1.0)
        for f in flows.values()
        for fp in f.get("flowProperties", [])
    }
    mapping = ghg_map()

    def normalised(e: dict) -> float:
        amount = float(e.get("amount", 0.0))
        uf = unit_factor.get(e.get("unit", {}).get("@id"), 1.0)
        fpf = flow_prop_factor.get((e["flow"]["@id"], e.get("flowProperty", {}).get("@id")), 1.0)
        return amount * uf / fpf

    def gsd2(e: dict) -> float | None:
        u = e.get("uncertainty")
        if u and u.get("distributionType") == "LOG_NORMAL_DISTRIBUTION" and u.get("geomSd"):
            return float(u["geomSd"]) ** 2
        return None

    def flow_type(e: dict) -> str:
        return flows.get(e["flow"]["@id"], {}).get("flowType") or e["flow"].get("flowType", "")

    # Columns: one per (process, product) for allocated multi-output processes, else one per process.
    columns = []  # (column_id, process, product exchange, allocation {exchange_id or None: factor})
    producers: dict[str, list[str]] = {}
    notes = []
    for pid in sorted(processes):
        p = processes[pid]
        exchanges = p.get("exchanges", [])
        ref = next((e for e in exchanges if e.get("quantitativeReference")), None)
        if ref is None:
            notes.append(f"{p['name']}: no quantitative reference; skipped")
            continue
        outputs = [
            e
            for e in exchanges
            if flow_type(e) == "PRODUCT_FLOW" and not e.get("input") and not e.get("avoidedProduct")
        ]
        factors = p.get("allocationFactors", [])
        present = {f.get("allocationType") for f in factors}
        method = p.get("defaultAllocationMethod")
        if method not in present:  # no default declared: physical first, as ISO 14044 4.3.4.2 prefers
            method = next(
                (m for m in ("PHYSICAL_ALLOCATION", "CAUSAL_ALLOCATION", "ECONOMIC_ALLOCATION") if m in present), None
            )
        if len(outputs) > 1 and factors and method is not None:
            kind = method.replace("_ALLOCATION", "")
            for out in outputs:
                pf = {}
                for f in factors:
                    if f.get("product", {}).get("@id") != out["flow"]["@id"]:
                        continue
                    if f.get("allocationType") == method:
                        key = f.get("exchange", {}).get("@id") if kind == "CAUSAL" else None
                        pf[key] = float(f.get("value", 0.0))
                if not pf:
                    continue
                cid = f"{pid}::{out['flow']['@id']}"
                columns.append((cid, p, out, pf))
                producers.setdefault(out["flow"]["@id"], []).append(cid)
        else:
            if len(outputs) > 1:
                notes.append(
                    f"{p['name']}: {len(outputs)} product outputs without usable allocation factors; "
                    "all burdens to the reference product"
                )
            columns.append((pid, p, ref, {None: 1.0}))
            key = ref["flow"]["@id"]
            producers.setdefault(key, []).append(pid)

    process_rows: list[dict] = []
    tech_rows: list[dict] = []
    bio_rows: list[dict] = []
    cut_rows: list[dict] = []
    unmapped: dict[tuple[str, str], int] = {}
    location = {cid: (p.get("location") or {}).get("name") for cid, p, _, _ in columns}
    for cid, p, ref, alloc in columns:
        ref_amount = normalised(ref)
        if ref.get("input"):  # a waste-treatment process: its reference is a waste input
            ref_amount = abs(ref_amount)
        process_rows.append(
            {
                "process_id": cid,
                "name": p["name"] + ("" if "::" not in cid else f" [{ref['flow']['name']}]"),
                "kind": "olca",
                "unit": ref.get("unit", {}).get("name"),
                "reference_amount": ref_amount,
                "category": (p.get("category") or {}).get("name"),
                "location": location[cid],
            }
        )
        for e in p.get("exchanges", []):
            if e is ref or e.get("@id") == ref.get("@id"):
                continue
            share = alloc.get(e.get("@id"), alloc.get(None)) if len(alloc) > 1 or None not in alloc else alloc[None]
            if share is None:
                share = 1.0 if None not in alloc else alloc[None]
            ftype = flow_type(e)
            amount = normalised(e) * share
            if ftype in ("PRODUCT_FLOW", "WASTE_FLOW"):
                is_input = bool(e.get("input"))
                if ftype == "PRODUCT_FLOW" and not is_input and not e.get("avoidedProduct"):
                    continue  # a co-product (allocated above, or carried by the reference)
                signed = amount if (is_input or ftype == "WASTE_FLOW") else -amount  # avoided product: negative input
                if ftype == "WASTE_FLOW" and is_input:
                    signed = -amount  # waste taken in from elsewhere: a co-service, negative demand
                flow_id = e["flow"]["@id"]
                candidates = producers.get(flow_id, [])
                if not candidates:
                    cut_rows.append({"consumer": cid, "flow": e["flow"].get("name"), "amount": signed})
                    continue
                same = [c for c in candidates if location.get(c) == location[cid]]
                provider = (same or candidates)[0]
                tech_rows.append(
                    {
                        "consumer": cid,
                        "provider": provider,
                        "amount": signed,
                        "gsd2": gsd2(e),
                        "stage": None,
                        "line_id": None,
                    }
                )
            elif ftype == "ELEMENTARY_FLOW":
                name = flows.get(e["flow"]["@id"], {}).get("name", e["flow"].get("name", "")).strip()
                direction = "resource" if e.get("input") else "emission"
                hit = mapping.get((name, direction))
                if hit is None:
                    if any(
                        k in name.lower()
                        for k in (
                            "carbon dioxide",
                            "methane",
                            "nitrous",
                            "dinitrogen",
                            "fluoro",
                            "hexafluoride",
                            "trifluoride",
                        )
                    ):
                        unmapped[(name, direction)] = unmapped.get((name, direction), 0) + 1
                    continue
                gas, sign, _note = hit
                if gas is None or amount == 0:
                    continue
                bio_rows.append({"process_id": cid, "gas": gas, "amount_kg": sign * amount, "gsd2": gsd2(e)})
    tech_schema = {
        "consumer": pl.String,
        "provider": pl.String,
        "amount": pl.Float64,
        "gsd2": pl.Float64,
        "stage": pl.String,
        "line_id": pl.String,
    }
    return OlcaTables(
        pl.DataFrame(process_rows),
        pl.DataFrame(tech_rows, schema=tech_schema),
        pl.DataFrame(
            bio_rows, schema={"process_id": pl.String, "gas": pl.String, "amount_kg": pl.Float64, "gsd2": pl.Float64}
        ),
        pl.DataFrame(cut_rows, schema={"consumer": pl.String, "flow": pl.String, "amount": pl.Float64}),
        pl.DataFrame(
            [{"flow_name": k[0], "direction": k[1], "exchanges": v} for k, v in sorted(unmapped.items())],
            schema={"flow_name": pl.String, "direction": pl.String, "exchanges": pl.Int64},
        ),
        notes,
    )

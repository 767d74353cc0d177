"""openLCA JSON-LD export (olca-schema 2): factors as process datasets, for openLCA and Brightway users.

One zip, written with fixed entry times (the same release gives the same bytes):
  processes/   one unit process per factor: output 1 unit of the factor's product flow (quantitative
               reference), elementary emissions to air per gas (kg per unit; GSD from the factor's GSD^2
               as a lognormal uncertainty), location, validity, and the provenance (publisher, document,
               locator, URL/DOI, licence, DQR and pedigree) in the documentation
  flows/       one product flow per factor; one elementary flow per gas (openLCA names where they exist:
               'Carbon dioxide, fossil', 'Methane, fossil', 'Dinitrogen monoxide' ...; fluorinated gases
               by name; 'Greenhouse gases, CO2-equivalent' for factors published only as CO2e)
  flow_properties/, unit_groups/   one per reference unit of the factors (the factor's unit is its own
               reference unit, so amounts need no conversion on import), and Mass for the gases
  locations/   one per geography code (ISO 3166, GB/T 2260, CN-GRID-*, GLO)
  lcia_methods/, lcia_categories/   'PCF Factor Warehouse GWP100 (<set>)': the GWP values the release
               applied, so openLCA computes exactly the warehouse's CO2e
Same eligibility as the national package: approved, redistributable factors only.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

import olca_schema as o
import polars as pl

from pipelines.config import Settings
from pipelines.exports.national import approved_factors
from pipelines.release.publish import read_table

NAMESPACE = uuid.UUID("6f1c2a1e-5b7d-4c0a-9a64-70636677682d")  # fixed: ids are stable across exports
FIXED_TIME = (2024, 1, 1, 0, 0, 0)
OLCA_GAS_NAMES = {
    "CO2_fossil": ("Carbon dioxide, fossil", "000124-38-9"),
    "CO2_biogenic": ("Carbon dioxide, biogenic", "000124-38-9"),
    "CH4_fossil": ("Methane, fossil", "000074-82-8"),
    "CH4_biogenic": ("Methane, biogenic", "000074-82-8"),
    "CH4": ("Methane", "000074-82-8"),
    "N2O": ("Dinitrogen monoxide", "010024-97-2"),
    "CO2e": ("Greenhouse gases, CO2-equivalent", None),
}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _ref(entity, **extra) -> o.Ref:
    return o.Ref(id=entity.id, name=entity.name, **extra)


def build_entities(
    factor: pl.DataFrame,
    factor_gas: pl.DataFrame,
    gwp_set: str,
    version: str,
    last_change: str = "2024-01-01T00:00:00+00:00",
) -> list:
    mass_unit = o.Unit(id=_id("unit", "kg"), name="kg", conversion_factor=1.0, is_ref_unit=True)
    mass_group = o.UnitGroup(id=_id("unit_group", "kg"), name="Units of mass", units=[mass_unit])
    mass = o.FlowProperty(
        id=_id("flow_property", "kg"),
        name="Mass",
        unit_group=_ref(mass_group),
        flow_property_type=o.FlowPropertyType.PHYSICAL_QUANTITY,
    )
    mass_group.default_flow_property = _ref(mass)
    entities: list = [mass_group, mass]
    groups = {"kg": (mass_unit, mass)}  # per-kg factors share the Mass property of the gases
    for unit in sorted(set(factor["unit"].unique().to_list()) - {"kg"}):
        u = o.Unit(id=_id("unit", unit), name=unit, conversion_factor=1.0, is_ref_unit=True)
        g = o.UnitGroup(id=_id("unit_group", unit), name=f"Units of {unit}", units=[u])
        fp = o.FlowProperty(
            id=_id("flow_property", unit),
            name=f"Quantity in {unit}",
            unit_group=_ref(g),
            flow_property_type=o.FlowPropertyType.PHYSICAL_QUANTITY,
        )
        g.default_flow_property = _ref(fp)
        groups[unit] = (u, fp)
        entities += [g, fp]
    gases = factor_gas.join(factor.select("factor_id"), on="factor_id")
    co2e_only = factor.join(gases.select("factor_id").unique(), on="factor_id", how="anti")
    gas_rows = pl.concat(
        [
            gases.select("factor_id", "gas", "amount_kg", "gwp"),
            co2e_only.select(
                "factor_id", pl.lit("CO2e").alias("gas"), pl.col("co2e_kg").alias("amount_kg"), pl.lit(1.0).alias("gwp")
            ),
        ]
    )
    flows = {}
    for gas, gwp in sorted(gas_rows.select("gas", "gwp").unique("gas").rows()):
        name, cas = OLCA_GAS_NAMES.get(gas, (gas, None))
        flows[gas] = (
            o.Flow(
                id=_id("flow", "elementary", gas),
                name=name,
                cas=cas,
                flow_type=o.FlowType.ELEMENTARY_FLOW,
                category="Elementary flows/Emission to air/unspecified",
                flow_properties=[
                    o.FlowPropertyFactor(flow_property=_ref(mass), conversion_factor=1.0, is_ref_flow_property=True)
                ],
            ),
            gwp,
        )
        entities.append(flows[gas][0])
    category = o.ImpactCategory(
        id=_id("impact", gwp_set),
        name=f"Climate change, GWP100 ({gwp_set})",
        ref_unit="kg CO2 eq",
        description=f"The GWP values release {version} of the PCF Factor Warehouse applied (per gas; 1 for amounts "
        f"published only as CO2e).",
        impact_factors=[
            o.ImpactFactor(
                flow=_ref(f, flow_type=o.FlowType.ELEMENTARY_FLOW),
                value=float(gwp),
                flow_property=_ref(mass),
                unit=_ref(mass_unit),
            )
            for f, gwp in flows.values()
        ],
    )
    method = o.ImpactMethod(
        id=_id("method", gwp_set), name=f"PCF Factor Warehouse GWP100 ({gwp_set})", impact_categories=[_ref(category)]
    )
    entities += [category, method]
    locations = {}
    for code, name in sorted(factor.select("geography_code", "geography_name").unique("geography_code").rows()):
        locations[code] = o.Location(id=_id("location", code), name=name or code, code=code)
        entities.append(locations[code])
    by_factor: dict[str, list[tuple[str, float]]] = {}
    for fid, gas, amount in gas_rows.sort("factor_id", "gas").select("factor_id", "gas", "amount_kg").rows():
        by_factor.setdefault(fid, []).append((gas, amount))
    for r in factor.sort("factor_id").iter_rows(named=True):
        unit, fp = groups[r["unit"]]
        name = r["name_en"] or r["name_zh"]
        product = o.Flow(
            id=_id("flow", "product", r["factor_id"]),
            name=f"{name} [{r['unit']}]",
            flow_type=o.FlowType.PRODUCT_FLOW,
            category=f"PCF warehouse/{r['source_id']}",
            flow_properties=[
                o.FlowPropertyFactor(flow_property=_ref(fp), conversion_factor=1.0, is_ref_flow_property=True)
            ],
        )
        gsd = (r["gsd2"] ** 0.5) if r["gsd2"] and r["gsd2"] > 1 else None
        exchanges = [
            o.Exchange(
                internal_id=1,
                flow=_ref(product, flow_type=o.FlowType.PRODUCT_FLOW),
                amount=1.0,
                is_input=False,
                is_quantitative_reference=True,
                unit=_ref(unit),
                flow_property=_ref(fp),
            )
        ]
        for k, (gas, amount) in enumerate(by_factor.get(r["factor_id"], []), start=2):
            flow = flows[gas][0]
            exchanges.append(
                o.Exchange(
                    internal_id=k,
                    flow=_ref(flow, flow_type=o.FlowType.ELEMENTARY_FLOW),
                    amount=float(amount),
                    is_input=False,
                    unit=_ref(mass_unit),
                    flow_property=_ref(mass),
                    uncertainty=o.Uncertainty(
                        distribution_type=o.UncertaintyType.LOG_NORMAL_DISTRIBUTION,
                        geom_mean=float(amount),
                        geom_sd=gsd,
                    )
                    if gsd and amount > 0
                    else None,
                )
            )
        provenance = "; ".join(
            f"{k}: {r[k]}"
            for k in ("publisher", "document", "locator", "url", "doi", "publication_date", "licence")
            if r[k]
        )
        quality = (
            f"DQR {r['dqr']:.2f} (reliability {r['dq_reliability']}, completeness {r['dq_completeness']}, "
            f"temporal {r['dq_temporal']}, geographical {r['dq_geographical']}, technological {r['dq_technological']})"
        )
        doc = o.ProcessDocumentation(
            valid_from=r["valid_from"].isoformat() if r["valid_from"] else None,
            valid_until=r["valid_to"].isoformat() if r["valid_to"] else None,
            technology_description=r["technology"],
            time_description=f"reference year {r['reference_year']}",
            geography_description=r["geography_name"],
            data_treatment_description=f"factor {r['factor_id']} of release {version}; {r['system_boundary']}; "
            f"{r['factor_purpose']}; {r['gas_basis']}; {quality}",
            data_selection_description=provenance,
            use_advice=f"kg per 1 {r['unit']}; CO2e {r['co2e_kg']} under {gwp_set}",
            restrictions_description=f"licence: {r['licence']}",
        )
        process = o.Process(
            id=_id("process", r["factor_id"]),
            name=name,
            process_type=o.ProcessType.UNIT_PROCESS,
            category=f"PCF warehouse/{r['source_id']}",
            description=provenance,
            location=_ref(locations[r["geography_code"]]),
            exchanges=exchanges,
            process_documentation=doc,
            last_internal_id=len(exchanges),
            version="1.0.0",
            tags=[r["source_id"], r["steward_status"]],
        )
        entities += [product, process]
    for e in entities:  # olca-schema stamps the clock on construction: the release's time instead (same bytes)
        e.last_change = last_change
    return entities


_FOLDERS = {
    o.Process: "processes",
    o.Flow: "flows",
    o.FlowProperty: "flow_properties",
    o.UnitGroup: "unit_groups",
    o.Location: "locations",
    o.ImpactCategory: "lcia_categories",
    o.ImpactMethod: "lcia_methods",
}


def write_zip(entities: list, path: Path, notice: str | None = None) -> Path:
    from pipelines.common.atomic import replacing

    with replacing(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(name: str, text: str) -> None:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)

        put("olca-schema.json", json.dumps({"version": 2}))
        if notice:  # licences such as MIT ask for their notice in every copy
            put("NOTICE.txt", notice)
        for e in sorted(entities, key=lambda e: (_FOLDERS[type(e)], e.id)):
            put(f"{_FOLDERS[type(e)]}/{e.id}.json", e.to_json())
    return path


def export(settings: Settings, out: Path, version: str | None = None) -> dict:
    # approved and redistributable, as for the national package
    manifest, factor, eligible, _ = approved_factors(settings, version)
    version = manifest["version"]
    chosen = factor.filter(pl.col("factor_id").is_in(eligible["factor_id"].implode()))
    entities = build_entities(
        chosen,
        read_table(settings, version, "factor_gas"),
        manifest.get("gwp_set") or settings.gwp_set,
        version,
        manifest["created_at"],
    )
    from pipelines.sources import notices

    notice = notices(chosen["source_id"].to_list(), settings.sources_dir)
    path = write_zip(entities, Path(out) / f"pcf_factors_{version}.zip", notice)
    return {"path": str(path), "processes": chosen.height, "release": version}

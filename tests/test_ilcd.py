"""Issue 18: ILCD archives. Small exact cases written by hand in the ILCD 1.1 structure pin every rule and the
cradle-to-gate arithmetic; the real TianGong archive's counts balance."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pipelines.ilcd.archive import read
from pipelines.ilcd.importer import import_archive

P, F, FP, UG, LM = (
    f"http://lca.jrc.it/ILCD/{x}" for x in ("Process", "Flow", "FlowProperty", "UnitGroup", "LCIAMethod")
)
C = "http://lca.jrc.it/ILCD/Common"
U = {
    k: f"00000000-0000-4000-8000-{i:012d}"
    for i, k in enumerate(
        [
            "kg_ug",
            "mj_ug",
            "eur_ug",
            "mass",
            "energy",
            "money",
            "widget",
            "power",
            "co2",
            "ch4",
            "pm",
            "cash",
            "orphan",
            "p_ok",
            "p_power",
            "p_noref",
            "p_multi",
            "p_zero",
            "p_loc",
            "p_big",
            "p_nogas",
            "p_unit",
            "lcia",
            "ghost",
            "noprop",
            "nounit_fp",
        ],
        start=1,
    )
}
GWP = {"CO2_fossil": 1.0, "CH4_fossil": 29.8, "N2O": 273.0, "CO2_biogenic": 1.0, "CH4_biogenic": 27.0}


def unit_group(uid, unit):
    return (
        f'<unitGroupDataSet xmlns="{UG}" xmlns:common="{C}"><unitGroupInformation><dataSetInformation>'
        f'<common:UUID>{uid}</common:UUID><common:name xml:lang="en">{unit} group</common:name></dataSetInformation>'
        f"<quantitativeReference><referenceToReferenceUnit>0</referenceToReferenceUnit></quantitativeReference>"
        f'</unitGroupInformation><units><unit dataSetInternalID="0"><name>{unit}</name><meanValue>1</meanValue>'
        f"</unit></units></unitGroupDataSet>"
    )


def flow_property(uid, ug):
    # the prefixed root of one TianGong flow property: parsed by namespace, not prefix
    return (
        f'<fp:flowPropertyDataSet xmlns:fp="{FP}" xmlns:common="{C}"><fp:flowPropertiesInformation>'
        f'<fp:dataSetInformation><common:UUID>{uid}</common:UUID><common:name xml:lang="en">p</common:name>'
        f'</fp:dataSetInformation><fp:quantitativeReference><fp:referenceToReferenceUnitGroup refObjectId="{ug}"/>'
        f"</fp:quantitativeReference></fp:flowPropertiesInformation></fp:flowPropertyDataSet>"
    )


def flow(uid, name, kind, prop, air=False):
    cats = (
        '<common:elementaryFlowCategorization><common:category level="0">Emissions</common:category>'
        '<common:category level="1">Emissions to air</common:category></common:elementaryFlowCategorization>'
        if air
        else ""
    )
    return (
        f'<flowDataSet xmlns="{F}" xmlns:common="{C}"><flowInformation><dataSetInformation>'
        f'<common:UUID>{uid}</common:UUID><name><baseName xml:lang="en">{name}</baseName></name>'
        f"<classificationInformation>{cats}</classificationInformation></dataSetInformation>"
        f"<quantitativeReference><referenceToReferenceFlowProperty>0</referenceToReferenceFlowProperty>"
        f"</quantitativeReference></flowInformation><modellingAndValidation><LCIMethod><typeOfDataSet>{kind}"
        f'</typeOfDataSet></LCIMethod></modellingAndValidation><flowProperties><flowProperty dataSetInternalID="0">'
        f'<referenceToFlowPropertyDataSet refObjectId="{prop}"/><meanValue>1</meanValue></flowProperty>'
        f"</flowProperties></flowDataSet>"
    )


def process(uid, name, refs, exchanges, location="CN", year=2020):
    ex = "".join(
        f'<exchange dataSetInternalID="{i}"><referenceToFlowDataSet refObjectId="{f}">'
        f'<common:shortDescription xml:lang="en">{d}</common:shortDescription></referenceToFlowDataSet>'
        f"<exchangeDirection>{direction}</exchangeDirection>"
        + (f"<meanAmount>{a}</meanAmount>" if a is not None else "")
        + "</exchange>"
        for i, (f, d, direction, a) in enumerate(exchanges)
    )
    ref = "".join(f"<referenceToReferenceFlow>{r}</referenceToReferenceFlow>" for r in refs)
    return (
        f'<processDataSet xmlns="{P}" xmlns:common="{C}"><processInformation><dataSetInformation>'
        f'<common:UUID>{uid}</common:UUID><name><baseName xml:lang="en">{name}</baseName>'
        f'<baseName xml:lang="zh">{name}（中）</baseName></name></dataSetInformation>'
        f"<quantitativeReference>{ref}</quantitativeReference><time><common:referenceYear>{year}"
        f'</common:referenceYear></time><geography><locationOfOperationSupplyOrProduction location="{location}"/>'
        f"</geography></processInformation><exchanges>{ex}</exchanges></processDataSet>"
    )


def lcia():
    return (
        f'<LCIAMethodDataSet xmlns="{LM}" xmlns:common="{C}"><LCIAMethodInformation><dataSetInformation>'
        f'<common:UUID>{U["lcia"]}</common:UUID><common:name xml:lang="en">Climate change</common:name>'
        f"</dataSetInformation></LCIAMethodInformation><characterisationFactors>"
        f'<factor><referenceToFlowDataSet refObjectId="{U["co2"]}"/><meanValue>1</meanValue></factor>'
        f'<factor><referenceToFlowDataSet refObjectId="{U["ch4"]}"/><meanValue>29.8</meanValue></factor>'
        f"</characterisationFactors></LCIAMethodDataSet>"
    )


@pytest.fixture
def archive(tmp_path) -> Path:
    files = {
        "ILCD/unitgroups/kg.xml": unit_group(U["kg_ug"], "kg"),
        "ILCD/unitgroups/mj.xml": unit_group(U["mj_ug"], "MJ"),
        "ILCD/unitgroups/eur.xml": unit_group(U["eur_ug"], "EUR"),
        "ILCD/flowproperties/mass.xml": flow_property(U["mass"], U["kg_ug"]),
        "ILCD/flowproperties/energy.xml": flow_property(U["energy"], U["mj_ug"]),
        "ILCD/flowproperties/money.xml": flow_property(U["money"], U["eur_ug"]),
        "ILCD/flowproperties/nounit.xml": flow_property(U["nounit_fp"], U["ghost"]),
        "ILCD/flows/widget.xml": flow(U["widget"], "widget", "Product flow", U["mass"]),
        "ILCD/flows/power.xml": flow(U["power"], "electricity", "Product flow", U["energy"]),
        "ILCD/flows/co2.xml": flow(U["co2"], "carbon dioxide (fossil)", "Elementary flow", U["mass"], air=True),
        "ILCD/flows/ch4.xml": flow(U["ch4"], "methane (fossil)", "Elementary flow", U["mass"], air=True),
        "ILCD/flows/pm.xml": flow(U["pm"], "particles (PM2.5)", "Elementary flow", U["mass"], air=True),
        "ILCD/flows/cash.xml": flow(U["cash"], "sector output", "Product flow", U["money"]),
        "ILCD/flows/noprop.xml": flow(U["noprop"], "strange stuff", "Product flow", U["nounit_fp"]),
        "ILCD/lciamethods/cc.xml": lcia(),
        "ILCD/ILCDLocations.xml": '<ILCDLocations><location value="CN">China</location></ILCDLocations>',
        "LICENSE": "MIT License test",
    }
    w, pw, co2, ch4, pm = U["widget"], U["power"], U["co2"], U["ch4"], U["pm"]
    procs = {
        # 2 kg widget from 4 MJ power; 1 kg CO2 emitted after treatment (3 kg before); five broken exchanges
        "p_ok": process(
            U["p_ok"],
            "widget making",
            ["0"],
            [
                (w, "widget", "Output", 2.0),
                (pw, "electricity", "Input", 4.0),
                (co2, "CO2", "Output", 3.0),
                (co2, "CO2", "Output", 1.0),
                ("Cement", "Cement", "Input", 5.0),
                (U["orphan"], "gone", "Input", 1.0),
                (ch4, "methane (fossil)", "Output", None),
                (co2, "particles (> PM10)", "Output", 9.0),
                (U["noprop"], "strange stuff", "Input", 1.0),
            ],
            location="SD-CN",
        ),
        "p_power": process(
            U["p_power"],
            "power",
            ["0"],
            [(pw, "electricity", "Output", 1.0), (ch4, "methane (fossil)", "Output", 0.01)],
        ),
        "p_noref": process(U["p_noref"], "no reference", [], [(w, "widget", "Output", 1.0)]),
        "p_multi": process(
            U["p_multi"], "two outputs", ["0", "1"], [(w, "widget", "Output", 1.0), (pw, "electricity", "Output", 1.0)]
        ),
        "p_zero": process(U["p_zero"], "nothing made", ["0"], [(w, "widget", "Output", 0.0)]),
        "p_loc": process(U["p_loc"], "somewhere", ["0"], [(w, "widget", "Output", 1.0)], location="ZZ-XX"),
        "p_big": process(
            U["p_big"], "a sector", ["0"], [(U["cash"], "output", "Output", 1.0), (co2, "CO2", "Output", 5e6)]
        ),
        "p_nogas": process(U["p_nogas"], "dust only", ["0"], [(w, "widget", "Output", 1.0), (pm, "PM", "Output", 0.1)]),
    }
    path = tmp_path / "tiny.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in {**files, **{f"ILCD/processes/{k}.xml": v for k, v in procs.items()}}.items():
            z.writestr(name, text)
    return path


def test_every_rule_on_a_hand_written_archive(archive):
    r = import_archive(read(archive, workers=1), GWP)
    rules = {q["process"]["uuid"]: q["rule"] for q in r.quarantined}
    assert rules == {
        U["p_noref"]: "ilcd.reference.missing",
        U["p_multi"]: "ilcd.reference.multiple",
        U["p_zero"]: "ilcd.reference.zero",
        U["p_loc"]: "ilcd.location.unknown",
        U["p_big"]: "ilcd.magnitude.implausible",
        U["p_nogas"]: "ilcd.ghg.none",
    }
    ex = {(i["dataset_uuid"], i["exchange"]): i["rule"] for i in r.issues if i["dataset_uuid"] == U["p_ok"]}
    assert ex == {
        (U["p_ok"], "2"): "ilcd.pollutant.duplicate",
        (U["p_ok"], "4"): "ilcd.flow.not_uuid",
        (U["p_ok"], "5"): "ilcd.flow.dangling",
        (U["p_ok"], "6"): "ilcd.amount.missing",
        (U["p_ok"], "7"): "ilcd.description.mismatch",
        (U["p_ok"], "8"): "ilcd.unit.no_path",
    }
    c = r.counts
    assert c["datasets_in"] == 8 == c["datasets_imported"] + c["datasets_quarantined"] and c["datasets_imported"] == 2
    assert c["exchanges_in"] == c["exchanges_imported"] + c["exchanges_quarantined"]
    widget = next(s for s in r.staged if s["process"]["uuid"] == U["p_ok"])
    # per kg widget: CO2 1/2 (after treatment), CH4 from 2 MJ of power at 0.01 kg/MJ
    assert widget["gases"] == pytest.approx({"CO2_fossil": 0.5, "CH4_fossil": 0.02}, rel=1e-12)
    assert widget["linked"] == 1 and "ilcd.direct_only" not in widget["qa"]
    power = next(s for s in r.staged if s["process"]["uuid"] == U["p_power"])
    assert "ilcd.direct_only" in power["qa"] and power["gases"] == pytest.approx({"CH4_fossil": 0.01})
    assert r.ef_check["processes_compared"] == 2 and r.ef_check["max_relative_difference"] < 1e-12


def test_the_city_and_province_codes_map_to_warehouse_geographies():
    from pipelines.ilcd.importer import geography_of

    assert geography_of("SD-CN") == ("370000", "table")
    assert geography_of("SAX-CN")[0] == "610000" and geography_of("SX-CN")[0] == "140000"  # Shaanxi, Shanxi
    assert geography_of("JNA-SD-CN") == ("370000", "city JNA -> its province")
    assert geography_of("ZZ-XX") == (None, "unknown")


def test_the_real_archive_imports_and_balances(sources_dir):
    from pipelines.sources import tiangong_ilcd

    path = sources_dir / "tiangong_lca_ilcd" / "tiangong_lca_data_ilcd.zip"
    r = import_archive(read(path), tiangong_ilcd.gwp_values())
    c = r.counts
    assert c["datasets_in"] == 3943 and c["exchanges_in"] == 71010  # SOURCE.md
    assert c["datasets_in"] == c["datasets_imported"] + c["datasets_quarantined"]
    assert c["exchanges_in"] == c["exchanges_imported"] + c["exchanges_quarantined"]
    rules = {}
    for q in r.quarantined:
        rules[q["rule"]] = rules.get(q["rule"], 0) + 1
    # SOURCE.md: 4 processes without a reference flow, 65 with two, 117 reference flows pointing nowhere
    assert rules["ilcd.reference.missing"] == 4 and rules["ilcd.reference.multiple"] == 65
    assert 100 <= rules["ilcd.reference.dangling"] <= 117
    assert rules["ilcd.magnitude.implausible"] >= 150  # the CEEIO sector totals (153) and the like
    assert r.ef_check["processes_compared"] > 600 and r.ef_check["differ_over_1pct"] <= 5
    batch = tiangong_ilcd.load(sources_dir)
    assert batch.status == "loaded" and batch.staged.height == 3943
    assert batch.extras["import_issue"].height == c["exchanges_quarantined"]


def test_the_mit_notice_travels_with_exports_that_carry_tiangong_factors(sources_dir, tmp_path):
    import zipfile

    from pipelines.exports.olca import write_zip
    from pipelines.sources import notices

    text = notices(["cpcd_snapshot", "tiangong_ilcd", "tiangong_ilcd"], sources_dir)
    assert text is not None and text.count("== tiangong_ilcd") == 1
    assert "Copyright (c) 2023 linancn" in text and "Permission is hereby granted" in text  # the archive's LICENSE
    assert notices(["cpcd_snapshot", "epa_sef_v1_2"], sources_dir) is None  # no notice asked for
    path = write_zip([], tmp_path / "f.zip", text)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("NOTICE.txt").decode("utf-8") == text

"""Reading an ILCD 1.1 archive (a zip with ILCD/{processes,flows,flowproperties,unitgroups,sources,lciamethods}/
<UUID>.xml and ILCD/ILCDLocations.xml), parsed by namespace, never by prefix (a flow property in the TianGong
archive uses `fp:` as its root prefix). Plain dicts out; validation is pipelines/ilcd/importer.py's.
Processes are parsed on both cores (a process pool): 3,943 datasets, 112 MB of XML."""

from __future__ import annotations

import re
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

NS = {
    "p": "http://lca.jrc.it/ILCD/Process",
    "f": "http://lca.jrc.it/ILCD/Flow",
    "fp": "http://lca.jrc.it/ILCD/FlowProperty",
    "u": "http://lca.jrc.it/ILCD/UnitGroup",
    "s": "http://lca.jrc.it/ILCD/Source",
    "l": "http://lca.jrc.it/ILCD/LCIAMethod",
    "c": "http://lca.jrc.it/ILCD/Common",
}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ArchiveError(ValueError):
    pass


def _text(node, path: str) -> str | None:
    found = node.find(path, NS)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _find(node, path: str) -> ET.Element:
    """A required element; its absence is an ArchiveError naming the path."""
    found = node.find(path, NS) if node is not None else None
    if found is None:
        raise ArchiveError(f"missing element {path}")
    return found


def _names(node, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in node.findall(path, NS):
        lang = n.get("{http://www.w3.org/XML/1998/namespace}lang", "en")
        if n.text and n.text.strip():
            out.setdefault(lang, n.text.strip())
    return out


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def parse_process(name: str, data: bytes) -> dict:
    root = ET.fromstring(data)
    info = root.find("p:processInformation", NS)
    if info is None:
        raise ArchiveError(f"{name}: not a process data set")
    ds = info.find("p:dataSetInformation", NS)
    classes = (
        [c.text.strip() for c in ds.findall("p:classificationInformation/c:classification/c:class", NS) if c.text]
        if ds is not None
        else []
    )
    geo = info.find("p:geography/p:locationOfOperationSupplyOrProduction", NS)
    refs = [r.text.strip() for r in info.findall("p:quantitativeReference/p:referenceToReferenceFlow", NS) if r.text]
    exchanges = []
    for ex in root.findall("p:exchanges/p:exchange", NS):
        ref = ex.find("p:referenceToFlowDataSet", NS)
        short = _names(ref, "c:shortDescription") if ref is not None else {}
        exchanges.append(
            {
                "internal_id": ex.get("dataSetInternalID"),
                "flow": (ref.get("refObjectId") or "").strip() if ref is not None else "",
                "description": short.get("en") or short.get("zh") or "",
                "direction": _text(ex, "p:exchangeDirection"),
                "amount": _float(_text(ex, "p:meanAmount") or _text(ex, "p:resultingAmount")),
            }
        )
    mv = root.find("p:modellingAndValidation", NS)
    admin = root.find("p:administrativeInformation", NS)
    review = mv.find("p:validation/p:review", NS) if mv is not None else None
    sources = (
        [
            r.get("refObjectId")
            for r in mv.findall("p:dataSourcesTreatmentAndRepresentativeness/p:referenceToDataSource", NS)
        ]
        if mv is not None
        else []
    )
    return {
        "file": name,
        "uuid": _text(ds, "c:UUID") if ds is not None else None,
        "name": _names(ds, "p:name/p:baseName") if ds is not None else {},
        "classes": classes,
        "reference_ids": refs,
        "reference_year": _text(info, "p:time/c:referenceYear"),
        "location": geo.get("location") if geo is not None else None,
        "technology": next(
            iter(_names(info, "p:technology/p:technologyDescriptionAndIncludedProcesses").values()), None
        ),
        "type": _text(mv, "p:LCIMethodAndAllocation/p:typeOfDataSet") if mv is not None else None,
        "review": review.get("type") if review is not None else None,
        "sources": [s for s in sources if s],
        "version": _text(admin, "p:publicationAndOwnership/c:dataSetVersion") if admin is not None else None,
        "uri": _text(admin, "p:publicationAndOwnership/c:permanentDataSetURI") if admin is not None else None,
        "functional_unit": _text(info, "p:quantitativeReference/p:functionalUnitOrOther"),
        "exchanges": exchanges,
    }


def _parse_many(items: list[tuple[str, bytes]]) -> list[dict]:
    out = []
    for name, data in items:
        try:
            out.append(parse_process(name, data))
        except (ET.ParseError, ArchiveError) as exc:
            out.append({"file": name, "error": f"{type(exc).__name__}: {exc}"})
    return out


def parse_flow(data: bytes) -> dict:
    root = ET.fromstring(data)
    info = _find(root, "f:flowInformation")
    ds = _find(info, "f:dataSetInformation")
    ref = _text(info, "f:quantitativeReference/f:referenceToReferenceFlowProperty")
    props = {}
    for p in root.findall("f:flowProperties/f:flowProperty", NS):
        ref_fp = p.find("f:referenceToFlowPropertyDataSet", NS)
        if ref_fp is not None:
            props[p.get("dataSetInternalID")] = (ref_fp.get("refObjectId"), _float(_text(p, "f:meanValue")) or 1.0)
    cats = [c.text.strip() for c in ds.findall(".//c:category", NS) if c.text]
    return {
        "uuid": _text(ds, "c:UUID"),
        "name": _names(ds, "f:name/f:baseName"),
        "type": _text(root, "f:modellingAndValidation/f:LCIMethod/f:typeOfDataSet"),
        "categories": cats,
        "cas": _text(ds, "f:CASNumber"),
        "property": props.get(ref),
    }


def parse_flow_property(data: bytes) -> dict:
    root = ET.fromstring(data)
    info = _find(root, "fp:flowPropertiesInformation")
    ds = _find(info, "fp:dataSetInformation")
    ug = info.find("fp:quantitativeReference/fp:referenceToReferenceUnitGroup", NS)
    return {
        "uuid": _text(ds, "c:UUID"),
        "name": next(iter(_names(ds, "c:name").values()), None),
        "unit_group": ug.get("refObjectId") if ug is not None else None,
    }


def parse_unit_group(data: bytes) -> dict:
    root = ET.fromstring(data)
    info = _find(root, "u:unitGroupInformation")
    ds = _find(info, "u:dataSetInformation")
    ref = _text(info, "u:quantitativeReference/u:referenceToReferenceUnit")
    units = {u.get("dataSetInternalID"): _text(u, "u:name") for u in root.findall("u:units/u:unit", NS)}
    return {
        "uuid": _text(ds, "c:UUID"),
        "name": next(iter(_names(ds, "c:name").values()), None),
        "reference_unit": units.get(ref),
    }


def parse_lcia(data: bytes) -> dict:
    root = ET.fromstring(data)
    ds = _find(root, "l:LCIAMethodInformation/l:dataSetInformation")
    factors = {}
    for f in root.findall("l:characterisationFactors/l:factor", NS):
        ref = f.find("l:referenceToFlowDataSet", NS)
        value = _float(_text(f, "l:meanValue"))
        if ref is not None and value is not None:
            factors[ref.get("refObjectId")] = value
    return {"uuid": _text(ds, "c:UUID"), "name": next(iter(_names(ds, "c:name").values()), None), "factors": factors}


@dataclass
class Archive:
    path: Path
    processes: list[dict] = field(default_factory=list)
    flows: dict[str, dict] = field(default_factory=dict)
    flow_properties: dict[str, dict] = field(default_factory=dict)
    unit_groups: dict[str, dict] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    lcia: list[dict] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)
    licence: str = ""


def read(path: Path, workers: int = 2) -> Archive:
    """Every data set of an ILCD zip (a damaged file inside is a parse error of that data set, not of all)."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path}: not a readable zip ({exc})") from None
    arc = Archive(Path(path))
    with z:
        names = sorted(z.namelist())
        by_folder: dict[str, list[str]] = {}
        for n in names:
            m = re.match(r"^(?:.*/)?ILCD/([a-z]+)/[^/]+\.xml$", n)
            if m:
                by_folder.setdefault(m.group(1), []).append(n)
        loc = next((n for n in names if n.endswith("ILCDLocations.xml")), None)
        if loc:
            for code, text in re.findall(r'<location value="([^"]+)">([^<]*)</location>', z.read(loc).decode("utf-8")):
                arc.locations[code] = text
        lic = next((n for n in names if n.rsplit("/", 1)[-1].upper() in ("LICENSE", "LICENSE.TXT", "LICENSE.MD")), None)
        arc.licence = z.read(lic).decode("utf-8", "replace") if lic else ""
        for n in by_folder.get("flows", []):
            try:
                f = parse_flow(z.read(n))
                arc.flows[f["uuid"]] = f
            except (ET.ParseError, ArchiveError):
                continue
        for n in by_folder.get("flowproperties", []):
            try:
                fp = parse_flow_property(z.read(n))
                arc.flow_properties[fp["uuid"]] = fp
            except (ET.ParseError, ArchiveError):
                continue
        for n in by_folder.get("unitgroups", []):
            try:
                ug = parse_unit_group(z.read(n))
                arc.unit_groups[ug["uuid"]] = ug
            except (ET.ParseError, ArchiveError):
                continue
        arc.sources = {n.rsplit("/", 1)[-1][:-4] for n in by_folder.get("sources", [])}
        for n in by_folder.get("lciamethods", []):
            try:
                arc.lcia.append(parse_lcia(z.read(n)))
            except (ET.ParseError, ArchiveError):
                continue
        items = [(n, z.read(n)) for n in by_folder.get("processes", [])]
    if workers > 1 and len(items) > 200:
        chunks = [items[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(workers) as pool:
            parsed = [p for part in pool.map(_parse_many, chunks) for p in part]
        arc.processes = sorted(parsed, key=lambda p: p["file"])
    else:
        arc.processes = _parse_many(items)
    return arc

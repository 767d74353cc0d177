"""Source adapters, one module per source; each has SPEC and load(root) -> SourceBatch.

SOURCES lists them in load order; 'external' sources read the configured sources directory
(PCF_SOURCES_DIR, default ../shared/data/sources), 'embedded' ones read data/raw/.
"""

from pipelines.sources import (
    cn_fuel_defaults,
    cn_mee_electricity,
    cpcd,
    epa_ghg_hub,
    epa_sef,
    ipcc_gwp,
    literature,
    owid_ember,
    regional,
    tiangong_ilcd,
    uk_desnz,
)

SOURCES = {
    m.SPEC.source_id: m
    for m in (
        cn_mee_electricity,
        cpcd,
        epa_sef,
        uk_desnz,
        epa_ghg_hub,
        owid_ember,
        tiangong_ilcd,
        ipcc_gwp,
        cn_fuel_defaults,
        literature,
        regional,
    )
}


def notices(source_ids, root) -> str | None:
    """One NOTICE text for the sources whose licence requires their notice in every copy (MIT and the
    like: a module-level `notice(root)`), for the sources among `source_ids`; None when none needs one."""
    parts = []
    for sid in sorted(set(source_ids)):
        module = SOURCES.get(sid)
        if module is None or not hasattr(module, "notice"):
            continue
        text = module.notice(root)
        if text:
            parts.append(f"== {sid}: {module.SPEC.title} ==\n{text.rstrip()}\n")
    return "\n".join(parts) or None

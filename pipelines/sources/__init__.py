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
        ipcc_gwp,
        cn_fuel_defaults,
        literature,
        regional,
    )
}

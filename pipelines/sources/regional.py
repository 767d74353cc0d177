"""Regional factors published by the province's data stewards: data/raw/curation/regional/*.csv|xlsx.

Same template as literature (docs/literature_template.md: record_id, names, unit, geography, year,
boundary, gases or CO2e, publisher, document, locator, DOI or URL, licence ...). Publishing a file here is
the stewards' decision, reviewed in git, so the rows are approved on arrival. In factor matching a
regional factor takes precedence over any other factor at the same geography step (a Chongqing grid
mix over the MEE provincial factor; a local smelter's supplier-specific aluminium over a national
average), and every inventory line that used one says so (match_precedence).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.sources import literature
from pipelines.sources.base import SourceBatch, SourceSpec

SPEC = SourceSpec(
    source_id="regional_steward",
    title="Regional factors published by the data stewards",
    publisher="provincial data stewards (per row: the underlying document)",
    licence="per row",
    redistributable=True,
    approved_by_source=True,  # the file is the stewards' publication decision
    location="embedded",
    dir_glob="curation/regional",
    expected_refresh_days=365,
    authority="steward_regional",
)


def load(raw_root: Path) -> SourceBatch:
    batch = literature.load(raw_root, SPEC)
    if batch.status == "missing" and (raw_root / SPEC.dir_glob).is_dir():
        batch.status, batch.message = "loaded", "no regional factors published yet"  # a normal state, not an error
    return batch

"""The warehouse's settings as a Dagster resource: the CLI passes its options (--sources-dir, --gwp-set) as
resource configuration of the run it launches, never by writing the process environment. Unset fields
fall back to the PCF_* environment and the defaults of pipelines/config.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg

from pipelines.config import GWP_SETS, Settings


class WarehouseResource(dg.ConfigurableResource):
    sources_dir: str | None = None   # external public datasets (default PCF_SOURCES_DIR)
    gwp_set: str | None = None       # GWP100 set of the run (default PCF_GWP_SET, AR6)

    def settings(self) -> Settings:
        s = Settings()
        if self.gwp_set and self.gwp_set.upper() not in GWP_SETS:
            raise dg.Failure(f"gwp_set {self.gwp_set!r}: expected one of {', '.join(GWP_SETS)}")
        return dataclasses.replace(
            s, sources_dir=Path(self.sources_dir).resolve() if self.sources_dir else s.sources_dir,
            gwp_set=self.gwp_set.upper() if self.gwp_set else s.gwp_set)

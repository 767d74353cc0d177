"""The warehouse's settings as a Dagster resource: one optional field per setting of pipelines/config.py
(generated from that one list, so nothing is listed twice). The code location fills the fields from the
environment with `EnvVar` (so the Dagster UI shows which variable a value came from); `pcf build` passes its
options (--sources-dir, --gwp-set) as this resource's configuration of the run it launches, never by writing
the process environment. Unset fields fall back to the environment and the defaults.

For the run's duration the resolved settings are the ones `pipelines.config.settings()` returns in that run,
so a function deep below an asset sees the run's configuration without it being passed down by hand."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Optional

import dagster as dg
from pydantic import create_model

from pipelines.config import _RUN_SETTINGS, GWP_SETS, Settings


class _WarehouseSettings(dg.ConfigurableResource):
    def settings(self) -> Settings:
        s = Settings()
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(Settings):
            raw = getattr(self, f.name)
            if raw is None or raw == "":
                continue
            kind = f.metadata["kind"]
            try:
                changes[f.name] = Path(raw).resolve() if kind is Path else kind(raw)
            except ValueError:
                raise dg.Failure(f"warehouse.{f.name}={raw!r}: expected {kind.__name__}") from None
        if "gwp_set" in changes and changes["gwp_set"].upper() not in GWP_SETS:
            raise dg.Failure(f"gwp_set {changes['gwp_set']!r}: expected one of {', '.join(GWP_SETS)}")
        return dataclasses.replace(s, **changes)

    def setup_for_execution(self, context) -> None:
        _RUN_SETTINGS.set(self.settings())

    def teardown_after_execution(self, context) -> None:
        _RUN_SETTINGS.set(None)


# one optional text field per setting (values arrive as text from EnvVar or run config; converted above)
# fields built from the one list: mypy cannot see their names
WarehouseResource = create_model(  # type: ignore[call-overload]
    "WarehouseResource",
    __base__=_WarehouseSettings,
    **{f.name: (Optional[str], None) for f in dataclasses.fields(Settings)},
)


def from_environment() -> _WarehouseSettings:
    """The code location's resource: every setting that is set in the environment, as an EnvVar."""
    return WarehouseResource(
        **{
            f.name: dg.EnvVar(f.metadata["env"])
            for f in dataclasses.fields(Settings)
            if os.environ.get(f.metadata["env"])
        }
    )

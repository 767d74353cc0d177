"""Run settings, read from the environment so that tests, CI and the nightly run can point elsewhere.

Every path resolves against the project root, so the CLI, Dagster and pytest agree wherever they start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent
# In a checkout (editable install, tests, `make run`) the data home is the checkout itself and the SQL
# models, expectation suites and embedded data are read where they are edited. Installed from the wheel,
# they are package data (pipelines/_data, copied in by setup.py) and the data home is PCF_HOME (default:
# the working directory), seeded from the packaged data/raw on first use (`ensure_home`).
IN_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "sql").is_dir()
PROJECT_ROOT = _CHECKOUT if IN_CHECKOUT else Path(os.environ.get("PCF_HOME") or Path.cwd()).resolve()


def resource_dir(name: str) -> Path:
    """A directory the code ships with: `sql`, `expectations` or `data/raw` (the embedded default data)."""
    return _CHECKOUT / name if IN_CHECKOUT else PACKAGE_DIR / "_data" / name


SQL_DIR = resource_dir("sql")
EXPECTATIONS_DIR = resource_dir("expectations")

# GWP100 sets the warehouse can apply. AR6 is the default: GB/T 24067-2024 / ISO 14067:2018 ask for
# the latest IPCC values.
GWP_SETS = ("SAR", "AR4", "AR5", "AR6")
DEFAULT_GWP_SET = "AR6"


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    path = Path(value) if value else default
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


@dataclass(frozen=True)
class Settings:
    sources_dir: Path = field(default_factory=lambda: _path("PCF_SOURCES_DIR", PROJECT_ROOT.parent / "shared" / "data" / "sources"))
    raw_dir: Path = field(default_factory=lambda: _path("PCF_RAW_DIR", PROJECT_ROOT / "data" / "raw"))
    curated_dir: Path = field(default_factory=lambda: _path("PCF_CURATED_DIR", PROJECT_ROOT / "data" / "curated"))
    gwp_set: str = field(default_factory=lambda: os.environ.get("PCF_GWP_SET", DEFAULT_GWP_SET).upper())
    # The year data-quality scores are judged against. A setting, not the wall clock, so that the same
    # inputs give the same release on any day.
    assessment_year: int = field(default_factory=lambda: int(os.environ.get("PCF_ASSESSMENT_YEAR", "2025")))

    def __post_init__(self) -> None:
        if self.gwp_set not in GWP_SETS:
            raise ValueError(f"PCF_GWP_SET={self.gwp_set!r}: expected one of {', '.join(GWP_SETS)}")

    # The restricted zone: enterprise uploads as accepted, their quarantine and the product inventories.
    # Outside data/curated on purpose: no release, catalogue view, export or page reads from here.
    restricted_dir: Path = field(default_factory=lambda: _path("PCF_RESTRICTED_DIR", PROJECT_ROOT / "data" / "restricted"))

    @property
    def enterprise_raw_dir(self) -> Path:
        return self.raw_dir / "enterprise"

    @property
    def models_dir(self) -> Path:
        """Reference product models (public, documented model files): pipelines/enterprise/reference_models.py."""
        return self.raw_dir / "models"

    @property
    def releases_dir(self) -> Path:
        return self.curated_dir / "releases"

    @property
    def objects_dir(self) -> Path:
        return self.curated_dir / "objects"

    @property
    def warehouse_path(self) -> Path:
        return self.curated_dir / "warehouse.duckdb"

    @property
    def asset_store_dir(self) -> Path:
        return self.curated_dir / "_assets"


def ensure_home(s: "Settings") -> None:
    """Outside a checkout: a new data home gets the embedded default data (national fuel defaults, the
    USLCI flow map, the example uploads and models), copied once from the package; an existing one is left
    as it is (raw data is never overwritten)."""
    import shutil

    seed = resource_dir("data/raw")
    if IN_CHECKOUT or s.raw_dir.exists() or not seed.is_dir():
        return
    shutil.copytree(seed, s.raw_dir)


def settings() -> Settings:
    """Fresh settings each call: the environment may change between test cases."""
    return Settings()

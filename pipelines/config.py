"""Run settings, read from the environment so that tests, CI and the nightly run can point elsewhere.

Every path resolves against the project root, so the CLI, Dagster and pytest agree wherever they start.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
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


def flag(raw: str) -> bool:
    """A yes/no setting: 1, true, yes, on (any case) are yes; 0, false, no, off are no."""
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{raw!r} is not yes/no")


def _setting(env: str, kind, default, doc: str, shown: str | None = None):
    """A setting: its environment variable, type, default and meaning, in one place (the README's settings
    table is generated from these: `python -m pipelines.config`, checked by tests/test_docs.py)."""

    def read():
        if kind is Path:
            return _path(env, default() if callable(default) else default)
        raw = os.environ.get(env)
        if raw is None or raw == "":
            return default
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"{env}={raw!r}: expected {kind.__name__}") from None

    return field(
        default_factory=read,
        metadata={"env": env, "doc": doc, "kind": kind, "default": shown if shown is not None else default},
    )


@dataclass(frozen=True)
class Settings:
    sources_dir: Path = _setting(
        "PCF_SOURCES_DIR",
        Path,
        lambda: PROJECT_ROOT.parent / "shared" / "data" / "sources",
        "external public datasets (read in place, never copied)",
        shown="../shared/data/sources",
    )
    raw_dir: Path = _setting(
        "PCF_RAW_DIR",
        Path,
        lambda: PROJECT_ROOT / "data" / "raw",
        "embedded inputs, enterprise uploads, the decision log (immutable)",
        shown="data/raw",
    )
    curated_dir: Path = _setting(
        "PCF_CURATED_DIR",
        Path,
        lambda: PROJECT_ROOT / "data" / "curated",
        "releases, objects, the catalogue, the review queue, the Dagster home",
        shown="data/curated",
    )
    # The restricted zone: enterprise uploads as accepted, their quarantine and the product inventories.
    # Outside data/curated on purpose: no release, catalogue view, export or page reads from here.
    restricted_dir: Path = _setting(
        "PCF_RESTRICTED_DIR",
        Path,
        lambda: PROJECT_ROOT / "data" / "restricted",
        "enterprise zone (confidential; never in a release)",
        shown="data/restricted",
    )
    gwp_set: str = _setting(
        "PCF_GWP_SET",
        str,
        DEFAULT_GWP_SET,
        "GWP100 set (SAR, AR4, AR5, AR6); also `pcf build --gwp-set` or the run's resource config",
    )
    # A setting, not the wall clock, so that the same inputs give the same release on any day.
    assessment_year: int = _setting(
        "PCF_ASSESSMENT_YEAR",
        int,
        2025,
        "year the temporal pedigree score is judged against (fixed, for reproducibility)",
    )
    editions: str = _setting(
        "PCF_EDITIONS",
        str,
        "",
        "pin editions: `source_id=directory[,...]` (default: the newest edition directory of each source)",
    )
    release_guard_share: float = _setting(
        "PCF_RELEASE_GUARD_SHARE",
        float,
        0.1,
        "share of a source's factors removed or changed (published values) above which a release is held for a steward",
    )
    review_change_share: float = _setting(
        "PCF_REVIEW_CHANGE_SHARE", float, 0.2, "relative CO2e change that flags `change.large` in the review queue"
    )
    review_max_dqr: float = _setting(
        "PCF_REVIEW_MAX_DQR", float, 3.5, "DQR above which a factor is flagged `quality.low`"
    )
    factor_chunk_rows: int = _setting(
        "PCF_FACTOR_CHUNK_ROWS",
        int,
        500_000,
        "rows per chunk of the factor path: a source larger than this is staged, validated and harmonised a chunk at a "
        "time through Parquet parts (bounded memory, same release); 0 keeps every source in memory",
    )
    review_page_rows: int = _setting(
        "PCF_REVIEW_PAGE_ROWS",
        int,
        2000,
        "rows listed on the review page (flagged first); the whole queue is in queue.parquet",
    )
    pact_spec_dir: Path = _setting(
        "PCF_PACT_SPEC_DIR",
        Path,
        lambda: PROJECT_ROOT.parent / "shared" / "reference" / "pact",
        "the official PACT OpenAPI files and examples (read in place, never copied)",
        shown="../shared/reference/pact",
    )
    pact_require_https: bool = _setting(
        "PCF_PACT_REQUIRE_HTTPS",
        flag,
        True,
        "the PACT host refuses plain HTTP (set 0 only for local tests or behind a TLS proxy that sets X-Forwarded-Proto)",
    )
    pact_token_seconds: int = _setting("PCF_PACT_TOKEN_SECONDS", int, 3600, "lifetime of a PACT access token")
    web_max_upload_mb: float = _setting(
        "PCF_WEB_MAX_UPLOAD_MB",
        float,
        10.0,
        "largest workbook the web platform accepts (refused above, nothing stored)",
    )
    web_session_idle_minutes: int = _setting(
        "PCF_WEB_SESSION_IDLE_MINUTES", int, 60, "a web session ends after this long without a request"
    )
    web_session_max_hours: int = _setting(
        "PCF_WEB_SESSION_MAX_HOURS", int, 12, "a web session ends this long after login, used or not"
    )
    web_login_attempts: int = _setting(
        "PCF_WEB_LOGIN_ATTEMPTS",
        int,
        5,
        "failed logins per account and address within 15 minutes; more are refused until the window passes",
    )
    web_allow_plain_http: bool = _setting(
        "PCF_WEB_ALLOW_PLAIN_HTTP",
        flag,
        False,
        "accept logins over plain HTTP from other hosts than localhost (tests only; in production a TLS proxy "
        "sets X-Forwarded-Proto: https)",
    )
    cert_review_share: float = _setting(
        "PCF_CERT_REVIEW_SHARE",
        float,
        0.05,
        "relative change of a certified product's footprint in a later release that flags its certificate for review",
    )
    match_threshold: float = _setting(
        "PCF_MATCH_THRESHOLD",
        float,
        0.6,
        "matcher score from which a line without factor_ref is matched automatically; below it the line waits for a steward's mapping",
    )
    max_kgco2e_per_declared_unit: float = _setting(
        "PCF_MAX_KGCO2E_PER_DECLARED_UNIT",
        float,
        1e7,
        "a product footprint above this is held as implausible (not published; reason in the restricted zone)",
    )
    lock_timeout_seconds: float = _setting(
        "PCF_LOCK_TIMEOUT_SECONDS",
        float,
        600.0,
        "how long a writer waits for another writer's lock before it stops with a message naming the lock",
    )
    sql_timeout_seconds: float = _setting(
        "PCF_SQL_TIMEOUT_SECONDS", float, 30.0, "analyst queries (`pcf sql`) are interrupted after this"
    )
    sql_memory_limit: str = _setting(
        "PCF_SQL_MEMORY_LIMIT", str, "2GB", "DuckDB memory limit of an analyst query's session"
    )
    sql_max_rows: int = _setting(
        "PCF_SQL_MAX_ROWS",
        int,
        100_000,
        "rows an analyst query returns at most (the rest is not fetched; the output says so)",
    )
    site_base_url: str = _setting(
        "PCF_SITE_BASE_URL", str, "https://pcf.example.org", "base URL of the disclosure site (the label's QR code)"
    )
    submitter: str = _setting(
        "PCF_SUBMITTER",
        str,
        "PCF Factor Warehouse (set PCF_SUBMITTER to the submitting organisation)",
        shown="placeholder",
        doc="submitting organisation written into the national package",
    )
    steward: str = _setting(
        "PCF_STEWARD", str, "", "who a steward decision is recorded for (default the login name; `--steward` overrides)"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "gwp_set", self.gwp_set.upper())
        if self.gwp_set not in GWP_SETS:
            raise ValueError(f"PCF_GWP_SET={self.gwp_set!r}: expected one of {', '.join(GWP_SETS)}")

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


# The settings of the Dagster run executing in this context (set by the `warehouse` resource for the run's
# duration, pipelines/resources.py), so that code deep below an asset sees the run's configuration.
_RUN_SETTINGS: ContextVar["Settings | None"] = ContextVar("pcf_run_settings", default=None)


def settings() -> Settings:
    """The current run's settings inside a Dagster run; elsewhere fresh from the environment each call (the
    environment may change between test cases)."""
    run = _RUN_SETTINGS.get()
    return run if run is not None else Settings()


# Read elsewhere, not settings of the warehouse: DAGSTER_HOME (Dagster's own; default <curated dir>/dagster),
# PCF_HOME (the data home of an installed wheel), PCF_FAULT (crash tests only), PCF_REQUIRE_SHARED and
# PCF_REQUIRE_CHROMIUM (CI: fail instead of skip).
OTHER_VARIABLES = {
    "DAGSTER_HOME": "Dagster's instance home (run storage: `pcf runs`, the UI, schedules); default `<PCF_CURATED_DIR>/dagster`",
    "PCF_HOME": "data home of an installed wheel (outside a checkout); default the working directory",
    "PCF_FAULT": "crash tests only: the process is killed at the named fault point",
    "PCF_REQUIRE_SHARED": "`1` in CI: tests needing the sources directory fail instead of skipping",
    "PCF_REQUIRE_CHROMIUM": "`1` in CI: the headless-browser test fails instead of skipping",
}


def settings_table() -> str:
    """The README's settings table, from the one list above."""
    from dataclasses import fields

    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = f.metadata["default"]
        shown = "unset" if default == "" else ("placeholder" if default == "placeholder" else f"`{default}`")
        lines.append(f"| `{f.metadata['env']}` | {shown} | {f.metadata['doc']} |")
    for env, doc in OTHER_VARIABLES.items():
        lines.append(f"| `{env}` | unset | {doc} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_table())

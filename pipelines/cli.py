"""`pcf`: the command line for what people do by hand. Dagster stays the orchestrator: `pcf build` launches one
run of the warehouse's assets (the job the schedule runs; one partition run per upload file before it) and
shows its progress from the run's event stream; it never bypasses Dagster."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipelines.asset_store import FrameStoreIOManager
from pipelines.common.processes import alive
from pipelines.common.terminal import Table, console
from pipelines.config import GWP_SETS, ensure_home, settings
from pipelines.runs import BUILD_TAG

app = typer.Typer(add_completion=False, no_args_is_help=True, help="PCF Factor Warehouse")
release_app = typer.Typer(no_args_is_help=True, help="Releases of the factor warehouse")
app.add_typer(release_app, name="release")


def _instance():
    from pipelines.runs import instance

    return instance(settings())


@app.command()
def build(
    gwp_set: Optional[str] = typer.Option(None, help=f"GWP100 set for this run: {', '.join(GWP_SETS)} (default AR6)"),
    sources_dir: Optional[Path] = typer.Option(
        None, help="Directory of external sources (default ../shared/data/sources)"
    ),
    repeat_last: bool = typer.Option(
        False, "--repeat-last", help="with the sources directory and GWP set of the last build (as a rebuild)"
    ),
    build_id: Optional[str] = typer.Option(
        None, "--build-id", hidden=True, help="tag for the run (the web platform follows its progress by it)"
    ),
) -> None:
    """Materialise every asset: sources -> validated -> harmonised (+ checks) -> release."""
    if repeat_last:
        previous = _last_options()
        gwp_set = gwp_set or previous.get("gwp_set") or _latest_gwp_set()
        sources_dir = sources_dir or (Path(previous["sources_dir"]) if previous.get("sources_dir") else None)
    if gwp_set and gwp_set.upper() not in GWP_SETS:
        console.print(f"[red]--gwp-set {gwp_set!r}: expected one of {', '.join(GWP_SETS)}[/red]")
        raise typer.Exit(2)
    import dagster as dg

    from pipelines.assets.enterprise import enterprise_upload, upload_files
    from pipelines.common.dagster_exec import materialize_uncaptured, metadata_of
    from pipelines.definitions import warehouse_assets, warehouse_checks
    from pipelines.resources import WarehouseResource

    # the options travel as the run's resource configuration (never written to the environment)
    warehouse = WarehouseResource(
        sources_dir=str(sources_dir.resolve()) if sources_dir else None, gwp_set=gwp_set.upper() if gwp_set else None
    )
    s = warehouse.settings()
    ensure_home(s)  # an installed wheel's new data home gets the embedded default data
    instance = _instance()
    resources = {"io_manager": FrameStoreIOManager(base_dir=str(s.asset_store_dir)), "warehouse": warehouse}
    console.print(f"sources: {s.sources_dir}  raw: {s.raw_dir}  GWP set: {s.gwp_set}")
    from pipelines.common.atomic import write_text

    # what a steward decision's rebuild uses (also after this build is held by a blocking check)
    write_text(
        _options_file(),
        json.dumps({"sources_dir": str(sources_dir.resolve()) if sources_dir else None, "gwp_set": s.gwp_set}),
    )
    _reclaim(instance, s)
    build_id = build_id or f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{os.getpid()}"
    tags = {BUILD_TAG: build_id, PID_TAG: str(os.getpid())}
    for path in _new_uploads(s):  # each new upload through its own partition
        _materialise_upload(path, instance)
    # One Dagster run for the whole warehouse (the job the schedule runs), its progress read from the run's
    # event stream while it runs.
    selection = dg.AssetSelection.all() - dg.AssetSelection.assets(enterprise_upload)
    total = len(warehouse_assets) - 1
    box: dict = {}

    def run() -> None:
        try:
            # outputs are not kept in memory for the run's length (pipelines/common/dagster_exec.py)
            box["result"] = materialize_uncaptured(
                [*warehouse_assets, *warehouse_checks],
                selection=selection,
                instance=instance,
                resources=resources,
                raise_on_error=False,
                tags=tags,
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
        except Exception as exc:  # a definition or configuration error: reported below
            box["error"] = exc

    worker = threading.Thread(target=run, name="pcf-build")
    worker.start()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("building", total=total)
        run_id: list[str] = []
        while worker.is_alive():
            # every two seconds: each look at the event log (~40 ms) holds the GIL the build's thread needs
            worker.join(2.0)
            done, last = _steps_done(instance, build_id, run_id)
            progress.update(
                task, completed=min(done, total), description=f"materialised {last}" if last else "building"
            )
    if "error" in box:
        console.print(f"the build could not run: {type(box['error']).__name__}: {box['error']}", style="red")
        raise typer.Exit(1)
    result = box["result"]
    for mat in result.get_asset_materialization_events():
        meta = mat.materialization.metadata
        if "status" in meta and meta["status"].value == "missing":
            console.print(f"[yellow]{mat.asset_key.to_user_string()}: {meta['message'].value}[/yellow]")
    for ev in result.get_asset_check_evaluations():
        blocking = ev.severity.value == "ERROR"
        colour = "green" if ev.passed else ("red" if blocking else "yellow")
        word = "passed" if ev.passed else ("FAILED" if blocking else "warning")
        why = f" ({ev.description})" if not ev.passed and ev.description else ""
        console.print(f"  check {ev.asset_key.to_user_string()}.{ev.check_name}: [{colour}]{word}[/{colour}]{why}")
    if not result.success:  # a blocking check or a step failed: nothing is published
        for event in result.all_events:
            if event.event_type_value == "STEP_FAILURE":
                error = event.event_specific_data.error
                console.print(
                    f"{event.step_key} failed: {error.message.strip().splitlines()[0] if error else ''}", style="red"
                )
        _print_held_changes()
        console.print("[yellow]The previous release stays current.[/yellow]")
        raise typer.Exit(1)
    _print_product_changes(_product_changes(result))
    outcome = metadata_of(result, "factor_release")
    console.print(f"release {outcome['version']}: {outcome['reason']}")
    if upload_files():
        _print_enterprise_summary()
    _print_status()


def _steps_done(instance, build_id: str, run_id: list[str]) -> tuple[int, str | None]:
    """Steps of the build's run that have finished so far, and the last one (from the run's event log).
    run_id: the run once found (kept by the caller: the run lookup by tag is not repeated)."""
    import dagster as dg

    if not run_id:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={BUILD_TAG: build_id}), limit=1)
        if not runs:
            return 0, None
        run_id.append(runs[0].run_id)
    events = instance.all_logs(run_id[0], of_type=dg.DagsterEventType.STEP_SUCCESS)
    return len(events), (events[-1].step_key if events else None)


def _print_held_changes() -> None:
    """Changes the release guard holds (written by the curation step): which source, how many, what to do."""
    from pipelines.curation.run import read_guard

    held = [c for c in read_guard(settings()) if c.get("held")]
    for c in held:
        console.print(
            f"release guard: {c['summary']}" + (f"; decided: {c['decision']}" if c.get("decision") else ""), style="red"
        )
    if held:
        console.print(
            "A steward decides: pcf review --flag release.guard, then pcf approve|reject --change SOURCE --reason ..."
        )


def _new_uploads(s) -> list[Path]:
    """Upload files not yet taken in (their content hash is not in the restricted registry). A file taken in
    before, through its partition or any other way, would only be answered "identical bytes: nothing to do"
    by its partition: one Dagster run each cost ~0.25 s, 50 s of every build at 200 uploads, most of a build
    at 10,000 (issue 20)."""
    from pipelines.assets.enterprise import upload_files
    from pipelines.enterprise import store
    from pipelines.enterprise.intake import upload_ids

    known = {e["upload_id"] for e in store.registry(s)}
    return [p for p, upload_id in upload_ids(s, upload_files()).items() if upload_id not in known]


def _materialise_upload(path: Path, instance) -> dict:
    from pipelines.enterprise.submit import materialise_upload

    return materialise_upload(path, instance)


def _latest_gwp_set() -> str | None:
    from pipelines.release.publish import latest_release

    return (latest_release(settings()) or {}).get("gwp_set")


def _rebuild() -> None:
    """After a steward decision, a withdrawal or an ingest: the whole build again, with the options of the last
    build (its sources directory and GWP set). Every blocking check runs again: no path publishes from stored
    (possibly check-failed) intermediate data."""
    build(gwp_set=None, sources_dir=None, repeat_last=True, build_id=None)


def _options_file() -> Path:
    return settings().curated_dir / "last_build_options.json"


def _last_options() -> dict:
    path = _options_file()
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        return {}


def _reclaim(instance, s) -> None:
    """Before a build: free what crashed builds left behind: the writer-pool slot of a run whose process is gone
    (it would make every later build wait at factor_release forever) and its intermediate data area."""
    import dagster as dg

    from pipelines.asset_store import reclaim

    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = (run.tags or {}).get(PID_TAG)
        if pid and not alive(int(pid)):
            instance.report_run_failed(run, f"its process {pid} is gone (killed); slot and data reclaimed")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            console.print(f"[yellow]reclaimed the pool slot of run {run.run_id[:8]} (process {pid} is gone)[/yellow]")
    removed = reclaim(s.asset_store_dir)
    if removed:
        console.print(f"[yellow]removed the intermediate data of {len(removed)} earlier build(s)[/yellow]")


PID_TAG = "pcf/pid"


def _product_changes(result) -> dict | None:
    for mat in result.get_asset_materialization_events():
        meta = mat.materialization.metadata
        if "product_changes" in meta:
            return meta["product_changes"].value
    return None


def _print_product_changes(changes: dict | None) -> None:
    """What the incremental product marts did: added, changed (old -> new), removed, carried over."""
    if not changes:
        return
    same = changes.get("recomputed_same_result", 0)
    console.print(
        f"products: {len(changes['added'])} added, {len(changes['changed'])} changed, "
        f"{len(changes['removed'])} removed, {changes['unchanged']} unchanged (rows carried over)"
        + (f", {same} recomputed with the same result (code or factor lineage changed)" if same else "")
    )
    for key in changes["added"]:
        console.print(f"  + {key}")
    for c in changes["changed"]:
        console.print(
            f"  ~ {c['product_key']}: {c['old_co2e_kg']:.6g} -> {c['new_co2e_kg']:.6g} kg CO2e per declared unit"
        )
    for key in changes["removed"]:
        console.print(f"  - {key}")


SUMMARY_ROWS = 20


def _print_enterprise_summary() -> None:
    from pipelines.enterprise import store

    s = settings()
    table = Table(title="enterprise uploads in force (restricted zone; values not shown)")
    for col in ("credit code", "year", "file", "status", "lines accepted", "quarantined"):
        table.add_column(col)
    current = store.current_uploads(s)
    for e in current[:SUMMARY_ROWS]:  # a terminal, not a register: thousands of rows would bury the outcome
        table.add_row(
            e["uscc"], str(e["reporting_year"]), e["file"], e["status"], str(e["accepted_lines"]), str(e["quarantined"])
        )
    console.print(table)
    if len(current) > SUMMARY_ROWS:
        console.print(
            f"... and {len(current) - SUMMARY_ROWS} more uploads in force; all of them: "
            f'duckdb -readonly {s.restricted_dir / "restricted.duckdb"} "select * from uploads where is_current"',
            highlight=False,
        )
    hold = s.restricted_dir / "inventory" / "product_hold.parquet"
    if hold.exists():  # products not published, and why (restricted: the steward's terminal)
        import polars as pl

        for key, reason in pl.read_parquet(hold).select("product_key", "reason").rows():
            console.print(f"[yellow]held, not published: {key}: {reason}[/yellow]")


def _print_status() -> None:
    from pipelines.release.catalog import ensure_catalog
    from pipelines.release.publish import latest_release

    s = settings()
    why = ensure_catalog(s)  # the catalogue says what the manifests say, whatever happened before
    if why:
        console.print(f"[yellow]catalogue rebuilt from the manifests: {why}[/yellow]")
    manifest = latest_release(s)
    if manifest is None:
        console.print("no release yet: run `pcf build`")
        return
    v = manifest["validation"]
    table = Table(
        title=f"latest release {manifest['version']} (parent {manifest['parent_version']}, {manifest['created_at']})"
    )
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("sha256")
    for name, info in manifest["tables"].items():
        table.add_row(name, str(info["rows"]), info["sha256"][:16])
    console.print(table)
    console.print(
        f"raw rows {v['raw_rows']} = curated {v['curated_raw_rows']} + quarantined {v['quarantined_raw_rows']}"
        f" ({'balanced' if v['balanced'] else 'NOT BALANCED'}); GWP set {manifest['gwp_set']}"
    )
    src = Table(title="sources (edition loaded and why; what the edition's files say of it)")
    for col in ("source_id", "version", "status", "authority", "edition loaded", "edition metadata"):
        src.add_column(col)
    for item in manifest["sources"]:
        meta = item.get("edition_meta") or {}
        facts = ", ".join(
            f"{k} {meta[k]}"
            for k in ("gwp_set", "data_year", "currency_year", "publication_date", "doi")
            if meta.get(k) is not None
        )
        unknown = [k for k in ("gwp_set", "data_year", "publication_date") if meta and meta.get(k) is None]
        src.add_row(
            item["source_id"],
            item["source_version"],
            item["status"],
            item.get("authority") or "",
            (meta.get("directory", "") + (f" ({meta['choice']})" if meta.get("choice") else ""))
            if meta
            else (item.get("message") or ""),
            facts + (f"; not stated: {', '.join(unknown)}" if unknown else ""),
        )
    console.print(src)
    console.print(f"SQL: duckdb -readonly {s.warehouse_path}  (schema latest)")


@app.command()
def status() -> None:
    """The current release: tables, row counts, sources, conservation."""
    _print_status()


@release_app.command("list")
def release_list() -> None:
    """Every release, oldest first."""
    from pipelines.release.publish import list_releases

    table = Table()
    for col in ("version", "parent", "created_at", "git", "gwp", "factors", "quarantine", "release_hash"):
        table.add_column(col)
    for m in list_releases(settings()):
        table.add_row(
            m["version"],
            str(m["parent_version"]),
            m["created_at"],
            m["git_commit"][:10],
            str(m["gwp_set"]),
            str(m["tables"]["factor"]["rows"]),
            str(m["tables"]["quarantine"]["rows"]),
            m["release_hash"][:12],
        )
    console.print(table)


@app.command()
def diff(
    old: str,
    new: str,
    limit: int = typer.Option(20, help="rows shown per section"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables"),
) -> None:
    """Factors added, removed and changed between releases OLD and NEW (e.g. v0001 v0002)."""
    from pipelines.release.publish import diff as release_diff
    from pipelines.release.publish import list_releases

    known = {m["version"] for m in list_releases(settings())}
    for v in (old, new):
        if v not in known:
            console.print(f"[red]release {v!r} not found; known: {', '.join(sorted(known)) or 'none'}[/red]")
            raise typer.Exit(2)
    result = release_diff(settings(), old, new)
    if as_json:
        out = {
            "old": old,
            "new": new,
            "counts": {k: v.height for k, v in result.items()},
            **{k: v.to_dicts() for k, v in result.items()},
        }
        print(json.dumps(out, ensure_ascii=False, default=str, indent=1))
        return
    counts = {k: v.height for k, v in result.items()}
    console.print(
        f"{old} -> {new}: {counts['added']} added ({counts['series']} of them the next year of a series), "
        f"{counts['removed']} removed, {counts['changed']} changed (published value, gases, unit or geography), "
        f"{counts['co2e_recomputed']} with only the CO2e recomputed (GWP set)"
    )
    sections = {
        "changed": (
            "factor_id",
            "source_id",
            "name",
            "old_published_co2e_kg",
            "new_published_co2e_kg",
            "old_unit_label",
            "new_unit_label",
            "changed_fields",
            "old_co2e_kg",
            "new_co2e_kg",
            "new_gwp_set",
        ),
        "series": (
            "factor_id",
            "source_id",
            "name",
            "previous_year",
            "previous_value",
            "year",
            "value",
            "unit_label",
            "relative_change",
        ),
        "added": ("factor_id", "source_id", "name_zh", "name_en", "reference_year", "co2e_kg", "unit"),
        "removed": ("factor_id", "source_id", "name_zh", "name_en", "reference_year", "co2e_kg", "unit"),
        "co2e_recomputed": (
            "factor_id",
            "source_id",
            "name",
            "old_co2e_kg",
            "new_co2e_kg",
            "old_gwp_set",
            "new_gwp_set",
        ),
    }
    for name, cols in sections.items():
        frame = result[name]
        console.print(f"{name}: {frame.height}", style="bold")
        if frame.height:
            table = Table(*cols)
            for row in frame.select(cols).head(limit).iter_rows():
                table.add_row(*["" if x is None else (f"{x:.6g}" if isinstance(x, float) else str(x)) for x in row])
            console.print(table)


@app.command()
def sql(
    query: Optional[str] = typer.Argument(None, help="one read-only query"),
    release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
    dialect: str = typer.Option(
        "duckdb", help="dialect the query is written in: duckdb, postgres, mysql, spark, trino"
    ),
    emit: Optional[str] = typer.Option(
        None, help="print the query (DuckDB SQL) for spark, trino or postgres instead of running it"
    ),
    model: Optional[str] = typer.Option(
        None, help="with --emit: a SQL model instead of a query, e.g. marts/product_footprint"
    ),
    limit: int = typer.Option(50, help="rows shown"),
) -> None:
    """Run a read-only SQL query against the warehouse (schema `latest`, or --release V), in any dialect."""
    from pipelines.release.analyst_sql import AnalystSqlError, run_query
    from pipelines.release.analyst_sql import emit as emit_sql

    try:
        if emit:
            if model:
                from pipelines.common.sqlmodels import model_path

                query = model_path(model).read_text(encoding="utf-8")
            if not query:
                raise AnalystSqlError("give a query or --model")
            print(emit_sql(query, emit))
            return
        if not query:
            raise AnalystSqlError("give a query")
        result = run_query(settings(), query, release=release, dialect=dialect)
        frame = result.frame
    except (AnalystSqlError, FileNotFoundError) as exc:
        console.print(str(exc), style="red")
        raise typer.Exit(2) from None
    # data is printed as plain text (pipelines/common/terminal.py): no markup interpreted, control characters visible
    table = Table(*frame.columns)
    for row in frame.head(limit).iter_rows():
        table.add_row(*["" if x is None else str(x) for x in row])
    console.print(table)
    console.print(
        f"{frame.height} rows"
        + (
            f" (the first {result.limits.max_rows}: more were not fetched, PCF_SQL_MAX_ROWS)"
            if result.truncated
            else ""
        )
    )


@app.command()
def template(
    path: Path = typer.Argument(..., help="where to write the workbook (.xlsx)"),
    example: Optional[str] = typer.Option(None, help="fill it with an example: aluminium_profile | nev_battery_pack"),
) -> None:
    """Write the enterprise data-collection template (Chinese headers, English sub-headers)."""
    from pipelines.enterprise.template import write_template

    try:
        written = write_template(path, example)
    except (ValueError, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"wrote {written}" + (f" (example: {example})" if example else ""))


def _after_decision() -> None:
    _rebuild()


from pipelines.curation.cli import register as _register_curation  # noqa: E402

_register_curation(app, console, _after_decision)

from pipelines.exports.cli import register as _register_exports  # noqa: E402

_register_exports(app, console)

from pipelines.reporting.cli import register as _register_reporting  # noqa: E402

_register_reporting(app, console)

from pipelines.matching.cli import register as _register_matching  # noqa: E402

_register_matching(app, console, _after_decision)

from pipelines.pact.cli import register as _register_pact  # noqa: E402

_register_pact(app, console)

from pipelines.certification.cli import register as _register_cert  # noqa: E402

_register_cert(app, console)

from pipelines.web.cli import register as _register_web  # noqa: E402

_register_web(app, console)

ingest_app = typer.Typer(no_args_is_help=True, help="Ingest uploads")
app.add_typer(ingest_app, name="ingest")


@ingest_app.command("enterprise")
def ingest_enterprise(
    file: Path = typer.Argument(..., help="an enterprise upload (.xlsx or .csv, UTF-8 or GBK)"),
) -> None:
    """Ingest one enterprise upload through its Dagster partition and print per-line results."""
    from pipelines.enterprise.intake import ingest_upload

    s = settings()
    if not file.is_file():
        console.print(f"[red]{file}: no such file[/red]")
        raise typer.Exit(2)
    try:
        from pipelines.enterprise.submit import keep_raw

        file = keep_raw(s, file)  # raw is immutable: the upload is kept under data/raw/enterprise/ as received
        instance = _instance()
        meta = _materialise_upload(file, instance)
        result = ingest_upload(file, s)  # already ingested by the asset: reads the stored outcome
        _rebuild()
    except typer.Exit:
        raise
    except Exception as exc:  # an unexpected failure still ends in a message, not a traceback
        console.print(f"[red]{file.name}: ingest failed: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    colour = {"accepted": "green", "partial": "yellow", "rejected": "red"}[result.status]
    console.print(
        f"{file.name}: [{colour}]{result.status}[/{colour}]  upload {result.upload_id}  "
        f"enterprise {result.uscc or '-'} year {result.reporting_year or '-'}  encoding {result.encoding}  "
        f"rows read {result.rows_read}  accepted {json.dumps(result.accepted)}  quarantined {len(result.quarantine)}"
    )
    if meta.get("already_ingested"):
        console.print("[dim]identical bytes were ingested before: nothing changed[/dim]")
    for issue in [*result.quarantine, *result.notices]:
        where = (
            " ".join(
                x
                for x in (
                    issue.sheet and f"sheet '{issue.sheet}'",
                    issue.row and f"row {issue.row}",
                    issue.column and f"column {issue.column}",
                )
                if x
            )
            or "file"
        )
        colour = "yellow" if issue.severity == "notice" else "red"
        console.print(
            f"  [{colour}]{issue.severity}[/{colour}] {where}: {issue.rule}\n"
            f"      {issue.message_zh}\n      {issue.message_en}",
            highlight=False,
        )
    if result.status == "rejected":
        console.print(
            "[yellow]Nothing from this file was taken in; the upload in force (if any) is unchanged.[/yellow]"
        )
        raise typer.Exit(1)


@app.command()
def verify(
    release: Optional[str] = typer.Option(None, "--release", help="one release (default: --all)"),
    all_releases: bool = typer.Option(True, "--all/--latest-only", help="every release (default)"),
    repair: bool = typer.Option(
        False,
        "--repair",
        help="restore what can be restored: damaged table files from sound objects, the catalogue, a cut log tail",
    ),
    skip_log_line: Optional[int] = typer.Option(
        None, help="acknowledge skipping this unreadable decision-log line (with --reason)"
    ),
    reason: Optional[str] = typer.Option(None, help="why, with --skip-log-line"),
    steward: Optional[str] = typer.Option(None, help="who (default: PCF_STEWARD or the login name)"),
) -> None:
    """Check every release's files against its manifest (SHA-256, rows), the parent chain, the catalogue and the
    decision log; name what is damaged, exit 1 if anything is (docs/architecture.md, Recovery)."""
    from pipelines.release.verify import verify as run_verify

    s = settings()
    if skip_log_line is not None:
        from pipelines.curation.decisions import DecisionError, acknowledge_bad_line, current_steward

        try:
            r = acknowledge_bad_line(s, skip_log_line, steward or current_steward(), reason or "")
        except (DecisionError, OSError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        console.print(f"decision-log line {r['line']} will be skipped (acknowledged by {r['steward']}: {r['reason']})")
    if release is None and not all_releases:
        from pipelines.release.publish import latest_release

        release = (latest_release(s) or {}).get("version")
    v = run_verify(s, release, repair=repair)
    for line in v.repaired:
        console.print(f"[yellow]repaired: {line}[/yellow]")
    for line in v.problems:
        console.print(f"[red]DAMAGED: {line}[/red]")
    console.print(f"checked {len(v.checked)} release(s): " + ("all sound" if v.ok else f"{len(v.problems)} problem(s)"))
    if not v.ok:
        raise typer.Exit(1)


@app.command()
def withdraw(
    upload_id: str = typer.Argument(..., help="upload id (pcf status lists the uploads in force)"),
    reason: str = typer.Option(..., "--reason", help="why (kept in withdrawals.jsonl)"),
    undo: bool = typer.Option(False, "--undo", help="reinstate a withdrawn upload"),
    steward: Optional[str] = typer.Option(None, help="who (default: PCF_STEWARD or the login name)"),
    apply_now: bool = typer.Option(True, "--apply/--no-apply", help="recompute and publish now"),
) -> None:
    """Take an upload out of force (or back in with --undo): logged, reversible, the files stay in the
    restricted zone; the upload before it for the same enterprise and year comes back into force."""
    from pipelines.curation.decisions import current_steward, now_utc
    from pipelines.enterprise import store

    s = settings()
    try:
        with store.locked(s):
            event = store.record_withdrawal(
                s, upload_id, "reinstate" if undo else "withdraw", reason, steward or current_steward(), now_utc()
            )
            store.rebuild_views(s)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{event['action']} {upload_id} by {event['by']}: {event['reason']}")
    if apply_now:
        _rebuild()


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()

"""Steward commands: pcf review, pcf approve | reject | override | deprecate, pcf runs.

A decision is appended to the log (data/raw/curation/decisions.jsonl) with the factor's content hash as
it is in the latest release, then the curated factors, inventories, marts and release are recomputed
from the stored harmonised factors through Dagster (unless --no-apply, to batch several decisions).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import polars as pl
import typer
from rich.console import Console

from pipelines.common.terminal import Table
from pipelines.config import settings


def _fmt(x) -> str:
    return "" if x is None else (f"{x:.6g}" if isinstance(x, float) else str(x))


def register(app: typer.Typer, console: Console, materialise_after_decision) -> None:

    def _queue(source: str | None, flag: str | None) -> tuple[Path, pl.DataFrame]:
        """The last run's review queue, narrowed to a source and a flag."""
        path = settings().curated_dir / "review" / "queue.parquet"
        if not path.exists():
            console.print("[yellow]no review queue yet: run `pcf build`[/yellow]")
            raise typer.Exit(2)
        q = pl.read_parquet(path)
        if source:
            q = q.filter(pl.col("source_id") == source)
        if flag:
            q = q.filter(pl.col("flags").str.contains(flag, literal=True))
        return path, q

    @app.command()
    def review(
        source: Optional[str] = typer.Option(None, help="only this source_id"),
        flag: Optional[str] = typer.Option(None, help="outlier | change.large | provenance.weak | quality.low"),
        geography: Optional[str] = typer.Option(None, help="geography code, e.g. 500000"),
        status: Optional[str] = typer.Option(None, help="steward status, e.g. pending"),
        search: Optional[str] = typer.Option(None, help="text in the name or reasons"),
        limit: int = typer.Option(30, help="rows shown"),
        detail: bool = typer.Option(False, "--detail", help="one block per factor with all the evidence"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """The review queue of the last run (also data/curated/review/index.html), filterable."""
        from pipelines.curation.queue import narrow

        path, q = _queue(source, flag)
        q = narrow(q, status=status or "", geography=geography or "", text=search or "")  # as the web queue
        if as_json:
            print(json.dumps(q.head(limit).to_dicts(), ensure_ascii=False, indent=1, default=str))
            return
        if detail:  # one block per factor: the evidence a steward needs
            for r in q.head(limit).iter_rows(named=True):
                console.print(
                    f"[bold]{r['factor_id']}[/bold]  {r['source_id']}  {r['name']}  ({r['geography_code']}, "
                    f"{r['reference_year']}, per {r['unit']}, {r['steward_status']})"
                )
                console.print(
                    f"  value: {_fmt(r['old_co2e_kg']) or '-'} -> {_fmt(r['new_co2e_kg'])} kg CO2e"
                    + (f" ({r['relative_change'] * 100:+.1f}%)" if r["relative_change"] is not None else "")
                )
                for label in ("reasons", "peers", "document", "locator", "url_or_doi", "stale_decision"):
                    if r[label]:
                        console.print(f"  {label}: {r[label]}")
            console.print(f"{q.height} factor(s) in the queue; page: {path.parent / 'index.html'}")
            return
        cols = ["factor_id", "source_id", "name", "geography_code", "new_co2e_kg", "unit", "flags"]
        table = Table(*cols, title=f"review queue: {q.height} factor(s) (--detail for the evidence)")
        for row in q.select(cols).head(limit).iter_rows():
            table.add_row(*[_fmt(x) for x in row])
        console.print(table)
        console.print(f"page: {path.parent / 'index.html'}")

    def _decide(
        action: str,
        factor_ids: list[str],
        reason: str,
        steward: Optional[str],
        apply_now: bool,
        value: float | None = None,
        unit: str | None = None,
        source_doc: str | None = None,
    ) -> None:
        from pipelines.curation.actions import decide
        from pipelines.curation.decisions import DecisionError, current_steward

        try:  # the same function the web platform's steward queue calls
            written = decide(
                settings(), action, factor_ids, reason, steward or current_steward(), value, unit, source_doc
            )
        except DecisionError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        for d in written[:20]:
            console.print(
                f"{d.action} {d.factor_id} by {d.steward}: recorded ({d.decision_id}, content "
                f"{d.content_sha256[:12]})"
                + (f" value {d.value_co2e_kg:.6g} kg CO2e/{d.unit}" if d.value_co2e_kg is not None else "")
            )
        if len(written) > 20:
            console.print(f"... {len(written)} decisions recorded in all")
        if apply_now:
            materialise_after_decision()
        else:
            console.print("recorded only: the next `pcf build` applies it")

    def _selected(
        factor_ids: list[str] | None,
        source: str | None,
        raw_file: str | None,
        flag: str | None,
        unflagged: bool,
        yes: bool,
    ) -> list[str]:
        """Factor ids given, or selected from the last review queue by source, raw file and flags (a
        steward who has checked a whole uploaded file decides on it at once; --yes confirms the count)."""
        filters = source or raw_file or flag or unflagged
        if factor_ids and filters:
            console.print("[red]give factor ids or queue filters, not both[/red]")
            raise typer.Exit(2)
        if factor_ids:
            return list(dict.fromkeys(factor_ids))
        if not filters:
            console.print(
                "[red]no factor: give factor ids, or select from the review queue with --source, "
                "--raw-file, --flag or --unflagged[/red]"
            )
            raise typer.Exit(2)
        from pipelines.release.publish import read_manifest, read_table

        _path, q = _queue(source, flag)
        q = q.filter(~pl.col("factor_id").str.starts_with("change:"))  # held changes: decided with --change
        if unflagged:
            q = q.filter(pl.col("flags") == "")
        if raw_file:
            s = settings()
            try:
                version = read_manifest(s)["version"]
            except FileNotFoundError as exc:
                console.print(f"[yellow]{exc}[/yellow]")
                raise typer.Exit(2) from None
            files = read_table(s, version, "factor_lineage").filter(
                (pl.col("raw_file") == raw_file) | pl.col("raw_file").str.ends_with("/" + raw_file)
            )
            q = q.filter(pl.col("factor_id").is_in(files["factor_id"].implode()))
        ids = q["factor_id"].to_list()
        if not ids:
            console.print("[yellow]no factor in the review queue matches[/yellow]")
            raise typer.Exit(1)
        if not yes:
            console.print(
                f"{len(ids)} factor(s) in the review queue match, e.g. {', '.join(ids[:5])}; "
                "add --yes to record a decision for each"
            )
            raise typer.Exit(2)
        return ids

    ids_arg = typer.Argument(None, help="factor id(s) from the latest release (or select with the options below)")
    source_opt = typer.Option(None, "--source", help="select from the review queue: this source_id")
    raw_file_opt = typer.Option(
        None, "--raw-file", help="select from the review queue: factors from this raw file (e.g. literature/paper.csv)"
    )
    flag_opt = typer.Option(None, "--flag", help="select from the review queue: factors with this flag")
    unflagged_opt = typer.Option(False, "--unflagged", help="select from the review queue: factors without flags")
    yes_opt = typer.Option(False, "--yes", help="confirm a selection made with the options above")
    reason_opt = typer.Option(..., "--reason", help="why (required; kept in the log)")
    steward_opt = typer.Option(None, help="who decides (default: PCF_STEWARD or the login name)")
    apply_opt = typer.Option(True, "--apply/--no-apply", help="recompute and publish now (default) or only record")

    change_opt = typer.Option(
        None,
        "--change",
        help="a change held by the release guard, by source_id "
        "(pcf review --flag release.guard): decide on it as a whole",
    )

    def _decide_change(action: str, source_id: str, reason: str, steward: Optional[str], apply_now: bool) -> None:
        """Approve or reject a change the release guard holds: bound to that change's signature."""
        from pipelines.curation.actions import decide_change
        from pipelines.curation.decisions import DecisionError, current_steward

        try:
            d, item = decide_change(settings(), action, source_id, reason, steward or current_steward())
        except DecisionError as exc:
            console.print(str(exc), style="red")
            raise typer.Exit(2) from None
        console.print(
            f"{action} {d.factor_id} by {d.steward}: recorded ({d.decision_id}); the change: {item['summary']}"
        )
        if apply_now:
            materialise_after_decision()
        else:
            console.print("recorded only: the next `pcf build` applies it")

    def _status_command(action: str, doc: str) -> None:
        def command(
            factor_ids: Optional[list[str]] = ids_arg,
            reason: str = reason_opt,
            source: Optional[str] = source_opt,
            raw_file: Optional[str] = raw_file_opt,
            flag: Optional[str] = flag_opt,
            unflagged: bool = unflagged_opt,
            yes: bool = yes_opt,
            change: Optional[str] = change_opt,
            steward: Optional[str] = steward_opt,
            apply_now: bool = apply_opt,
        ) -> None:
            if change:
                if factor_ids or source or raw_file or flag or unflagged:
                    console.print("[red]--change decides on a whole held change: give no factor ids or filters[/red]")
                    raise typer.Exit(2)
                _decide_change(action, change, reason, steward, apply_now)
                return
            _decide(action, _selected(factor_ids, source, raw_file, flag, unflagged, yes), reason, steward, apply_now)

        command.__doc__ = doc
        app.command(name=action)(command)

    _status_command("approve", "Approve factor(s) as they are now (a later change sends them back to the queue).")
    _status_command("reject", "Reject factor(s): not used in matching, never exported.")
    _status_command("deprecate", "Deprecate factor(s): superseded, kept for lineage, no longer used in matching.")

    @app.command()
    def override(
        factor_id: str = typer.Argument(...),
        value: float = typer.Option(..., help="the steward's value, kg CO2e per unit"),
        unit: Optional[str] = typer.Option(None, help="unit of --value if not the factor's own"),
        source: str = typer.Option(..., help="document the value comes from (required)"),
        reason: str = reason_opt,
        steward: Optional[str] = steward_opt,
        apply_now: bool = apply_opt,
    ) -> None:
        """Set a factor's CO2e value, with the reason and the source of the steward's value."""
        _decide("override", [factor_id], reason, steward, apply_now, value, unit, source)

    @app.command()
    def explain(
        line_id: str = typer.Argument(
            ..., help="line id of an upload or a reference model (e.g. P1, AL-6063-REF-EXAMPLE:L4)"
        ),
        product: Optional[str] = typer.Option(None, help="only the lines allocated to this product_id"),
        release: Optional[str] = typer.Option(None, help="release whose factors compete (default: latest)"),
        top: int = typer.Option(10, help="candidates shown"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Why a line gets its factor: the ranked candidates and the rule that decided (docs/factor_selection.md).
        Reads the restricted zone (stewards)."""
        from pipelines.matching.selection import CRITERIA, describe, explain_lines

        try:
            found = explain_lines(settings(), line_id, product, release)
        except FileNotFoundError as exc:
            console.print(str(exc), style="yellow")
            raise typer.Exit(2) from None
        if not found:
            console.print(f"no line {line_id!r} in the uploads in force or the reference models", style="red")
            raise typer.Exit(1)
        if as_json:
            keep = (
                "factor_id",
                "source_id",
                "authority",
                "name_zh",
                "name_en",
                "geography_code",
                "_step",
                "reference_year",
                "factor_purpose",
                "unit",
                "co2e_kg",
                "dqr",
                "_decided_by",
            )
            print(
                json.dumps(
                    [
                        {
                            **{k: v for k, v in e.items() if k != "ranked"},
                            "ranked": [{k: c.get(k) for k in keep} for c in e["ranked"][:top]],
                        }
                        for e in found
                    ],
                    ensure_ascii=False,
                    indent=1,
                    default=str,
                )
            )
            return
        for e in found:
            console.print(
                f"line {e['line_id']} of {e['upload_id']}: {e['item']!r} in {e['unit']}, {e['geography']}, "
                f"{e['reporting_year']}; {e['reached']} factor(s) reached by {e['method']}"
                + (f" {e['ref']!r}" if e["ref"] else "")
                + f"; release {e['release']}"
            )
            table = Table("rank", "factor", "place", "why ahead of the next", "kg CO2e / unit")
            for i, c in enumerate(e["ranked"][:top], start=1):
                table.add_row(str(i), describe(c), c["_step"], c["_decided_by"] or "", _fmt(c.get("co2e_kg")))
            console.print(table)
            console.print(f"chosen: {e['reason']}" + (f"; {e['note']}" if e["note"] else ""))
        console.print("precedence: " + " > ".join(CRITERIA))

    @app.command()
    def runs(
        last: int = typer.Option(10, help="how many runs"),
        as_json: bool = typer.Option(False, "--json", help="print the full summaries as JSON"),
    ) -> None:
        """Run summaries (scheduled runs and builds): status, rows, changes, failed checks, duration."""
        from pipelines.runs import instance, list_runs

        items = list_runs(instance(settings()), last=last)
        if as_json:
            print(json.dumps(items, ensure_ascii=False, indent=1, default=str))
            return
        table = Table(
            "run",
            "started",
            "status",
            "seconds",
            "rows in",
            "curated",
            "quarantined",
            "factors +/-/~",
            "products recomputed",
            "review queue",
            "checks failed",
        )
        for r in items:
            f = (r.get("release") or {}).get("factors") or {}
            table.add_row(
                r["run"],
                r.get("started_at") or "",
                r.get("status", ""),
                str(r.get("duration_seconds") or ""),
                _fmt((r.get("validation") or {}).get("rows_in")),
                _fmt((r.get("harmonised") or {}).get("factors")),
                _fmt((r.get("validation") or {}).get("quarantined")),
                "/".join(_fmt(f.get(k, 0)) for k in ("added", "removed", "changed")) if f else "",
                _fmt((r.get("products") or {}).get("recomputed")),
                _fmt((r.get("curation") or {}).get("review_queue")),
                ", ".join(r.get("checks_failed", [])),
            )
        console.print(table)

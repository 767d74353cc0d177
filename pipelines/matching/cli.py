"""pcf match | mappings | map: the text matcher against the current release, the mapping queue, and a
steward's confirmation of a mapping (docs/matching.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import polars as pl
import typer
from rich.console import Console

from pipelines.common.cli_errors import exit_on
from pipelines.common.terminal import Table
from pipelines.config import settings


def load_matcher(release: str | None = None):
    """The matcher over a release's factor and fuel_property tables (default: the current release)."""
    from pipelines.matching.matcher import Matcher
    from pipelines.release.manifests import latest_release, read_manifest, read_table

    s = settings()
    manifest = read_manifest(s, release) if release else latest_release(s)
    if manifest is None:
        raise FileNotFoundError("no release yet: run `pcf build` first")
    version = manifest["version"]
    fuel = read_table(s, version, "fuel_property") if "fuel_property" in manifest["tables"] else None
    return Matcher(read_table(s, version, "factor"), fuel), version


MATCH_OUT_COLUMNS = ["rank", "factor_id", "name_zh", "name_en", "activity_key", "unit", "score", "reason"]


def register(app: typer.Typer, console: Console, materialise_after_decision) -> None:
    @app.command()
    def match(
        text: Optional[str] = typer.Argument(None, help="an activity description as written, e.g. '0#柴油'"),
        unit: Optional[str] = typer.Option(None, help="the line's unit (t, L, 万Nm3, tce, kWh, t*km ...)"),
        geography: Optional[str] = typer.Option(None, help="where (CN-CQ, 500000, 重庆, CN ...)"),
        year: Optional[int] = typer.Option(None, help="the reporting year"),
        top: int = typer.Option(5, help="candidates to show"),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
        file: Optional[Path] = typer.Option(None, "--file", help="CSV with columns text, unit[, geography, year]"),
        out: Optional[Path] = typer.Option(None, "--out", help="CSV to write the ranked candidates of --file to"),
        release: Optional[str] = typer.Option(None, help="release version (default: the current one)"),
    ) -> None:
        """Ranked candidate factors for an activity description, with score and reason (or a file of them)."""
        from pipelines.matching.matcher import MatchUnitError

        if (text is None) == (file is None):
            console.print("[red]give a TEXT or --file (and --out), not both[/red]")
            raise typer.Exit(2)
        with exit_on(console, FileNotFoundError, MatchUnitError, ValueError):
            matcher, version = load_matcher(release)
            if file is not None:
                if out is None:
                    console.print("[red]--file needs --out[/red]")
                    raise typer.Exit(2)
                n, answered = _match_file(matcher, file, out, top)
                console.print(
                    f"{n} line(s) matched against release {version}: {answered} above the threshold "
                    f"{matcher.threshold:g}, {n - answered} for a steward; written to {out}"
                )
                return
            result = matcher.match(text or "", unit, geography, year, top)
        if as_json:
            print(
                json.dumps(
                    {
                        "text": text,
                        "unit": result.unit,
                        "release": version,
                        "confident": result.confident,
                        "threshold": matcher.threshold,
                        "concepts": result.concepts,
                        "note": result.note,
                        "candidates": [_candidate(i, c) for i, c in enumerate(result.candidates, start=1)],
                    },
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        if not result.candidates:
            console.print(f"no candidate: {result.note}", style="yellow")
            raise typer.Exit(1)
        table = Table("#", "factor", "name", "unit", "geo", "year", "source", "score", "reason")
        for i, c in enumerate(result.candidates, start=1):
            table.add_row(
                str(i),
                c.factor_id,
                c.name_zh or c.name_en or "",
                c.unit,
                c.geography_code or "",
                str(c.reference_year or ""),
                c.source_id,
                f"{c.score:.3f}",
                c.reason,
            )
        console.print(table)
        verdict = "used automatically" if result.confident else "below the threshold: a steward maps it"
        console.print(f"release {version}; threshold {matcher.threshold:g}: {verdict}")

    @app.command()
    def mappings(
        enterprise: Optional[str] = typer.Option(None, help="credit code (USCC) to narrow to"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """The mapping queue: lines no factor reference, name or confident match placed (restricted zone),
        with the matcher's best candidates; and the mappings stewards confirmed."""
        from pipelines.matching import mappings as log

        s = settings()
        path = s.restricted_dir / "inventory" / "mapping_queue.parquet"
        queue = pl.read_parquet(path) if path.exists() else pl.DataFrame()
        if enterprise and queue.height:
            queue = queue.filter(pl.col("uscc") == enterprise.strip().upper())
        confirmed = [m for m in log.read(s).values() if not enterprise or m.uscc == enterprise.strip().upper()]
        if as_json:
            print(
                json.dumps(
                    {"queue": queue.to_dicts(), "confirmed": [m.__dict__ for m in confirmed]},
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        table = Table("enterprise", "text", "unit", "lines", "best", "candidates")
        for r in queue.iter_rows(named=True):
            cands = json.loads(r["candidates"] or "[]")
            table.add_row(
                r["uscc"],
                r["text"],
                r["unit"],
                r["line_ids"],
                f"{r['best_score'] or 0:.2f}",
                " | ".join(f"{c['factor_id']} {c['name']} [{c['unit']}] {c['score']:.2f}" for c in cands),
            )
        console.print(table)
        console.print(
            f"{queue.height} awaiting a mapping; {len(confirmed)} confirmed "
            f"(pcf map --enterprise USCC --text TEXT --unit U --factor F --reason ...)"
        )

    @app.command("map")
    def map_(
        enterprise: str = typer.Option(..., help="credit code (USCC) of the enterprise that wrote the text"),
        text: str = typer.Option(..., help="the description exactly as in the upload"),
        unit: str = typer.Option(..., help="the line's unit as in the upload"),
        factor: Optional[str] = typer.Option(None, help="the factor id it means"),
        reason: str = typer.Option(..., help="why this factor"),
        remove: bool = typer.Option(False, "--remove", help="withdraw the mapping"),
        steward: Optional[str] = typer.Option(None, help="who (default: PCF_STEWARD or the login name)"),
        apply_now: bool = typer.Option(True, "--apply/--no-apply", help="recompute and publish now"),
    ) -> None:
        """Confirm (or withdraw) what an enterprise's description means; the next build uses it for the same
        text and unit of that enterprise (match_method steward_mapping)."""
        from pipelines.curation.decisions import current_steward
        from pipelines.matching import mappings as log

        if not remove and not factor:
            console.print("[red]--factor is required (or --remove)[/red]")
            raise typer.Exit(2)
        with exit_on(console, log.MappingError, FileNotFoundError):  # the same check the web platform makes
            try:
                log.confirm(settings(), enterprise, text, unit, factor, steward or current_steward(), reason, remove)
            except log.UnusableFactor as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
        console.print(
            f"{'withdrawn' if remove else 'mapped'}: {enterprise} '{text}' [{unit}]"
            + ("" if remove else f" -> {factor}")
        )
        if apply_now:
            materialise_after_decision()


def _candidate(rank: int, c) -> dict:
    return {
        "rank": rank,
        "factor_id": c.factor_id,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "activity_key": c.activity_key,
        "unit": c.unit,
        "geography": c.geography_code,
        "reference_year": c.reference_year,
        "source_id": c.source_id,
        "score": c.score,
        "reason": c.reason,
    }


def _match_file(matcher, file: Path, out: Path, top: int) -> tuple[int, int]:
    """Each row of `file` -> its `top` candidates as rows of `out` (formula-like text neutralised)."""
    from pipelines.common.parsing import read_csv_strings
    from pipelines.exports.spreadsheet import neutralise

    frame, _ = read_csv_strings(file, allow_gbk=True)
    if "text" not in frame.columns:
        raise ValueError(
            f"{file}: row 1: expected a column 'text' (and 'unit', optional 'geography', 'year'); "
            f"found {', '.join(frame.columns)}"
        )
    # the input's columns first (its `unit` as `line_unit`: the output's `unit` is the factor's)
    frame = frame.rename({c: f"line_{c}" for c in frame.columns if c in MATCH_OUT_COLUMNS + ["confident"]})
    extra = list(frame.columns)
    rows, answered = [], 0
    for n, r in enumerate(frame.iter_rows(named=True), start=2):
        year = (r.get("year") or "").strip()
        if year and not year.isdigit():
            raise ValueError(f"{file}: row {n}, column year: expected a year such as 2024, got {year!r}")
        res = matcher.match(
            r["text"] or "",
            (r.get("line_unit") or "").strip() or None,
            (r.get("geography") or "").strip() or None,
            int(year) if year else None,
            top,
        )
        answered += res.confident
        base = {c: r.get(c) for c in extra}
        if not res.candidates:
            rows.append({**base, "rank": None, "reason": res.note, "confident": False})
        for i, c in enumerate(res.candidates, start=1):
            cand = _candidate(i, c)
            rows.append({**base, **{k: cand[k] for k in MATCH_OUT_COLUMNS}, "confident": res.confident})
    columns = extra + MATCH_OUT_COLUMNS + ["confident"]
    table = (
        pl.DataFrame(
            [{c: row.get(c) for c in columns} for row in rows],
            schema_overrides={"rank": pl.Int64},
            infer_schema_length=None,
        )
        if rows
        else pl.DataFrame(schema={c: pl.String for c in columns})
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    neutralise(table).write_csv(out)
    return frame.height, answered

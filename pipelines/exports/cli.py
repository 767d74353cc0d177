"""pcf export national | pact | olca."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipelines.common.cli_errors import exit_on
from pipelines.config import settings


def register(app: typer.Typer, console: Console) -> None:
    export_app = typer.Typer(no_args_is_help=True, help="Export packages (national database, PACT, openLCA)")
    app.add_typer(export_app, name="export")

    @export_app.command("national")
    def national(
        out: Path = typer.Option(..., help="directory to write the package to"),
        release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
    ) -> None:
        """Approved, redistributable factors of a release for the national database, validated first."""
        from pipelines.exports.national import ExportValidationError, export
        from pipelines.exports.restricted import restricted_values

        s = settings()
        with exit_on(console, ExportValidationError, FileNotFoundError):
            package = export(s, out, release, restricted_values(s))
        console.print(
            f"wrote {out}: {package['factors']} factors from release {package['release']['version']} "
            f"(left out: {package['left_out']})"
        )

    @export_app.command("olca")
    def olca(
        out: Path = typer.Option(..., help="directory for the JSON-LD zip"),
        release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
    ) -> None:
        """Approved factors as openLCA JSON-LD process datasets, with the release's GWP100 as an LCIA method."""
        from pipelines.exports.olca import export

        with exit_on(console, FileNotFoundError):
            result = export(settings(), out, release)
        console.print(f"wrote {result['path']}: {result['processes']} processes from release {result['release']}")

    @export_app.command("pact")
    def pact(
        product_id: str = typer.Argument(..., help="product_id (or product_key) as in latest.product_footprint"),
        out: Path = typer.Option(..., help="directory for the JSON document"),
        release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
        spec_version: str = typer.Option("2.3", "--spec-version", help="2.3 (spec 2.3.0) or 3.0 (spec 3.0.0)"),
    ) -> None:
        """A PACT ProductFootprint for one product, validated against the official schema before writing."""
        from pipelines.exports.pact import PactExportError, export

        if spec_version not in ("2.3", "3.0"):
            console.print(f"[red]--spec-version {spec_version!r}: expected 2.3 or 3.0[/red]")
            raise typer.Exit(2)
        with exit_on(console, PactExportError):
            path = export(settings(), product_id, out, release, spec_version)
        console.print(f"wrote {path}")

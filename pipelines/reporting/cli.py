"""pcf report | label | site."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from pipelines.common.cli_errors import exit_on
from pipelines.config import settings


def register(app: typer.Typer, console: Console) -> None:

    @app.command()
    def report(
        product_id: str = typer.Argument(..., help="product_id (or product_key) as in latest.product_footprint"),
        lang: str = typer.Option("zh", help="zh or en"),
        out: Path = typer.Option(..., help="directory for the HTML and the PDF"),
        release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
    ) -> None:
        """The PCF report (GB/T 24067 template: six parts), HTML and PDF, from the marts of a release."""
        from pipelines.reporting.data import ReportError
        from pipelines.reporting.report import write_report

        with exit_on(console, ReportError):
            with console.status("writing the report"):
                r = write_report(settings(), product_id, lang, out, release)
        console.print(f"wrote {r['html']} and {r['pdf']} ({r['co2e_kg']:.4g} kg CO2e, release {r['version']})")

    @app.command()
    def label(
        product_id: str = typer.Argument(..., help="product_id (or product_key)"),
        out: Path = typer.Option(..., help="directory for the SVG and the PNG"),
        release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
    ) -> None:
        """The China PCF label (SVG, PNG) with a QR code to the product's disclosure page (PCF_SITE_BASE_URL)."""
        from pipelines.reporting.data import ReportError
        from pipelines.reporting.label import write_label

        with exit_on(console, ReportError):
            r = write_label(settings(), product_id, out, release)
        console.print(f"wrote {r['svg']} and {r['png']}; QR: {r['url']}")

    @app.command()
    def site(
        out: Path = typer.Option(..., help="directory for the static site"),
        release: Optional[str] = typer.Option(None, help="release version (default: latest)"),
    ) -> None:
        """The static disclosure site: a page per product, labels, a searchable factor catalogue."""
        from pipelines.reporting.data import ReportError, product_keys, resolve_version
        from pipelines.reporting.site import write_site

        s = settings()
        with exit_on(console, ReportError):
            version = resolve_version(s, release)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                console=console,
            ) as progress:
                task = progress.add_task("product pages", total=len(product_keys(s, version)))
                r = write_site(s, out, version, progress=lambda: progress.advance(task))
        console.print(
            f"wrote {r['index']}: {r['products']} product pages, {r['factors']} factors (release {r['version']})"
        )

"""pcf cert ...: every step of a certification, one command each (docs/certification.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipelines.common.cli_errors import exit_on
from pipelines.common.terminal import Table
from pipelines.config import settings


def register(app: typer.Typer, console: Console) -> None:
    from pipelines.certification import certificates as certs
    from pipelines.certification import workflow as wf

    cert_app = typer.Typer(no_args_is_help=True, help="Certification: applications, the five steps, certificates")
    app.add_typer(cert_app, name="cert")
    BY = typer.Option(..., "--by", help="who takes the step (auditor, decision maker, applicant)")
    WHY = typer.Option(..., "--reason", help="why: findings, grounds, the decision's basis")

    def done(a: wf.Application) -> None:
        console.print(
            f"{a.app_id}: {a.status()}" + (f" · certificate {a.certificate['number']}" if a.certificate else "")
        )

    @cert_app.command("submit")
    def submit(
        product: str = typer.Argument(..., help="product id or key (as in the release's marts)"),
        body: str = typer.Option(..., help="the certification body"),
        applicant: str = typer.Option(..., help="the applicant (producer)"),
        release: Optional[str] = typer.Option(None, help="release whose footprint is certified (default latest)"),
        renewal_of: Optional[str] = typer.Option(None, help="the application this one renews"),
        by: str = BY,
        reason: str = WHY,
    ) -> None:
        """Step 1: the applicant's commission (a new application)."""
        with exit_on(console, wf.CertificationError, FileNotFoundError):
            done(certs.submit(settings(), product, body, applicant, by, reason, release, renewal_of))

    @cert_app.command("attach")
    def attach(
        app_id: str,
        kind: str = typer.Option(..., help=", ".join(wf.CHECKLIST)),
        file: Path = typer.Option(..., exists=True, dir_okay=False, help="the document"),
        by: str = BY,
        reason: str = WHY,
    ) -> None:
        """Step 1: attach a checklist document (kept by content hash in the restricted zone)."""
        with exit_on(console, wf.CertificationError):
            digest = wf.store_document(settings(), file)
            done(
                wf.record(settings(), app_id, "attach", by, reason, {"kind": kind, "sha256": digest, "name": file.name})
            )

    def simple(action: str, doc: str):
        def command(app_id: str, by: str = BY, reason: str = WHY) -> None:
            with exit_on(console, wf.CertificationError):
                done(wf.record(settings(), app_id, action, by, reason))

        command.__doc__ = doc
        return command

    cert_app.command("accept")(
        simple("accept", "Step 1: accept the commission (every checklist item attached or waived).")
    )
    cert_app.command("suspend")(simple("suspend", "Step 5: suspend a certificate."))
    cert_app.command("reinstate")(simple("reinstate", "Step 5: reinstate a suspended certificate."))
    cert_app.command("withdraw")(simple("withdraw", "Withdraw a certificate."))
    cert_app.command("expire")(simple("expire", "Mark a certificate expired (it also expires by its date)."))

    @cert_app.command("waive")
    def waive(
        app_id: str, kind: str = typer.Option(..., help=", ".join(wf.CHECKLIST)), by: str = BY, reason: str = WHY
    ) -> None:
        """Step 1: waive a checklist document, with the reason."""
        with exit_on(console, wf.CertificationError):
            done(wf.record(settings(), app_id, "waive", by, reason, {"kind": kind}))

    @cert_app.command("review")
    def review(
        app_id: str,
        onsite: bool = typer.Option(True, "--onsite/--no-onsite", help="is an on-site check feasible"),
        focus: str = typer.Option("", help="what the on-site check focuses on"),
        by: str = BY,
        reason: str = WHY,
    ) -> None:
        """Step 2: document review (the reason holds the findings)."""
        with exit_on(console, wf.CertificationError):
            done(wf.record(settings(), app_id, "review", by, reason, {"onsite_feasible": onsite, "focus": focus}))

    @cert_app.command("verify")
    def verify(
        app_id: str,
        assurance: str = typer.Option(..., help="findings: the producer's assurance capability"),
        consistency: str = typer.Option(..., help="findings: product consistency"),
        footprint: str = typer.Option(..., help="findings: boundary, data quality, inventory, sources, factors"),
        sampled: str = typer.Option(..., help="the sampled units (serial numbers), comma-separated"),
        nc: list[str] = typer.Option([], help="a nonconformity: 'major|minor;finding;corrective action'"),
        by: str = BY,
        reason: str = WHY,
    ) -> None:
        """Step 3: on-site verification, findings per area and nonconformities."""
        ncs = []
        for item in nc:
            parts = [x.strip() for x in item.split(";")]
            if len(parts) != 3:
                console.print(f"[red]--nc {item!r}: expected 'severity;finding;corrective action'[/red]")
                raise typer.Exit(2)
            ncs.append({"severity": parts[0], "finding": parts[1], "corrective_action": parts[2]})
        data = {
            "areas": {
                "assurance_capability": assurance,
                "product_consistency": consistency,
                "footprint_verification": footprint,
            },
            "sampled_units": [x.strip() for x in sampled.split(",") if x.strip()],
            "nonconformities": ncs,
        }
        with exit_on(console, wf.CertificationError):
            done(wf.record(settings(), app_id, "verify", by, reason, data))

    @cert_app.command("close-nc")
    def close_nc(
        app_id: str, nc_id: str = typer.Option(..., "--id", help="NC1, NC2 ..."), by: str = BY, reason: str = WHY
    ) -> None:
        """Close a nonconformity (the corrective action verified)."""
        with exit_on(console, wf.CertificationError):
            done(wf.record(settings(), app_id, "close_nonconformity", by, reason, {"id": nc_id}))

    @cert_app.command("decide")
    def decide(
        app_id: str,
        outcome: str = typer.Option(..., help="certified or refused"),
        body_code: str = typer.Option("PCF", help="the body's code in certificate numbers"),
        by: str = BY,
        reason: str = WHY,
    ) -> None:
        """Step 4: evaluation and decision; a certificate for what conforms."""
        with exit_on(console, wf.CertificationError, FileNotFoundError):
            if outcome == "certified":
                done(certs.certify(settings(), app_id, by, reason, body_code))
            else:
                done(wf.record(settings(), app_id, "decide", by, reason, {"outcome": outcome}))

    @cert_app.command("surveil")
    def surveil(
        app_id: str,
        due: str = typer.Option(..., help="the visit's due date (YYYY-MM-DD)"),
        date: str = typer.Option(dt.date.today().isoformat(), help="the visit's date"),
        outcome: str = typer.Option(..., help="conforming or nonconforming (suspends)"),
        by: str = BY,
        reason: str = WHY,
    ) -> None:
        """Step 5: a surveillance visit during validity."""
        with exit_on(console, wf.CertificationError):
            done(wf.record(settings(), app_id, "surveil", by, reason, {"due": due, "date": date, "outcome": outcome}))

    @cert_app.command("renew")
    def renew(
        app_id: str,
        by: str = BY,
        reason: str = WHY,
        release: Optional[str] = typer.Option(None, help="release of the renewed footprint (default latest)"),
    ) -> None:
        """Renew: the old certificate is marked renewed and a new application starts at step 1."""
        with exit_on(console, wf.CertificationError, FileNotFoundError):
            old = wf.applications(settings()).get(app_id)
            if old is None:
                raise wf.CertificationError(f"no application {app_id}")
            wf.record(settings(), app_id, "renew", by, reason)
            done(certs.submit(settings(), old.product_key, old.body, old.applicant, by, reason, release, app_id))

    @cert_app.command("check")
    def check() -> None:
        """Flag certificates whose product the latest release computes differently (PCF_CERT_REVIEW_SHARE)."""
        flagged = certs.check_releases(settings())
        for f in flagged:
            console.print(f"{f['app_id']} {f['number']}: {f['why']}", style="yellow")
        console.print(f"{len(flagged)} certificate(s) flagged for review")

    @cert_app.command("list")
    def list_(body: Optional[str] = typer.Option(None, help="only this certification body's applications")) -> None:
        table = Table("application", "product", "body", "status", "certificate", "expiry", "flags")
        for a in sorted(wf.applications(settings()).values(), key=lambda a: a.app_id):
            if body and a.body != body:
                continue
            c = a.certificate or {}
            table.add_row(
                a.app_id,
                a.product_key,
                a.body,
                a.status(),
                c.get("number", ""),
                c.get("expiry_date", ""),
                str(len(a.flags)),
            )
        console.print(table)

    @cert_app.command("show")
    def show(app_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
        a = wf.applications(settings()).get(app_id)
        if a is None:
            console.print(f"[red]no application {app_id}[/red]")
            raise typer.Exit(1)
        history = [{k: e[k] for k in ("action", "by", "at", "why")} for e in a.history]
        view: dict = {
            "app_id": a.app_id,
            "product_key": a.product_key,
            "release": a.release,
            "body": a.body,
            "applicant": a.applicant,
            "status": a.status(),
            "documents": a.documents,
            "findings": a.findings,
            "nonconformities": a.nonconformities,
            "certificate": a.certificate,
            "surveillance": a.surveillance,
            "flags": a.flags,
            "renewal_of": a.renewal_of,
            "history": history,
        }
        if as_json:
            print(json.dumps(view, ensure_ascii=False, indent=1))
            return
        table = Table("step", "by", "at", "why")
        for e in history:
            table.add_row(e["action"], e["by"], e["at"], e["why"])
        console.print(table)
        done(a)

"""pact client add/list | pact grant | pact notify | pact pull (docs/pact.md); `pcf serve` is in pipelines/web/cli.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipelines.common.cli_errors import exit_on
from pipelines.common.terminal import Table
from pipelines.config import settings


def register(app: typer.Typer, console: Console) -> None:
    pact_app = typer.Typer(no_args_is_help=True, help="PACT data exchange: clients, grants, pulling from a host")
    client_app = typer.Typer(no_args_is_help=True, help="PACT clients (customers' systems)")
    app.add_typer(pact_app, name="pact")
    pact_app.add_typer(client_app, name="client")

    @client_app.command("add")
    def client_add(
        name: str = typer.Argument(..., help="the customer, e.g. 'Example GmbH procurement'"),
        events_url: Optional[str] = typer.Option(None, help="the customer's PACT events endpoint (pcf pact notify)"),
    ) -> None:
        """A new client id and secret (the secret is shown once; only its hash is kept)."""
        from pipelines.pact import access

        with exit_on(console, access.AccessError):
            cid, secret = access.add_client(settings(), name, events_url)
        console.print(f"client id: {cid}\nsecret:    {secret}\n(give both to the customer over a secure channel)")

    @client_app.command("list")
    def client_list() -> None:
        from pipelines.pact import access

        table = Table("client", "name", "created")
        for cid, c in sorted(access.clients(settings()).items()):
            table.add_row(cid, c["name"], c["created"])
        console.print(table)

    @pact_app.command("grant")
    def grant(
        enterprise: str = typer.Option(..., help="credit code (USCC) of the enterprise that shares"),
        client: str = typer.Option(..., help="client id"),
        product: str = typer.Option("*", help="product id, or * for all of the enterprise's products"),
        reason: str = typer.Option(..., help="why (contract, request ...)"),
        revoke: bool = typer.Option(False, "--revoke", help="withdraw the grant"),
        by: Optional[str] = typer.Option(None, help="who records it (default: PCF_STEWARD or the login name)"),
    ) -> None:
        """An enterprise's sharing grant: which client may see which of its products' footprints (logged)."""
        from pipelines.curation.decisions import current_steward
        from pipelines.pact import access

        with exit_on(console, access.AccessError):
            r = access.grant(settings(), enterprise, client, product, by or current_steward(), reason, revoke)
        console.print(f"{r['action']}: {r['uscc']} -> {r['client']} ({r['product_id']})")

    @pact_app.command("notify")
    def notify_cmd() -> None:
        """Tell each client with an events URL which granted footprints are new (Published events)."""
        from pipelines.pact.host import notify

        sent = notify(settings())
        for cid, ids in sent.items():
            console.print(f"{cid}: {len(ids)} footprint id(s) published")
        if not sent:
            console.print("nothing new to publish")

    @pact_app.command("pull")
    def pull_cmd(
        url: str = typer.Argument(..., help="base URL of a PACT host, e.g. https://pcf.example.org/pact"),
        client: str = typer.Option(..., help="client id at that host"),
        secret: str = typer.Option(..., envvar="PCF_PACT_CLIENT_SECRET", help="client secret"),
        spec_version: str = typer.Option("2.3", "--spec-version", help="2.3 or 3.0"),
        out: Optional[Path] = typer.Option(None, help="directory to write the documents to"),
    ) -> None:
        """Fetch every footprint these credentials may see from a PACT host and validate each one."""
        from pipelines.pact.client import PullError, pull

        with exit_on(console, PullError):
            try:
                docs, bad = pull(url, client, secret, spec_version)
            except Exception as exc:  # network errors of any kind: a message, not a traceback
                if isinstance(exc, PullError):
                    raise
                raise PullError(f"{url}: {exc}") from None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for d in docs:
                (out / f"{d['id']}.json").write_text(json.dumps(d, ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"{len(docs)} footprint(s) from {url}; {len(docs) - len(bad)} valid, {len(bad)} not")
        for pid, problems in bad.items():
            console.print(f"  {pid}: " + "; ".join(problems[:3]), style="red")
        if bad:
            raise typer.Exit(1)

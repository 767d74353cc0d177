"""pcf serve (the web platform with the PACT host) | pcf user add|list|disable|enable|password (docs/web.md)."""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.console import Console

from pipelines.common.cli_errors import exit_on
from pipelines.common.terminal import Table
from pipelines.config import settings


def _password(password_stdin: bool) -> str:
    if password_stdin:  # one line from standard input (scripts, CI): never an argument, never in the history
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise typer.BadParameter("the two passwords differ")
    return first


def register(app: typer.Typer, console: Console) -> None:
    user_app = typer.Typer(no_args_is_help=True, help="Accounts of the web platform (docs/web.md)")
    app.add_typer(user_app, name="user")

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="address to listen on (localhost by default)"),
        port: int = typer.Option(8000, help="port"),
    ) -> None:
        """The web platform and the PACT host in one process. Behind a TLS reverse proxy in production
        (docs/web.md)."""
        import uvicorn

        from pipelines.web.app import create_app

        # proxy headers are trusted from the loopback proxy only (uvicorn's forwarded_allow_ips default)
        uvicorn.run(create_app(), host=host, port=port, proxy_headers=True, log_level="info", workers=1)

    @user_app.command("add")
    def user_add(
        name: str = typer.Argument(..., help="login name"),
        role: str = typer.Option(..., help="enterprise | steward | analyst | certifier"),
        enterprise: Optional[str] = typer.Option(None, help="credit code (USCC) of an enterprise user's enterprise"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
    ) -> None:
        """A new account (the password is asked for twice, or read from standard input)."""
        from pipelines.curation.decisions import current_steward
        from pipelines.web import accounts, audit

        password = _password(password_stdin)
        with exit_on(console, accounts.AccountError):
            u = accounts.add_user(settings(), name, role, password, enterprise, by=current_steward())
        audit.record(
            settings(), current_steward(), "user.add", "cli", user=u.name, role=u.role, enterprise=u.enterprise
        )
        console.print(f"added {u.label}")

    @user_app.command("list")
    def user_list() -> None:
        from pipelines.web import accounts

        table = Table("user", "role", "enterprise", "status", "created")
        for u in accounts.list_users(settings()):
            table.add_row(u.name, u.role, u.enterprise or "", "disabled" if u.disabled else "active", u.created)
        console.print(table)

    def _toggle(name: str, disabled: bool) -> None:
        from pipelines.curation.decisions import current_steward
        from pipelines.web import accounts, audit

        with exit_on(console, accounts.AccountError):
            u = accounts.set_disabled(settings(), name, disabled, by=current_steward())
        audit.record(settings(), current_steward(), "user.disable" if disabled else "user.enable", "cli", user=name)
        console.print(
            f"{'disabled' if disabled else 'enabled'}: {u.label} (a running server ends its sessions at "
            f"its next request)"
        )

    @user_app.command("disable")
    def user_disable(name: str = typer.Argument(...)) -> None:
        """The account can no longer log in; its open sessions end."""
        _toggle(name, True)

    @user_app.command("enable")
    def user_enable(name: str = typer.Argument(...)) -> None:
        _toggle(name, False)

    @user_app.command("password")
    def user_password(
        name: str = typer.Argument(...),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
    ) -> None:
        """Set a new password."""
        from pipelines.curation.decisions import current_steward
        from pipelines.web import accounts, audit

        with exit_on(console, accounts.AccountError):
            accounts.set_password(settings(), name, _password(password_stdin), by=current_steward())
        audit.record(settings(), current_steward(), "user.password", "cli", user=name)
        console.print(f"password set for {name}")

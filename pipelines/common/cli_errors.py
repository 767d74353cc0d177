"""One way for a command to end on an expected error: the message in red and exit code 1, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console


@contextmanager
def exit_on(console: Console, *errors: type[BaseException]) -> Iterator[None]:
    """`errors` and any OSError (an --out that is a file, a full disk, no permission) end in a message."""
    try:
        yield
    except errors as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except OSError as exc:
        console.print(f"[red]cannot write or read {exc.filename or ''}: {exc.strerror or exc}[/red]")
        raise typer.Exit(1) from None

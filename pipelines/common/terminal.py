"""Terminal output that user data cannot break or steer.

Every `pcf` command prints through `console` and `Table` from here. Strings are plain text: only the
project's own style tags ([red] [green] [yellow] [bold] [dim] and their closers) are styles; any other
bracket (a product named "[/]", rich markup in a factor name) prints as written. Control characters,
terminal escape codes, bidi overrides and zero-width characters are shown as \\uXXXX, so data can
neither move the cursor nor reorder what a steward reads.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Column
from rich.table import Table as _RichTable
from rich.text import Text

_STYLE = re.compile(r"\[(/?)(red|green|yellow|bold|dim)\]")
_INVISIBLE = set("\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visible(text: str) -> str:
    """Control, bidi-override and zero-width characters as \\uXXXX; newlines and tabs kept."""
    return "".join(
        ch if (ch.isprintable() and ch not in _INVISIBLE) or ch in "\n\t" else f"\\u{ord(ch):04x}" for ch in text
    )


def plain(text: str) -> Text:
    """Our style tags become styles; everything else is literal, made visible."""
    out, pos = Text(), 0
    stack: list[str] = []
    for m in _STYLE.finditer(text):
        out.append(visible(text[pos : m.start()]), style=" ".join(stack) or None)
        if m.group(1):
            if m.group(2) in stack:
                stack.remove(m.group(2))
        else:
            stack.append(m.group(2))
        pos = m.end()
    out.append(visible(text[pos:]), style=" ".join(stack) or None)
    return out


class PlainConsole(Console):
    def print(self, *objects, **kwargs):
        kwargs.pop("markup", None)
        super().print(*[plain(o) if isinstance(o, str) else o for o in objects], markup=False, **kwargs)


class Table(_RichTable):
    """A rich table whose headers and cells are plain text (see module doc)."""

    def __init__(self, *headers, **kwargs):
        super().__init__(*[Column(header=Text(visible(h))) if isinstance(h, str) else h for h in headers], **kwargs)

    def add_column(self, header="", *args, **kwargs):
        super().add_column(Text(visible(header)) if isinstance(header, str) else header, *args, **kwargs)

    def add_row(self, *cells, **kwargs):
        super().add_row(*[Text(visible(c)) if isinstance(c, str) else c for c in cells], **kwargs)


console = PlainConsole()

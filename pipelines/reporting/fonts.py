"""The CJK font: Noto Sans CJK SC Regular (SIL Open Font License 1.1, which allows embedding and
redistribution), installed with the pinned PyPI package `mplfonts` (which also carries fonts this project
does not use). PDFs embed only the glyphs they use (subset)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONT_NAME = "Noto Sans CJK SC"
LICENCE = "SIL Open Font License 1.1"


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall the pinned `mplfonts` package (make venv)")
    return path


def subset_font(text: str) -> bytes:
    """The CJK font cut down to the characters of `text` (plus printable ASCII): pages carry their own
    font (a reader's machine may have no CJK font) at a fraction of the 16 MB."""
    import io

    from fontTools import subset

    options = subset.Options()
    options.name_IDs = ["*"]  # keep the names, licence and copyright notice included
    options.notdef_outline = True
    options.layout_features = ["*"]
    font = subset.load_font(str(cjk_font()), options)
    chars = set(text) | {chr(c) for c in range(32, 127)}
    sub = subset.Subsetter(options)
    sub.populate(unicodes=[ord(c) for c in sorted(chars)])
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def font_face_css(url: str) -> str:
    return f"@font-face{{font-family:'{FONT_NAME}';src:url('{url}') format('opentype');font-display:block}}"

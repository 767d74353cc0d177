"""The stage chart: a horizontal bar per life-cycle stage (kg CO2e per declared unit and share), as PNG
(report PDF) or SVG (pages), drawn with matplotlib and the CJK font; deterministic (no dates in files)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from pipelines.reporting.fonts import FONT_NAME, cjk_font  # noqa: E402

GREEN = "#2e7d32"


def _font() -> None:
    font_manager.fontManager.addfont(str(cjk_font()))
    plt.rcParams["font.family"] = FONT_NAME
    plt.rcParams["svg.fonttype"] = "none"  # text stays text in SVG (searchable)
    plt.rcParams["svg.hashsalt"] = "pcf"  # stable ids
    plt.rcParams["axes.unicode_minus"] = False


def stage_chart(labels: list[str], values: list[float], unit: str, fmt: str = "png") -> bytes:
    _font()
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * max(len(labels), 2) + 0.9), dpi=150)
    total = sum(values) or 1.0
    bars = ax.barh(labels[::-1], values[::-1], color=GREEN)
    for bar, v in zip(bars, values[::-1]):
        ax.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  {v:.3g} ({v / total:.1%})", va="center", fontsize=9
        )
    ax.set_xlabel(f"kg CO2e / {unit}")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(values + [0]) * 1.35 or 1)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    plt.close(fig)
    return buf.getvalue()

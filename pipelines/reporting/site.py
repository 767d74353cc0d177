"""The disclosure site: static pages generated from a release, no server needed.

  index.html               every product with its figure, declared unit and grade; a search box
  products/<slug>.html     one page per product (the QR code on its label opens it): footprint, stage
                           chart and table, declared unit, boundary, data quality, uncertainty, release,
                           the label
  labels/<id>.label.svg|png
  factors.html             a searchable catalogue of approved, redistributable factors (the national
                           package's selection), filtered in the browser; `#text` in the address pre-fills it

Only published, public data: the product marts (no quantities, no items, no suppliers, no enterprise
name or contact: those stay in the restricted zone) and the approved factors. Deterministic pages.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import polars as pl

from pipelines.common.templating import Markup, render
from pipelines.config import Settings
from pipelines.exports.national import approved_factors
from pipelines.reporting.chart import stage_chart
from pipelines.reporting.data import (
    STAGES,
    ProductData,
    product_keys,
    public_part,
    resolve_version,
    slug,
)
from pipelines.reporting.fonts import cjk_font, font_face_css, subset_font
from pipelines.reporting.label import LabelRefused, labelled, render_png, render_svg
from pipelines.reporting.labels import STAGE_NAMES

FONT_FILE = "assets/NotoSansCJKsc-subset.otf"

CSS = """body{font-family:"Noto Sans CJK SC","Noto Sans SC",system-ui,sans-serif;max-width:62rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}
h1{color:#1b5e20}a{color:#1b5e20}table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#eef5ee}.figure{font-size:2.6rem;color:#2e7d32;font-weight:bold}.stage{display:inline-block;padding:.3rem .6rem;
border:2px solid #2e7d32;border-radius:6px;margin:.15rem}.stage.out{border-color:#bbb;color:#999}.cols{display:flex;gap:2rem;flex-wrap:wrap}
input{font-size:1rem;padding:.4rem;width:22rem;font-family:inherit}#rows td:last-child{font-size:.8rem;color:#555}footer{margin-top:2rem;color:#666;font-size:.85rem}"""


def _style(depth: int) -> Markup:
    # our own CSS and font-face rule (no user text in them)
    return Markup(font_face_css("../" * depth + FONT_FILE) + CSS)


def product_page(d: ProductData, label_png: bytes | None) -> str:
    fp = d.footprint
    names = STAGE_NAMES["zh"]
    present = d.stages["stage"].to_list()
    svg = stage_chart(
        [f"{names.get(s, s)} {STAGE_NAMES['en'].get(s, s)}" for s in present],
        d.stages["co2e_kg"].to_list(),
        fp["declared_unit"],
        fmt="svg",
    ).decode("utf-8")
    chart = Markup(svg[svg.index("<svg") :])  # matplotlib's SVG: text nodes are XML-escaped by matplotlib
    return render(
        "site_product.html",
        title=f"{fp['product_name']} — 产品碳足迹",
        up="../",
        style=_style(1),
        fp=fp,
        boundary=[{"name": names[s], "present": s in present} for s in STAGES],
        bench=d.benchmark or {},
        version=d.version,
        created_at=d.created_at,
        label_b64=base64.b64encode(label_png).decode() if label_png else None,
        cert=d.certification,
        chart_svg=chart,
        stages=[
            {"zh": names.get(s, s), "en": STAGE_NAMES["en"].get(s, s), "co2e": c, "share": sh}
            for s, c, sh in d.stages.select("stage", "co2e_kg", "share").rows()
        ],
        sources="; ".join(f"{r['source_id']} {r['source_version']}" for r in d.sources.iter_rows(named=True)),
    )


def index_page(products: list[ProductData]) -> str:
    return render(
        "site_index.html",
        title="产品碳足迹 Product carbon footprints",
        up="",
        style=_style(0),
        products=[
            {
                "page": slug(d.key),
                "name": d.footprint["product_name"],
                "year": d.footprint.get("reporting_year"),
                "category": d.footprint["category"],
                "co2e": d.footprint["co2e_kg"],
                "declared_unit": d.footprint["declared_unit"],
                "grade": (d.benchmark or {}).get("grade"),
            }
            for d in products
        ],
    )


# what a public factor catalogue shows of a factor (the site's page and the web platform's search)
CATALOGUE_COLUMNS = [
    "factor_id",
    "name_zh",
    "name_en",
    "co2e_kg",
    "unit",
    "geography_code",
    "reference_year",
    "source_id",
    "document",
]


def factors_page(factors: pl.DataFrame, version: str) -> str:
    cols = CATALOGUE_COLUMNS
    shown = factors.with_columns(
        pl.col("co2e_kg").round_sig_figs(6),  # display: 2390, not 2389.9999999999995
        pl.col("unit").str.replace_all(r"\*\*", "").str.replace_all(r"\*", "·"),
    )
    return render(
        "site_factors.html",
        title="因子库 Factor catalogue",
        up="",
        style=_style(0),
        count=factors.height,
        version=version,
        rows=shown.select(cols).rows(),
    )


def write_site(settings: Settings, out: Path, version: str | None = None, progress=None) -> dict:
    version = resolve_version(settings, version)
    out = Path(out)
    (out / "products").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    keys = product_keys(settings, version)
    products = []
    for key in keys:
        d = public_part(settings, version, key)
        stem = slug(key)
        png = out / "labels" / f"{stem}.label.png"
        try:  # the label follows the certificate's status (a lapsed or refused certification: no label)
            shown = labelled(settings, d)
        except LabelRefused:
            shown = None
        if shown is not None:
            render_png(shown).save(png, format="PNG")  # rendered once: the file and the page's embedded copy
            (out / "labels" / f"{stem}.label.svg").write_text(render_svg(shown), encoding="utf-8")
            label = png.read_bytes()
        else:
            from pipelines.certification.certificates import status_for

            shown, label = dataclasses.replace(d, certification=status_for(settings, key)), None
            png.unlink(missing_ok=True)
            (out / "labels" / f"{stem}.label.svg").unlink(missing_ok=True)
        (out / "products" / f"{stem}.html").write_text(product_page(shown, label), encoding="utf-8")
        products.append(d)
        if progress:
            progress()
    (out / "index.html").write_text(index_page(products), encoding="utf-8")
    _manifest, _factor, factors, _ = approved_factors(settings, version)
    (out / "factors.html").write_text(factors_page(factors.sort("factor_id"), version), encoding="utf-8")
    # The pages carry their font: a subset of Noto Sans CJK SC with every character they use (OFL 1.1).
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.html")))
    text += "".join(p.read_text(encoding="utf-8") for p in sorted((out / "labels").glob("*.svg")))
    (out / "assets").mkdir(exist_ok=True)
    (out / FONT_FILE).write_bytes(subset_font(text))
    (out / "assets" / "FONT-LICENSE.txt").write_text(font_licence(), encoding="utf-8")
    return {"products": len(products), "factors": factors.height, "version": version, "index": out / "index.html"}


def font_licence() -> str:
    from fontTools.ttLib import TTFont

    names = TTFont(str(cjk_font()), lazy=True)["name"]
    get = lambda i: (names.getDebugName(i) or "").strip()  # noqa: E731
    return (
        f"assets/NotoSansCJKsc-subset.otf is a subset of {get(4)} ({get(5)}).\n{get(0)}\n\n"
        f"Licence: {get(13)}\n{get(14)}\n"
    )

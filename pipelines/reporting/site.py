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
import html
import json
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.exports.national import approved_factors
from pipelines.reporting.chart import stage_chart
from pipelines.reporting.data import STAGES, ProductData, product_keys, public_part, resolve_version, slug
from pipelines.reporting.label import render_png, render_svg
from pipelines.reporting.fonts import cjk_font, font_face_css, subset_font
from pipelines.reporting.labels import STAGE_NAMES

FONT_FILE = "assets/NotoSansCJKsc-subset.otf"

CSS = """body{font-family:"Noto Sans CJK SC","Noto Sans SC",system-ui,sans-serif;max-width:62rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}
h1{color:#1b5e20}a{color:#1b5e20}table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#eef5ee}.figure{font-size:2.6rem;color:#2e7d32;font-weight:bold}.stage{display:inline-block;padding:.3rem .6rem;
border:2px solid #2e7d32;border-radius:6px;margin:.15rem}.stage.out{border-color:#bbb;color:#999}.cols{display:flex;gap:2rem;flex-wrap:wrap}
input{font-size:1rem;padding:.4rem;width:22rem;font-family:inherit}#rows td:last-child{font-size:.8rem;color:#555}footer{margin-top:2rem;color:#666;font-size:.85rem}"""


def _page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{font_face_css(up + FONT_FILE)}{CSS}</style></head>
<body><nav><a href="{up}index.html">产品碳足迹 Product footprints</a> · <a href="{up}factors.html">因子库 Factor catalogue</a></nav>
{body}
</body></html>
"""


def product_page(d: ProductData, label_png: bytes) -> str:
    fp = d.footprint
    names = STAGE_NAMES["zh"]
    present = d.stages["stage"].to_list()
    svg = stage_chart([f"{names.get(s, s)} {STAGE_NAMES['en'].get(s, s)}" for s in present], d.stages["co2e_kg"].to_list(),
                      fp["declared_unit"], fmt="svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]
    rows = "".join(f"<tr><td>{html.escape(names.get(s, s))} / {html.escape(STAGE_NAMES['en'].get(s, s))}</td>"
                   f"<td>{c:.4g}</td><td>{sh * 100:.1f} %</td></tr>" for s, c, sh in d.stages.select("stage", "co2e_kg", "share").rows())
    boundary = " → ".join(f"<span class='stage{'' if s in present else ' out'}'>{'✓' if s in present else '—'} "
                          f"{html.escape(names[s])}</span>" for s in STAGES)
    bench = d.benchmark or {}
    label_b64 = base64.b64encode(label_png).decode()
    body = f"""<h1>{html.escape(fp['product_name'])}</h1>
<p>{html.escape(fp['product_id'])} · {html.escape(fp['category'] or '')} · 统一社会信用代码 {html.escape(fp['uscc'])}</p>
<div class="cols"><div>
<p class="figure" id="co2e">{fp['co2e_kg']:.4g} kg CO2e</p><p>每 per <b>{html.escape(fp['declared_unit'])}</b>（声明单位 declared unit）</p>
<table>
<tr><th>系统边界 System boundary</th><td>{boundary}</td></tr>
<tr><th>生物源 Biogenic</th><td>{fp['co2e_biogenic_kg']:.4g} kg CO2e</td></tr>
<tr><th>市场法 Market-based</th><td>{fp['co2e_market_kg']:.4g} kg CO2e</td></tr>
<tr><th>初级数据占比 Primary data share</th><td>{(fp['primary_data_share'] or 0) * 100:.1f} %</td></tr>
<tr><th>数据质量 DQR (1–5)</th><td>{fp['dqr']:.2f}</td></tr>
<tr><th>不确定性 P5–P95</th><td>{fp['co2e_p5_kg']:.4g} – {fp['co2e_p95_kg']:.4g} kg CO2e ({fp['mc_iterations']} Monte Carlo)</td></tr>
<tr><th>基准 Benchmark</th><td>{bench.get('benchmark_kgco2e') or '—'} · grade {bench.get('grade') or '—'}</td></tr>
<tr><th>方法 Method</th><td>GB/T 24067-2024 (ISO 14067), IPCC {fp['gwp_set']} GWP100</td></tr>
<tr><th>数据库版本 Release</th><td>{html.escape(d.version)} ({html.escape(d.created_at)})</td></tr>
</table></div>
<div><img alt="PCF label" width="240" src="data:image/png;base64,{label_b64}"></div></div>
<h2>各阶段 By stage</h2>
<figure id="stage-chart">{svg}</figure>
<table><tr><th>阶段 Stage</th><th>kg CO2e</th><th>占比 Share</th></tr>{rows}</table>
<footer>Computed by the PCF Factor Warehouse from release {html.escape(d.version)}; factor sources:
{html.escape('; '.join(f"{r['source_id']} {r['source_version']}" for r in d.sources.iter_rows(named=True)) or '—')}.</footer>"""
    return _page(f"{fp['product_name']} — 产品碳足迹", body, depth=1)


def index_page(products: list[ProductData]) -> str:
    rows = "".join(
        f"<tr><td><a href=\"products/{html.escape(slug(d.key), quote=True)}.html\">{html.escape(d.footprint['product_name'])}</a></td>"
        f"<td>{html.escape(d.footprint['category'] or '')}</td><td>{d.footprint['co2e_kg']:.4g}</td>"
        f"<td>{html.escape(d.footprint['declared_unit'])}</td><td>{(d.benchmark or {}).get('grade') or '—'}</td></tr>"
        for d in products)
    body = f"""<h1>产品碳足迹 Product carbon footprints</h1>
<p><input id="q" placeholder="搜索 search" oninput="f()"></p>
<table id="t"><thead><tr><th>产品 Product</th><th>类别 Category</th><th>kg CO2e</th><th>声明单位 Declared unit</th><th>等级 Grade</th></tr></thead>
<tbody>{rows}</tbody></table>
<script>function f(){{var q=document.getElementById('q').value.toLowerCase();document.querySelectorAll('#t tbody tr').forEach(function(r){{r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':''}})}}</script>"""
    return _page("产品碳足迹 Product carbon footprints", body)


def factors_page(factors: pl.DataFrame, version: str) -> str:
    cols = ["factor_id", "name_zh", "name_en", "co2e_kg", "unit", "geography_code", "reference_year", "source_id", "document"]
    shown = factors.with_columns(pl.col("co2e_kg").round_sig_figs(6),  # display: 2390, not 2389.9999999999995
                                 pl.col("unit").str.replace_all(r"\*\*", "").str.replace_all(r"\*", "·"))
    data = json.dumps(shown.select(cols).rows(), ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    body = f"""<h1>因子库 Factor catalogue</h1>
<p>{factors.height} approved, redistributable factors of release {html.escape(version)} (kg CO2e per unit).</p>
<p><input id="q" placeholder="名称、地区、来源 name, geography, source" oninput="f()"> <span id="n"></span></p>
<table><thead><tr><th>id</th><th>名称</th><th>Name</th><th>kg CO2e</th><th>unit</th><th>geo</th><th>year</th><th>source</th><th>document</th></tr></thead>
<tbody id="rows"></tbody></table>
<script id="data" type="application/json">{data}</script>
<script>var D=JSON.parse(document.getElementById('data').textContent);
function esc(s){{return String(s==null?'':s).replace(/[&<>]/g,function(c){{return{{'&':'&amp;','<':'&lt;','>':'&gt;'}}[c]}})}}
function f(){{var q=document.getElementById('q').value.toLowerCase(),out=[],n=0;
for(var i=0;i<D.length;i++){{var r=D[i];if(q&&r.join(' ').toLowerCase().indexOf(q)<0)continue;n++;if(out.length<200)out.push('<tr><td>'+r.map(esc).join('</td><td>')+'</td></tr>')}}
document.getElementById('rows').innerHTML=out.join('');document.getElementById('n').textContent=n+' match(es)'+(n>200?', first 200 shown':'')}}
document.getElementById('q').value=decodeURIComponent(location.hash.slice(1));f();</script>"""
    return _page("因子库 Factor catalogue", body)


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
        render_png(d).save(png, format="PNG")  # rendered once: the file and the page's embedded copy
        (out / "labels" / f"{stem}.label.svg").write_text(render_svg(d), encoding="utf-8")
        (out / "products" / f"{stem}.html").write_text(product_page(d, png.read_bytes()), encoding="utf-8")
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
    return (f"assets/NotoSansCJKsc-subset.otf is a subset of {get(4)} ({get(5)}).\n{get(0)}\n\n"
            f"Licence: {get(13)}\n{get(14)}\n")

"""The PCF report in the six parts of the GB/T 24067 report template: overview, purpose, scope, inventory
analysis, impact assessment, interpretation. One content model (blocks), two renderings: HTML and PDF
(fpdf2, Noto Sans CJK SC embedded as a subset). Every number comes from the named release's marts (and,
for the enterprise's own inventory table, its restricted inventory); the report states the release and
the factor sources so that anyone with the release can reproduce it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.common.templating import Markup, render
from pipelines.config import Settings
from pipelines.reporting.chart import stage_chart
from pipelines.reporting.data import (
    STAGES,
    ProductData,
    ReportError,
    enterprise_part,
    output_file,
    public_part,
    resolve_version,
)
from pipelines.reporting.fonts import cjk_font, font_face_css, subset_font
from pipelines.reporting.labels import STAGE_NAMES, T

SUGGESTIONS = {
    "energy": {
        "zh": "提高用电效率，增加绿电（绿证、直购电）比例；市场法结果单独报告。",
        "en": "Use less electricity per unit and buy more green power (certificates, direct supply); report market-based results separately.",
    },
    "fuel": {
        "zh": "提高燃烧设备效率，评估以电或低碳燃料替代化石燃料。",
        "en": "Raise combustion efficiency; assess electrification or lower-carbon fuels.",
    },
    "material": {
        "zh": "向供应商索取产品碳足迹（初级数据），提高再生料比例，优化材料利用率。",
        "en": "Ask suppliers for product-specific footprints (primary data), raise recycled content, cut material losses.",
    },
    "packaging": {"zh": "减量或改用可循环包装。", "en": "Reduce packaging or switch to reusable packaging."},
    "transport": {
        "zh": "优化运输方式与距离（铁路、水运、满载）。",
        "en": "Shift to rail or water, shorten routes, raise load factors.",
    },
    "refrigerant": {
        "zh": "减少制冷剂泄漏，改用低 GWP 制冷剂。",
        "en": "Cut refrigerant leaks; move to low-GWP refrigerants.",
    },
}


@dataclass
class Block:
    kind: str  # h1 | h2 | h3 | p | kv | table | image | boundary
    content: Any  # text, a table (head, rows), an image (png, caption) or a list, by kind


def _f(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def build_blocks(d: ProductData, lang: str) -> list[Block]:
    t, stage_name = T[lang], STAGE_NAMES[lang]
    fp, ent = d.footprint, d.enterprise
    unit = fp["declared_unit"]
    total = fp["co2e_kg"]
    na = t["not_given"]
    cert = (d.certification or {}).get("certificate") if (d.certification or {}).get("status") == "certified" else None
    # cover (the template's 封面): product, model, producer, report number, issuing body with its seal, date
    b: list[Block] = [Block("h1", f"{t['title']} — {fp['product_name']}")]
    b.append(
        Block(
            "kv",
            [
                (t["cover_product"], fp["product_name"]),
                (t["cover_model"], ent.get("model") or fp["product_id"]),
                (t["cover_producer"], ent.get("name", fp["uscc"])),
                (t["cover_number"], cert["number"] if cert else f"PCF-{d.version}-{fp['product_id']}"),
                (
                    t["cover_issuer"],
                    f"{cert['body']} {t['cover_seal']}"
                    if cert
                    else f"PCF Factor Warehouse (self-declared) {t['cover_seal']}",
                ),
                (t["cover_date"], d.created_at[:10]),
            ],
        )
    )
    b.append(Block("p", f"{_f(total, 5)} kg CO2e / {unit}   ({t['release']} {d.version}, {fp['gwp_set']})"))
    # 1 overview: producer, product, method
    b.append(Block("h2", t["s1"]))
    b.append(Block("h3", t["producer_info"]))
    b.append(
        Block(
            "kv",
            [
                (t["producer"], ent.get("name", fp["uscc"])),
                (t["credit_code"], fp["uscc"]),
                (t["address"], ent.get("address") or na),
                (t["legal_rep"], ent.get("legal_representative") or na),
                (t["contact"], ent.get("contact_name") or na),
                (t["phone"], ent.get("contact_phone") or na),
                (t["profile"], ent.get("company_profile") or na),
            ],
        )
    )
    b.append(Block("h3", t["product_info"]))
    b.append(
        Block(
            "kv",
            [
                (t["product_name"], f"{fp['product_name']} ({fp['product_id']})"),
                (t["cover_model"], ent.get("model") or na),
                (t["function"], ent.get("product_function") or na),
                (t["introduction"], ent.get("product_introduction") or na),
                (t["picture"], ent.get("product_picture") or na),
                (t["declared_unit"], unit),
            ],
        )
    )
    b.append(Block("h3", t["method_info"]))
    b.append(Block("kv", [(t["standards"], t["standards_text"]), (t["method"], t["method_text"])]))
    # 2 purpose
    b.append(Block("h2", t["s2"]))
    b.append(Block("p", t["purpose_text"]))
    # 3 scope
    present = [s for s in d.stages["stage"].to_list()]
    b.append(Block("h2", t["s3"]))
    period = (
        f"{ent.get('period_start')} – {ent.get('period_end')}"
        if ent.get("period_start")
        else str(ent.get("reporting_year") or "—")
    )
    b.append(
        Block(
            "kv",
            [
                (t["declared_unit"], unit),
                (t["stages_included"], ", ".join(stage_name.get(s, s) for s in present)),
                (t["cutoff"], t["cutoff_text"]),
                (t["cutoff_basis"], t["cutoff_basis_text"]),
                (t["period"], period),
            ],
        )
    )
    b.append(Block("h3", t["boundary_diagram"]))
    b.append(Block("boundary", [(stage_name[s], s in present) for s in STAGES]))
    # 4 inventory analysis
    b.append(Block("h2", t["s4"]))
    lines = d.lines if d.lines is not None else pl.DataFrame()
    if lines.height:
        primary = lines.filter(pl.col("data_type").is_in(["primary", "site_specific"])).height
        bases = sorted({x for x in lines["allocation_basis"].drop_nulls().to_list() if x not in ("none", "direct")})
    else:
        primary, bases = 0, []
    b.append(
        Block(
            "kv",
            [
                (
                    t["data_sources"],
                    f"{primary} / {lines.height} primary or site-specific lines"
                    if lang == "en"
                    else f"初级/现场数据 {primary} 行，共 {lines.height} 行",
                ),
                (t["primary_share"], f"{(fp['primary_data_share'] or 0) * 100:.1f} %"),
                (
                    t["primary_sources"],
                    ", ".join(sorted(set(lines["evidence_kind"].drop_nulls().to_list())))
                    if lines.height and "evidence_kind" in lines.columns
                    else t["producer"] + ": " + (ent.get("name") or fp["uscc"]),
                ),
                (
                    t["secondary_sources"],
                    "; ".join(f"{r['source_id']} {r['source_version']}" for r in d.sources.iter_rows(named=True))
                    or "—",
                ),
                (t["allocation"], "GB/T 24067 / ISO 14044 4.3.4"),
                (t["allocation_procedure"], ", ".join(bases) if bases else t["allocation_none"]),
            ],
        )
    )
    b.append(Block("h3", t["allocation_details"]))
    alloc_rows = (
        [
            [r["line_id"], r["allocation_basis"] or "—", f"{(r['allocation_share'] or 0) * 100:.2f} %"]
            for r in lines.iter_rows(named=True)
        ]
        if lines.height
        else []
    )
    b.append(Block("table", ([t["line"], t["allocation_basis"], t["allocation_share"]], alloc_rows)))
    b.append(Block("h3", t["table1"]))
    rows = []
    for r in lines.iter_rows(named=True):
        factor = {"supplier_specific": t["supplier_specific"], "supplier_product": t["supplier_product"]}.get(
            r["match_method"], r["factor_name"] or t["unmatched"]
        )
        co2e = r["co2e_kg_per_declared_unit"]
        rows.append(
            [
                r["line_id"],
                stage_name.get(r["stage"], r["stage"]),
                r["item"],
                f"{_f(r['amount_per_declared_unit'])} {r['factor_unit'] or r['unit']}",
                factor,
                f"{_f(r['factor_co2e_per_unit'])} kg CO2e/{r['factor_unit']}" if r["factor_unit"] else "—",
                r["factor_source_id"] or "—",
                _f(co2e),
            ]
        )
    b.append(
        Block(
            "table",
            (
                [
                    t["line"],
                    t["stage"],
                    t["activity"],
                    t["amount_du"],
                    t["factor"],
                    t["factor_value"],
                    t["source"],
                    t["ghg"],
                ],
                rows,
            ),
        )
    )
    # 5 impact assessment
    b.append(Block("h2", t["s5"]))
    b.append(Block("p", f"{t['gwp_set']}: IPCC {fp['gwp_set']} GWP100"))
    b.append(Block("h3", t["results_gas"]))
    gas_rows = [
        [g, _f(a), _f(w), _f(c)]
        for g, a, w, c in d.gases.sort("co2e_kg", descending=True).select("gas", "amount_kg", "gwp", "co2e_kg").rows()
    ]
    gas_rows.append([t["total"], "", "", _f(total, 5)])
    b.append(Block("table", ([t["gas"], t["amount"], t["gwp"], "kg CO2e"], gas_rows)))
    b.append(
        Block(
            "kv",
            [
                (t["total"], f"{_f(total, 5)} kg CO2e / {unit}"),
                (t["biogenic"], f"{_f(fp['co2e_biogenic_kg'])} kg CO2e"),
                (t["fossil"], f"{_f(fp['co2e_fossil_and_other_kg'])} kg CO2e"),
                (t["market"], f"{_f(fp['co2e_market_kg'])} kg CO2e"),
            ],
        )
    )
    # 6 interpretation
    b.append(Block("h2", t["s6"]))
    b.append(Block("h3", t["result_statement"]))
    present_names = [stage_name.get(s, s) for s in STAGES if s in present]
    b.append(
        Block(
            "p",
            t["statement"].format(
                producer=ent.get("name", fp["uscc"]),
                product=fp["product_name"],
                model=ent.get("model") or fp["product_id"],
                first=present_names[0] if present_names else "—",
                last=present_names[-1] if present_names else "—",
                value=_f(total, 5),
                unit=unit,
                release=d.version,
            ),
        )
    )
    b.append(Block("h3", t["table2"]))
    st_rows = [
        [stage_name.get(s, s), _f(c), f"{sh * 100:.1f} %"]
        for s, c, sh in d.stages.select("stage", "co2e_kg", "share").rows()
    ]
    st_rows.append([t["total"], _f(total, 5), "100 %"])
    b.append(Block("table", ([t["stage"], "kg CO2e", t["share"]], st_rows)))
    chart = stage_chart([stage_name.get(s, s) for s in d.stages["stage"]], d.stages["co2e_kg"].to_list(), unit)
    b.append(Block("image", (chart, t["figure2"])))
    b.append(Block("h3", t["significant"]))
    sig = d.contributions.filter(pl.col("significant")).sort("share", "line_id", descending=[True, False])
    # exact CO2e per line from the enterprise's own inventory (restricted); the release holds shares only
    exact = (
        dict(lines.group_by("line_id").agg(pl.col("co2e_kg_per_declared_unit").sum()).rows()) if lines.height else {}
    )
    b.append(
        Block(
            "table",
            (
                [t["line"], t["stage"], t["factor"], "kg CO2e", t["share"], t["why_factor"]],
                [
                    [
                        r["line_id"],
                        stage_name.get(r["stage"], r["stage"]),
                        {"supplier_specific": t["supplier_specific"], "supplier_product": t["supplier_product"]}.get(
                            r["match_method"], r["factor_name"] or "—"
                        ),
                        _f(exact.get(r["line_id"])),
                        f"{r['share'] * 100:.1f} %",
                        r.get("selection_rule") or "—",
                    ]
                    for r in sig.iter_rows(named=True)
                ],
            ),
        )
    )
    b.append(Block("h3", t["quality"]))
    bench = d.benchmark or {}
    b.append(
        Block(
            "kv",
            [
                (
                    t["dqr"],
                    f"{_f(fp['dqr'], 3)} (1–5; reliability {_f(fp['dq_reliability'], 2)}, completeness "
                    f"{_f(fp['dq_completeness'], 2)}, temporal {_f(fp['dq_temporal'], 2)}, geographical "
                    f"{_f(fp['dq_geographical'], 2)}, technological {_f(fp['dq_technological'], 2)})",
                ),
                (
                    t["uncertainty"],
                    f"P5 {_f(fp['co2e_p5_kg'])} / P50 {_f(fp['co2e_p50_kg'])} / P95 {_f(fp['co2e_p95_kg'])} kg CO2e "
                    f"({fp['mc_iterations']} iterations, seed {fp['mc_seed']})",
                ),
                (
                    t["benchmark"],
                    f"{_f(bench.get('benchmark_kgco2e'))} kg CO2e; {t['grade']} {bench.get('grade') or '—'}; "
                    f"{t['rank']} {bench.get('category_rank', '—')}/{bench.get('category_products', '—')}",
                ),
            ],
        )
    )
    b.append(Block("h3", t["assumptions"]))
    notes = []
    if fp["lines_unmatched"]:
        notes.append(
            f"{fp['lines_unmatched']} line(s) without a factor are not quantified."
            if lang == "en"
            else f"{fp['lines_unmatched']} 行清单未匹配到因子，未计入。"
        )
    notes.append(
        "Electricity: location-based grid factors (life-cycle where published); green power reported market-based separately."
        if lang == "en"
        else "电力按地点法（有全生命周期因子时优先使用），绿电按市场法单独报告。"
    )
    if (fp["dq_temporal"] or 0) > 3:
        notes.append(
            "Some factors are older than the data year (temporal score above 3)."
            if lang == "en"
            else "部分因子年份早于数据年份（时间代表性评分高于 3）。"
        )
    notes.append("Carbon content of the product is not inventoried." if lang == "en" else "未核算产品含碳量。")
    b.append(Block("p", " ".join(notes)))
    b.append(Block("h3", t["improvements"]))
    kinds = []
    for r in sig.iter_rows(named=True):
        kind = "material" if r["match_method"] in ("supplier_specific", "supplier_product") else r["kind"]
        if kind in SUGGESTIONS and kind not in kinds:
            kinds.append(kind)
    b.append(Block("p", " ".join(f"({i}) {SUGGESTIONS[k][lang]}" for i, k in enumerate(kinds, 1)) or "—"))
    b.append(Block("h3", t["reproduce"]))
    b.append(
        Block(
            "kv",
            [
                (t["release"], f"{d.version} ({d.created_at})"),
                (
                    t["factor_sources"],
                    "; ".join(f"{r['source_id']} {r['source_version']}" for r in d.sources.iter_rows(named=True))
                    or "—",
                ),
            ],
        )
    )
    return b


# ---------------------------------------------------------------------------------------------- HTML


def render_html(blocks: list[Block], lang: str) -> str:
    """Blocks through the autoescaping templates report_body.html and report.html (pipelines/templates)."""
    images = [base64.b64encode(b.content[0]).decode() if b.kind == "image" else "" for b in blocks]
    body = render("report_body.html", blocks=blocks, images=images)
    font = base64.b64encode(subset_font(body)).decode()  # the page carries its CJK font (subset, OFL 1.1)
    return render(
        "report.html",
        lang=lang,
        title=blocks[0].content,
        body=Markup(body),  # body: rendered escaped above
        font_css=Markup(font_face_css("data:font/otf;base64," + font)),
    )


# ----------------------------------------------------------------------------------------------- PDF


def render_pdf(blocks: list[Block], path: Path, created: str) -> Path:
    """`created`: the release's time, stamped as the PDF's creation date (the same release, the same bytes)."""
    import datetime as dt

    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime.fromisoformat(created))
    pdf.add_font("cjk", "", str(cjk_font()))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("cjk", size=10)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for blk in blocks:
        c = blk.content
        if blk.kind in ("h1", "h2", "h3"):
            size = {"h1": 17, "h2": 13, "h3": 11}[blk.kind]
            pdf.ln(2 if blk.kind == "h3" else 4)
            pdf.set_font("cjk", size=size)
            pdf.set_text_color(27, 94, 32)
            pdf.multi_cell(width, size * 0.55, c, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
            pdf.set_font("cjk", size=10)
        elif blk.kind == "p":
            pdf.multi_cell(width, 5.5, c, new_x="LMARGIN", new_y="NEXT")
        elif blk.kind in ("kv", "table"):
            head, rows = (None, [[k, str(v)] for k, v in c]) if blk.kind == "kv" else c
            pdf.set_font("cjk", size=8.5)
            widths = (30, 70) if blk.kind == "kv" else None
            with pdf.table(
                col_widths=widths,
                first_row_as_headings=head is not None,
                line_height=4.8,
                headings_style=FontFace(fill_color=(230, 242, 230)),
                text_align="LEFT",
            ) as table:
                if head:
                    table.row(head)
                for r in rows:
                    table.row([str(x) for x in r])
            pdf.set_font("cjk", size=10)
        elif blk.kind == "image":
            import io

            png, caption = c
            pdf.image(io.BytesIO(png), w=min(width, 150))
            pdf.set_font("cjk", size=8.5)
            pdf.cell(width, 5, caption, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("cjk", size=10)
        elif blk.kind == "boundary":
            box_w, gap, y = (width - 4 * 4) / 5, 4, pdf.get_y() + 1
            for i, (name, inc) in enumerate(c):
                x = pdf.l_margin + i * (box_w + gap)
                pdf.set_draw_color(46, 125, 50) if inc else pdf.set_draw_color(180, 180, 180)
                pdf.set_fill_color(232, 245, 233) if inc else pdf.set_fill_color(250, 250, 250)
                pdf.rect(x, y, box_w, 12, style="DF")
                pdf.set_xy(x, y + 1)
                pdf.set_font("cjk", size=8)
                pdf.set_text_color(0, 0, 0) if inc else pdf.set_text_color(150, 150, 150)
                pdf.multi_cell(box_w, 4.5, ("✓ " if inc else "— ") + name, align="C")
                if i < len(c) - 1:
                    pdf.set_draw_color(120, 120, 120)
                    pdf.line(x + box_w, y + 6, x + box_w + gap, y + 6)
            pdf.set_text_color(0, 0, 0)
            pdf.set_font("cjk", size=10)
            pdf.set_xy(pdf.l_margin, y + 15)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def write_report(settings: Settings, product: str, lang: str, out: Path, version: str | None = None) -> dict:
    if lang not in T:
        raise ReportError(f"--lang {lang!r}: expected zh or en")
    # a certified product's report is of the certified release by default: the report, the certificate and the
    # label then state the same number from the same release
    from pipelines.certification.certificates import status_for

    probe = public_part(settings, resolve_version(settings, version), product)
    cert = status_for(settings, probe.key)
    certified_release = (
        cert["certificate"]["release"] if cert and cert["status"] == "certified" and cert.get("certificate") else None
    )
    if certified_release and version is None:
        version = certified_release
    version = resolve_version(settings, version)
    data = enterprise_part(settings, public_part(settings, version, product))
    if certified_release and version == certified_release:
        data.certification = cert
    blocks = build_blocks(data, lang)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html_path = output_file(out, data.footprint["product_id"], f".{lang}.html")
    html_path.write_text(render_html(blocks, lang), encoding="utf-8")
    pdf_path = render_pdf(blocks, output_file(out, data.footprint["product_id"], f".{lang}.pdf"), data.created_at)
    return {
        "html": html_path,
        "pdf": pdf_path,
        "version": version,
        "co2e_kg": data.footprint["co2e_kg"],
        "product_key": data.key,
    }

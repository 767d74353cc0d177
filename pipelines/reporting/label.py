"""The China PCF label: green, a footprint motif, the figure in kg CO2e per declared unit, and under it a QR
code to the product's disclosure page (PCF_SITE_BASE_URL). SVG (text as text, QR as one path) and PNG
(drawn with Pillow at 4x, the CJK font embedded by rasterising), both deterministic.

Layout follows what the national guidance describes for the label (a green mark, "碳足迹" / "CARBON
FOOTPRINT", the value and unit, the QR code to the certification or disclosure record); the exact
artwork of an official mark is not reproduced.
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from pipelines.config import Settings
from pipelines.reporting.data import ProductData, ReportError, output_file, public_part, resolve_version
from pipelines.reporting.fonts import cjk_font

GREEN, LIGHT, WHITE = "#2e7d32", "#e8f5e9", "#ffffff"
W, H = 240, 340  # label size in SVG user units (px)
TOES = ((-10, -26, 5), (-3, -30, 4.2), (4, -30, 3.8), (10, -27, 3.3), (14, -22, 2.8))  # (dx, dy, r) from the sole
FEET = ((52, 58, 1.0, False), (84, 42, 0.85, True))  # (x, y, scale, mirrored)


def _figure(d: ProductData) -> tuple[str, str]:
    value = d.footprint["co2e_kg"]
    shown = f"{value:.4g}" if value < 1000 else f"{value:,.0f}"
    return shown, f"kgCO2e / {d.footprint['declared_unit']}"  # no subscript: the CJK font has no '₂'


def _foot(x: float, y: float, s: float, mirror: bool = False) -> str:
    """A footprint: a sole (ellipse) and five toes, as SVG shapes."""
    m = -1 if mirror else 1
    parts = [f"<ellipse cx='{x}' cy='{y}' rx='{11 * s}' ry='{19 * s}' fill='{WHITE}'/>"]
    parts += [f"<circle cx='{x + m * dx * s}' cy='{y + dy * s}' r='{r * s}' fill='{WHITE}'/>" for dx, dy, r in TOES]
    return "".join(parts)


def qr(d: ProductData) -> segno.QRCode:
    try:
        return segno.make(d.url, error="m", micro=False)
    except segno.DataOverflowError:
        raise ReportError(
            f"the QR code cannot hold the {len(d.url)}-character page URL {d.url[:80]}...: shorten PCF_SITE_BASE_URL"
        ) from None


def _standard_line(d: ProductData) -> str:
    """The standard, and the reporting year the figure is for (several years of a product can be in force)."""
    year = d.footprint.get("reporting_year")
    return f"GB/T 24067-2024 · {year}年度" if year else "GB/T 24067-2024"


def mark(d: ProductData) -> str:
    """What the label says of itself: certified (with the certificate number) only for a valid certificate,
    else self-declared (docs/certification.md)."""
    c = d.certification
    if c and c["status"] == "certified" and c.get("certificate"):
        return f"已认证 CERTIFIED {c['certificate']['number']}"
    return "自我声明 SELF-DECLARED"


class LabelRefused(ReportError):
    """No label: the product's certification is refused, suspended, withdrawn or expired."""


def labelled(settings: Settings, d: ProductData) -> ProductData:
    """The product as its label shows it: a valid certificate's frozen value and number; a product whose
    certification was refused, suspended, withdrawn or has expired gets no label (ReportError saying why);
    one that never applied (or is still in the process) is labelled self-declared with the release's value."""
    import dataclasses

    from pipelines.certification.certificates import status_for

    c = status_for(settings, d.key)
    if c is None or c["status"] in ("submitted", "accepted", "document_review", "onsite_verification", "renewed"):
        return dataclasses.replace(d, certification=c if c and c["status"] != "renewed" else None)
    if c["status"] != "certified":
        number = (c.get("certificate") or {}).get("number", c["app_id"])
        raise LabelRefused(
            f"no label for {d.key}: its certification is {c['status']} ({number}); the body decides "
            f"before a label is printed again"
        )
    cert = c["certificate"]
    return dataclasses.replace(d, certification=c, footprint={**d.footprint, "co2e_kg": cert["value_kgco2e"]})


def render_svg(d: ProductData) -> str:
    shown, unit = _figure(d)
    code = qr(d)
    size = 150
    scale = size / code.symbol_size(scale=1, border=2)[0]
    qr_svg = io.BytesIO()
    code.save(
        qr_svg, kind="svg", scale=scale, border=2, xmldecl=False, svgns=False, nl=False, dark="#000", light="#fff"
    )
    inner = qr_svg.getvalue().decode()
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Noto Sans CJK SC, Noto Sans SC, sans-serif">
<title>{html.escape(d.footprint["product_name"])}: {shown} {html.escape(unit)}</title>
<rect x="2" y="2" width="{W - 4}" height="{H - 4}" rx="16" fill="{WHITE}" stroke="{GREEN}" stroke-width="4"/>
<rect x="2" y="2" width="{W - 4}" height="118" rx="16" fill="{GREEN}"/>
<rect x="2" y="100" width="{W - 4}" height="20" fill="{GREEN}"/>
{"".join(_foot(x, y, s, m) for x, y, s, m in FEET)}
<text x="{W - 20}" y="50" text-anchor="end" font-size="26" fill="{WHITE}" font-weight="bold">碳足迹</text>
<text x="{W - 20}" y="72" text-anchor="end" font-size="11" fill="{WHITE}" letter-spacing="1">CARBON FOOTPRINT</text>
<text x="{W - 20}" y="90" text-anchor="end" font-size="8" fill="{WHITE}">{html.escape(mark(d))}</text>
<text x="{W / 2}" y="108" text-anchor="middle" font-size="10" fill="{LIGHT}">{html.escape(_standard_line(d))}</text>
<text x="{W / 2}" y="152" text-anchor="middle" font-size="34" fill="{GREEN}" font-weight="bold">{shown}</text>
<text x="{W / 2}" y="172" text-anchor="middle" font-size="12" fill="#333">{html.escape(unit)}</text>
<g transform="translate({(W - size) / 2},{H - size - 12})">{inner}</g>
</svg>
"""


def render_png(d: ProductData, zoom: int = 4) -> Image.Image:
    shown, unit = _figure(d)
    img = Image.new("RGB", (W * zoom, H * zoom), WHITE)
    dr = ImageDraw.Draw(img)
    z = zoom
    dr.rounded_rectangle(
        (2 * z, 2 * z, (W - 2) * z, (H - 2) * z), radius=16 * z, fill=WHITE, outline=GREEN, width=4 * z
    )
    dr.rounded_rectangle((2 * z, 2 * z, (W - 2) * z, 120 * z), radius=16 * z, fill=GREEN)
    dr.rectangle((2 * z, 100 * z, (W - 2) * z, 120 * z), fill=GREEN)
    for cx, cy, s, mirror in FEET:
        m = -1 if mirror else 1
        dr.ellipse(((cx - 11 * s) * z, (cy - 19 * s) * z, (cx + 11 * s) * z, (cy + 19 * s) * z), fill=WHITE)
        for dx, dy, r in TOES:
            x, y, rr = cx + m * dx * s, cy + dy * s, r * s
            dr.ellipse(((x - rr) * z, (y - rr) * z, (x + rr) * z, (y + rr) * z), fill=WHITE)
    font = lambda px: ImageFont.truetype(str(cjk_font()), px * z)  # noqa: E731
    dr.text(((W - 20) * z, 50 * z), "碳足迹", font=font(26), fill=WHITE, anchor="rs")
    dr.text(((W - 20) * z, 72 * z), "CARBON FOOTPRINT", font=font(11), fill=WHITE, anchor="rs")
    dr.text(((W - 20) * z, 90 * z), mark(d), font=font(8), fill=WHITE, anchor="rs")
    dr.text((W / 2 * z, 108 * z), _standard_line(d), font=font(10), fill=LIGHT, anchor="ms")
    dr.text((W / 2 * z, 152 * z), shown, font=font(34), fill=GREEN, anchor="ms")
    dr.text((W / 2 * z, 172 * z), unit, font=font(12), fill="#333333", anchor="ms")
    size = 150
    code = qr(d)
    buf = io.BytesIO()
    modules = code.symbol_size(scale=1, border=2)[0]
    code.save(buf, kind="png", scale=max(1, round(size * z / modules)), border=2)
    q = Image.open(buf).convert("RGB").resize((size * z, size * z), Image.Resampling.NEAREST)
    img.paste(q, (int((W - size) / 2 * z), int((H - size - 12) * z)))
    return img


def write_label(settings: Settings, product: str, out: Path, version: str | None = None) -> dict:
    version = resolve_version(settings, version)
    d = labelled(settings, public_part(settings, version, product))  # public data only: printed on the product
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    svg = output_file(out, d.footprint["product_id"], ".label.svg")
    svg.write_text(render_svg(d), encoding="utf-8")
    png = output_file(out, d.footprint["product_id"], ".label.png")
    render_png(d).save(png, format="PNG", optimize=False)
    return {"svg": svg, "png": png, "url": d.url, "version": version, "mark": mark(d)}

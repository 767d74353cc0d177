"""What people look at, seen as a person sees it: the report PDF rendered to PNG with its figures and
chart, the label's QR code decoded from the PNG, the disclosure site rendered in headless Chromium, and
nothing confidential in the site. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.exports.restricted import restricted_markers
from pipelines.reporting.data import page_url, slug
from tests.browser import FLAGS, chromium

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PACK = "LFP-PACK-61"


@pytest.fixture(scope="module")
def s(marts_release):
    ARTIFACTS.mkdir(exist_ok=True)
    return marts_release["settings"]


def _footprint(marts_release, product_id: str) -> dict:
    return marts_release["marts"]["product_footprint"].filter(pl.col("product_id") == product_id).row(0, named=True)


def _non_white_share(png: Path) -> float:
    from PIL import Image

    img = Image.open(png).convert("L")
    hist = img.histogram()
    return 1 - sum(hist[245:]) / (img.width * img.height)


@pytest.mark.parametrize(
    "lang, headings",
    [
        (
            "zh",
            [
                # the template's cover, six parts and every field it asks for (GB/T 24067-2024 report template)
                "产品名称",
                "规格型号",
                "生产者名称",
                "报告编号",
                "出具报告机构",
                "（盖章）",
                "日期",
                "一、概况",
                "生产者信息",
                "地址",
                "法定代表人",
                "联系人",
                "联系电话",
                "企业简介",
                "产品信息",
                "产品功能",
                "产品简介",
                "产品图片",
                "依据标准",
                "GB/T 24067-2024",
                "二、量化目的",
                "三、量化范围",
                "声明单位",
                "系统边界图",
                "取舍准则",
                "取舍依据",
                "时间范围",
                "四、清单分析",
                "初级数据来源",
                "次级数据来源",
                "分配方法与过程",
                "分配明细",
                "表1 生命周期清单（按阶段）",
                "活动数据",
                "排放因子",
                "因子值",
                "五、影响评价",
                "GWP 基准",
                "按气体的结果",
                "六、结果解释",
                "结果说明",
                "表2 各阶段碳足迹及占比",
                "图2 各阶段碳足迹",
                "显著贡献项",
                "假设与局限",
                "改进建议",
                "陈示例",
                "新能源汽车磷酸铁锂电池包",  # the producer's own fields from the collection template
            ],
        ),
        (
            "en",
            [
                "Product name",
                "Specification / model",
                "Producer",
                "Report number",
                "Issued by",
                "(seal)",
                "Date",
                "1 Overview",
                "1.1 Producer",
                "Legal representative",
                "Contact person",
                "Telephone",
                "Company profile",
                "1.2 Product",
                "Function",
                "Introduction",
                "Picture",
                "Standards",
                "2 Purpose of the quantification",
                "3 Scope of the quantification",
                "System boundary diagram",
                "Cut-off rule",
                "Basis of the cut-off",
                "Time period",
                "4 Inventory analysis",
                "Primary data sources",
                "Secondary data sources",
                "Allocation method and procedure",
                "Allocation details",
                "Table 1 Life-cycle inventory by stage",
                "Factor value",
                "5 Impact assessment",
                "Results by gas",
                "6 Interpretation",
                "Statement of results",
                "Table 2 Carbon footprint by stage",
                "Figure 2 Carbon footprint by stage",
                "Assumptions and limitations",
                "Improvement suggestions",
            ],
        ),
    ],
)
def test_report_pdf_and_html_show_the_six_parts_and_the_figures(s, marts_release, tmp_path, lang, headings):
    import pypdfium2 as pdfium

    from pipelines.reporting.report import write_report

    fp = _footprint(marts_release, PACK)
    r = write_report(s, PACK, lang, tmp_path)
    doc = pdfium.PdfDocument(str(r["pdf"]))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for h in headings:
        assert h in text, h
    assert f"{fp['co2e_kg']:.5g}" in text  # the total, as in the marts
    assert marts_release["result"].version in text  # the release that reproduces it
    assert "won on" in text or "the only candidate" in text  # why each significant factor was chosen
    images = sum(1 for i in range(len(doc)) for o in doc[i].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE)
    assert images >= 1  # the stage chart
    for i in range(len(doc)):
        png = ARTIFACTS / f"report-{PACK}-{lang}-p{i + 1}.png"
        doc[i].render(scale=1.5).to_pil().save(png)
        assert _non_white_share(png) > 0.005  # no blank page (the last one may hold a few lines)
    html = r["html"].read_text(encoding="utf-8")
    assert all(h in html for h in headings) and "data:image/png;base64," in html and "@font-face" in html
    again = write_report(s, PACK, lang, tmp_path / "again")
    assert again["pdf"].read_bytes() == r["pdf"].read_bytes()  # same release, same document


def test_label_qr_code_opens_the_product_page(s, marts_release, tmp_path, monkeypatch):
    import zxingcpp
    from PIL import Image

    from pipelines.reporting.label import write_label

    monkeypatch.setenv("PCF_SITE_BASE_URL", "https://pcf.cq.example.cn/disclosure")
    fp = _footprint(marts_release, "AP-6063")
    r = write_label(s, "AP-6063", tmp_path)
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(r["png"]))]
    assert decoded == [f"https://pcf.cq.example.cn/disclosure/products/{slug(fp['product_key'])}.html"] == [r["url"]]
    svg = r["svg"].read_text(encoding="utf-8")
    assert f"{fp['co2e_kg']:.4g}" in svg and "碳足迹" in svg and "kgCO2e / 1 kg" in svg
    shutil.copy(r["png"], ARTIFACTS / "label-AP-6063.png")
    assert write_label(s, "AP-6063", tmp_path / "again")["png"].read_bytes() == r["png"].read_bytes()


@pytest.fixture(scope="module")
def site(s, tmp_path_factory):
    from pipelines.reporting.site import write_site

    out = tmp_path_factory.mktemp("site")
    return out, write_site(s, out)


def test_site_pages_and_nothing_confidential(s, marts_release, site):
    out, result = site
    marts = marts_release["marts"]["product_footprint"]
    assert result["products"] == marts.height
    published = set(marts["product_name"]) | set(marts["uscc"])
    markers = [m for m in restricted_markers(s) if m not in published]
    assert "示例电芯厂" in markers and "pcf@example.com" in markers  # supplier, contact: in the zone, not public
    for path in out.rglob("*"):
        if path.suffix in (".html", ".svg", ".txt"):
            text = path.read_text(encoding="utf-8")
            for m in markers:
                assert m not in text, (path.name, m)
    # restricted line detail never reaches a page: the battery pack's item names and quantities
    lines = pl.read_parquet(s.restricted_dir / "inventory" / "line_emissions.parquet")
    pack = (out / "products" / f"{slug(marts.filter(pl.col('product_id') == PACK)['product_key'][0])}.html").read_text(
        encoding="utf-8"
    )
    for item in lines.filter(pl.col("product_id") == PACK)["item"]:
        assert item not in pack, item
    fp = _footprint(marts_release, PACK)
    assert f"{fp['co2e_kg']:.4g} kg CO2e" in pack and "<svg" in pack and "data:image/png;base64," in pack
    assert (out / "assets" / "NotoSansCJKsc-subset.otf").stat().st_size < 2_000_000
    assert "Open Font License" in (out / "assets" / "FONT-LICENSE.txt").read_text(encoding="utf-8")


_chromium = chromium
CHROMIUM_FLAGS = ["--headless", *FLAGS, "--allow-file-access-from-files"]


def test_site_in_headless_chromium(site, marts_release, tmp_path):
    chromium = _chromium()
    if not chromium:
        pytest.skip("Chromium not installed (the CI installs it)")
    out, _ = site
    marts = marts_release["marts"]["product_footprint"]
    key = marts.filter(pl.col("product_id") == PACK)["product_key"][0]
    run = lambda *args: subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],  # noqa: E731
        capture_output=True,
        text=True,
        timeout=120,
    )
    for name, url in (
        ("site-index", (out / "index.html").as_uri()),
        ("site-product", (out / "products" / f"{slug(key)}.html").as_uri()),
        ("site-factors-diesel", (out / "factors.html").as_uri() + "#diesel"),
    ):
        png = ARTIFACTS / f"{name}.png"
        run("--window-size=1280,1400", "--virtual-time-budget=5000", f"--screenshot={png}", url)
        assert png.exists() and _non_white_share(png) > 0.02, name
    dom = run("--virtual-time-budget=5000", "--dump-dom", (out / "products" / f"{slug(key)}.html").as_uri()).stdout
    fp = _footprint(marts_release, PACK)
    assert f"{fp['co2e_kg']:.4g} kg CO2e" in dom and "stage-chart" in dom
    dom = run("--virtual-time-budget=5000", "--dump-dom", (out / "factors.html").as_uri() + "#diesel").stdout
    assert "match(es)" in dom and dom.count("<tr>") > 2  # the search ran in the browser and found diesel factors
    assert page_url(key).endswith(f"/products/{slug(key)}.html")


@pytest.mark.parametrize(
    "key",
    [
        "product:91500000MA5U7XXXX/Q' onmouseover='alert(6)' x='",
        "product:X/../../../../tmp/x",
        "product:X/" + "A" * 5000,
        "product:X/GB\u202e001\u200b",
        "product:X/a\nb",
    ],
)
def test_page_names_from_user_ids_stay_safe(key):
    """Issue 14 #2/#3 (part): a product id becomes a page name that cannot leave an href or the output folder."""
    import re

    from pipelines.reporting.data import slug

    name = slug(key)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name), name
    assert slug(key) == name and slug(key + "x") != name
    assert slug("product:91500000MA5U7XXXX/GB-100") == "91500000MA5U7XXXX-GB-100"  # ordinary ids unchanged

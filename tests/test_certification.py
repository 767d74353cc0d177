"""Issue 17: an application walked through the five steps with the CLI, every illegal transition refused, a
certificate issued, suspended, expired; the label and the QR page follow the certificate's status; a later
release that moves the footprint flags the certificate instead of changing the label."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil

import pytest
from typer.testing import CliRunner

from pipelines.certification import workflow as wf
from pipelines.cli import app


@pytest.fixture
def zone(marts_release, tmp_path, monkeypatch):
    s = marts_release["settings"]
    curated = tmp_path / "curated"
    shutil.copytree(s.curated_dir, curated)
    s = dataclasses.replace(s, curated_dir=curated, restricted_dir=tmp_path / "restricted")
    shutil.copytree(marts_release["settings"].restricted_dir, s.restricted_dir)
    monkeypatch.setenv("PCF_CURATED_DIR", str(curated))
    monkeypatch.setenv("PCF_RESTRICTED_DIR", str(s.restricted_dir))
    monkeypatch.setenv("COLUMNS", "250")
    from pipelines.release.publish import read_table

    marts = read_table(s, marts_release["result"].version, "product_footprint")
    return s, marts, tmp_path


def cli(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code == 0, out.output
    return out.output


def refused(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code == 1, out.output
    return out.output


def _certify(s, product: str, tmp_path) -> str:
    by = ["--by", "auditor-li", "--reason"]
    out = cli(
        "cert",
        "submit",
        product,
        "--body",
        "CQC Chongqing",
        "--applicant",
        "示例铝业",
        "--by",
        "applicant-wang",
        "--reason",
        "commission signed 2025-03-01",
    )
    app_id = out.split(":")[0].strip()
    assert refused("cert", "accept", app_id, *by, "too early")  # documents missing
    doc = tmp_path / "licence.pdf"
    doc.write_bytes(b"%PDF-1.4 business licence")
    for kind in wf.CHECKLIST:
        if kind == "organisation_chart":
            cli("cert", "waive", app_id, "--kind", kind, *by, "single-site company: no chart")
        else:
            cli("cert", "attach", app_id, "--kind", kind, "--file", str(doc), *by, f"{kind} received")
    assert "review: not allowed while" in refused("cert", "review", app_id, *by, "skipping acceptance")
    cli("cert", "accept", app_id, *by, "documents complete")
    cli("cert", "review", app_id, "--focus", "electricity metering and allocation", *by, "documents consistent")
    assert "decide: not allowed" in refused("cert", "decide", app_id, "--outcome", "certified", *by, "no site visit")
    cli(
        "cert",
        "verify",
        app_id,
        "--assurance",
        "metering calibrated",
        "--consistency",
        "3 units match the model",
        "--footprint",
        "boundary and factors checked",
        "--sampled",
        "SN001,SN002,SN003",
        "--nc",
        "major;electricity meter M2 not calibrated;calibrate and re-read",
        *by,
        "site visit 2025-04-10",
    )
    assert "major nonconformity open (NC1)" in refused("cert", "decide", app_id, "--outcome", "certified", *by, "ok")
    cli("cert", "close-nc", app_id, "--id", "NC1", *by, "calibration certificate seen")
    cli(
        "cert",
        "decide",
        app_id,
        "--outcome",
        "certified",
        "--body-code",
        "CQC",
        "--by",
        "decider-zhao",
        "--reason",
        "conforms to GB/T 24067-2024",
    )
    return app_id


def test_an_application_walks_through_every_step_and_refuses_illegal_ones(zone):
    s, marts, tmp_path = zone
    product = marts["product_key"][0]
    app_id = _certify(s, product, tmp_path)
    a = wf.applications(s)[app_id]
    cert = a.certificate
    assert a.status() == "certified" and cert["number"].startswith("CQC-PCF-") and cert["standard"] == "GB/T 24067-2024"
    assert cert["value_kgco2e"] == pytest.approx(marts.filter(marts["product_key"] == product)["co2e_kg"][0])
    assert cert["release"] == a.release and cert["declared_unit"] and cert["body"] == "CQC Chongqing"
    assert dt.date.fromisoformat(cert["expiry_date"]) > dt.date.fromisoformat(cert["issue_date"])
    # documents are stored by content, once
    stored = list((s.restricted_dir / "certification" / "documents").iterdir())
    assert len(stored) == 1 and a.documents["organisation_chart"] == {"waived": "single-site company: no chart"}
    # surveillance: a nonconforming visit suspends; reinstate; withdraw is final
    by = ["--by", "auditor-li", "--reason"]
    cli("cert", "surveil", app_id, "--due", "2026-04-10", "--outcome", "conforming", *by, "annual visit ok")
    cli("cert", "surveil", app_id, "--due", "2027-04-10", "--outcome", "nonconforming", *by, "process changed")
    assert wf.applications(s)[app_id].status() == "suspended"
    assert "surveil: not allowed while" in refused(
        "cert", "surveil", app_id, "--due", "2027-05-01", "--outcome", "conforming", *by, "while suspended"
    )
    cli("cert", "reinstate", app_id, *by, "corrective action verified")
    shown = json.loads(cli("cert", "show", app_id, "--json"))
    assert [h["action"] for h in shown["history"]][:2] == ["submit", "attach"] and shown["status"] == "certified"
    assert all(h["by"] and h["at"] and h["why"] for h in shown["history"])  # who, when, why: every step
    cli("cert", "withdraw", app_id, *by, "producer ceased the model")
    assert "reinstate: not allowed while" in refused("cert", "reinstate", app_id, *by, "undo")
    log = (s.restricted_dir / "certification" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == len(shown["history"]) + 1  # append-only: nothing rewritten


def test_label_and_qr_page_follow_the_certificate(zone):
    from pipelines.certification.certificates import check_releases
    from pipelines.reporting.data import ReportError
    from pipelines.reporting.label import write_label
    from pipelines.reporting.site import write_site

    s, marts, tmp_path = zone
    product = marts["product_key"][0]
    other = marts["product_key"][1]
    # never applied: self-declared
    assert write_label(s, other, tmp_path / "l0")["mark"] == "自我声明 SELF-DECLARED"
    app_id = _certify(s, product, tmp_path)
    number = wf.applications(s)[app_id].certificate["number"]
    label = write_label(s, product, tmp_path / "l1")
    assert label["mark"] == f"已认证 CERTIFIED {number}" and number in label["svg"].read_text(encoding="utf-8")
    site = tmp_path / "site"
    write_site(s, site)
    from pipelines.reporting.data import slug

    page = (site / "products" / f"{slug(product)}.html").read_text(encoding="utf-8")
    assert number in page and ">certified<" in page and "CQC Chongqing" in page
    # the certificate expires by its date: the label is refused, the page says expired
    expired = wf.applications(s, today=dt.date(2100, 1, 1))[app_id]
    assert expired.status(dt.date(2100, 1, 1)) == "expired"
    cli("cert", "suspend", app_id, "--by", "auditor-li", "--reason", "complaint under investigation")
    with pytest.raises(ReportError, match="suspended"):
        write_label(s, product, tmp_path / "l2")
    write_site(s, site)
    page = (site / "products" / f"{slug(product)}.html").read_text(encoding="utf-8")
    assert ">suspended<" in page and not (site / "labels" / f"{slug(product)}.label.png").exists()
    cli("cert", "reinstate", app_id, "--by", "auditor-li", "--reason", "complaint unfounded")
    # a later release moving the footprint flags the certificate; the label keeps the certified value
    a = wf.applications(s)[app_id]
    assert check_releases(s, share=0.05) == []  # same release: nothing moved
    frozen = dict(a.certificate)
    shifted = dict(frozen, value_kgco2e=frozen["value_kgco2e"] * 1.2)
    wf.record(s, app_id, "flag", "test", "pretend", {"release": "x"})  # a flag is an event like any other
    log = s.restricted_dir / "certification" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    decide = next(i for i, x in enumerate(lines) if json.loads(x)["action"] == "decide")
    event = json.loads(lines[decide])
    event["data"]["certificate"] = shifted  # as if the release had computed 20 % less than certified
    lines[decide] = json.dumps(event, ensure_ascii=False, sort_keys=True)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    flagged = check_releases(s, share=0.05)
    assert len(flagged) == 1 and "more than 5%" in flagged[0]["why"]
    assert check_releases(s, share=0.05) == []  # once per release
    svg = write_label(s, product, tmp_path / "l3")["svg"].read_text(encoding="utf-8")
    assert f"{shifted['value_kgco2e']:.4g}" in svg  # the certified value, not the release's


def test_renewal_starts_a_new_application_and_marks_the_old(zone):
    s, marts, tmp_path = zone
    product = marts["product_key"][0]
    app_id = _certify(s, product, tmp_path)
    out = cli("cert", "renew", app_id, "--by", "applicant-wang", "--reason", "renewal before expiry")
    new_id = out.strip().splitlines()[-1].split(":")[0].strip()
    apps = wf.applications(s)
    assert apps[app_id].status() == "renewed" and apps[new_id].renewal_of == app_id
    assert apps[new_id].status() == "submitted"


def test_the_report_of_a_certified_product_states_the_certificate_and_the_same_number(zone):
    import pypdfium2 as pdfium

    from pipelines.reporting.label import write_label
    from pipelines.reporting.report import write_report

    s, marts, tmp_path = zone
    product = marts["product_key"][0]
    app_id = _certify(s, product, tmp_path)
    cert = wf.applications(s)[app_id].certificate
    r = write_report(s, product, "zh", tmp_path / "report")
    doc = pdfium.PdfDocument(str(r["pdf"]))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert cert["number"] in text and "CQC Chongqing" in text and r["version"] == cert["release"]
    label = write_label(s, product, tmp_path / "label")["svg"].read_text(encoding="utf-8")
    shown = f"{cert['value_kgco2e']:.4g}"
    assert r["co2e_kg"] == cert["value_kgco2e"] and shown in label and f"{cert['value_kgco2e']:.5g}" in text


STATES = (
    "submitted",
    "accepted",
    "document_review",
    "onsite_verification",
    "certified",
    "refused",
    "suspended",
    "withdrawn",
    "expired",
    "renewed",
)


@pytest.mark.parametrize("action", [a for a in wf.TRANSITIONS if a != "submit"])
def test_every_illegal_transition_is_refused(action):
    """Each step from every state it may not start from: refused, naming the state and the allowed ones."""
    starts, _ = wf.TRANSITIONS[action]
    for state in STATES:
        if state in starts:
            continue
        app = wf.Application("A1", "P", "v0001", "body", "applicant", state=state)
        event = {"app_id": "A1", "action": action, "by": "x", "at": "2025-01-01T00:00:00Z", "why": "y", "data": {}}
        with pytest.raises(wf.CertificationError, match=f"{action}: not allowed while A1 is {state}"):
            wf._apply({"A1": app}, event, check=True, today=dt.date(2025, 1, 1))

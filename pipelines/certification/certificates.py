"""Certificates and their consequences: issuing one freezes the value of the release it came from; the label
says "certified" (with the number) only while a certificate is valid; a later release that moves the
product's footprint by more than PCF_CERT_REVIEW_SHARE flags the certificate for review (the label keeps the
certified value until the body decides)."""

from __future__ import annotations

import datetime as dt
import hashlib

from pipelines.certification.workflow import (
    STANDARD,
    VALID_YEARS,
    Application,
    CertificationError,
    applications,
    certificate_number,
    record,
)
from pipelines.config import Settings
from pipelines.release.manifests import latest_release, read_table

STATUS_ORDER = (
    "certified",
    "suspended",
    "expired",
    "withdrawn",
    "refused",
    "renewed",
    "onsite_verification",
    "document_review",
    "accepted",
    "submitted",
)


def _footprint(settings: Settings, release: str, product: str) -> dict:
    marts = read_table(settings, release, "product_footprint")
    rows = [r for r in marts.iter_rows(named=True) if product in (r["product_key"], r["product_id"])]
    if not rows:
        raise CertificationError(f"product {product!r} is not in release {release}")
    if len(rows) > 1:
        raise CertificationError(f"product id {product!r} is ambiguous in release {release}: give the product key")
    return rows[0]


def submit(
    settings: Settings,
    product: str,
    body: str,
    applicant: str,
    by: str,
    why: str,
    release: str | None = None,
    renewal_of: str | None = None,
) -> Application:
    release = release or (latest_release(settings) or {}).get("version")
    if release is None:
        raise CertificationError("no release yet: run `pcf build`")
    fp = _footprint(settings, release, product)
    app_id = (
        "A"
        + hashlib.sha256(f"{fp['product_key']}|{release}|{body}|{dt.datetime.now().isoformat()}".encode())
        .hexdigest()[:10]
        .upper()
    )
    return record(
        settings,
        app_id,
        "submit",
        by,
        why,
        {
            "product_key": fp["product_key"],
            "release": release,
            "body": body,
            "applicant": applicant,
            "renewal_of": renewal_of,
        },
    )


def certify(
    settings: Settings, app_id: str, by: str, why: str, body_code: str, issued: dt.date | None = None
) -> Application:
    """Decision 'certified' with its certificate: the value frozen from the application's release."""
    app = applications(settings).get(app_id)
    if app is None:
        raise CertificationError(f"no application {app_id}")
    fp = _footprint(settings, app.release, app.product_key)
    issued = issued or dt.date.today()
    expiry = issued.replace(year=issued.year + VALID_YEARS) - dt.timedelta(days=1)
    cert = {
        "number": certificate_number(app, issued, body_code),
        "product_key": fp["product_key"],
        "product_name": fp["product_name"],
        "model": fp["product_id"],
        "uscc": fp["uscc"],
        "declared_unit": fp["declared_unit"],
        "value_kgco2e": float(fp["co2e_kg"]),
        "gwp_set": fp["gwp_set"],
        "release": app.release,
        "standard": STANDARD,
        "body": app.body,
        "issue_date": issued.isoformat(),
        "expiry_date": expiry.isoformat(),
    }
    return record(settings, app_id, "decide", by, why, {"outcome": "certified", "certificate": cert})


def status_for(settings: Settings, product_key: str, today: dt.date | None = None) -> dict | None:
    """The product's certification as the label and the QR page show it: the most relevant application
    (a valid certificate first), its live status and certificate; None when it never applied."""
    mine = [a for a in applications(settings, today).values() if a.product_key == product_key]
    if not mine:
        return None
    mine.sort(
        key=lambda a: (STATUS_ORDER.index(a.status(today)) if a.status(today) in STATUS_ORDER else 99, -len(a.history))
    )
    best = mine[0]
    return {
        "status": best.status(today),
        "app_id": best.app_id,
        "certificate": best.certificate,
        "body": best.body,
        "flags": best.flags,
        "release": best.release,
    }


def check_releases(settings: Settings, share: float | None = None, by: str = "release check") -> list[dict]:
    """Certificates whose product the latest release computes differently by more than `share`: flagged for
    the body's review (once per release), the label unchanged."""
    from pipelines.config import settings as current

    share = current().cert_review_share if share is None else share
    latest = latest_release(settings)
    if latest is None:
        return []
    marts = {
        r["product_key"]: r for r in read_table(settings, latest["version"], "product_footprint").iter_rows(named=True)
    }
    flagged = []
    for app in applications(settings).values():
        if app.status() not in ("certified", "suspended") or not app.certificate:
            continue
        cert, now = app.certificate, marts.get(app.product_key)
        if any(f.get("release") == latest["version"] for f in app.flags):
            continue
        if now is None:
            change, why = None, f"release {latest['version']} no longer has the product"
        else:
            change = (float(now["co2e_kg"]) - cert["value_kgco2e"]) / abs(cert["value_kgco2e"] or 1.0)
            if abs(change) <= share:
                continue
            why = (
                f"release {latest['version']} computes {float(now['co2e_kg']):.6g} kg CO2e against the certified "
                f"{cert['value_kgco2e']:.6g} ({change:+.1%}, more than {share:.0%}): the body reviews"
            )
        record(settings, app.app_id, "flag", by, why, {"release": latest["version"], "change": change})
        flagged.append({"app_id": app.app_id, "number": cert["number"], "why": why})
    return flagged

"""Product carbon footprint certification: the five steps of the plan's accounting guide as a state machine.

    submitted --accept--> accepted --review--> document_review --verify--> onsite_verification
        --decide(certified)--> certified --(surveil | suspend | withdraw | expire | renew)--> ...
        --decide(refused)-->  refused
    certified <--reinstate-- suspended;  certified/suspended --withdraw--> withdrawn;
    certified --expire (or its expiry date passes)--> expired;  certified/expired --renew--> renewed (a new
    application for the same product carries `renewal_of`)

1. Commission and acceptance: the applicant's documents (委托书, 营业执照, 产品工艺流程图, 组织机构图,
   主要生产设备设施清单, 计量设备清单, 原辅材料清单, 数据和信息采集清单), each attached (stored content-hashed
   in the restricted zone) or waived with a reason; `accept` refuses an incomplete checklist.
2. Document review: findings, whether an on-site check is feasible, what to focus on.
3. On-site verification: findings per area (assurance capability, product consistency with the sampled units,
   footprint verification items), nonconformities with severity (major, minor) and corrective action.
4. Evaluation and decision: certified or refused, by whom; `certified` is refused while a major
   nonconformity is open. A certificate is issued: number, scope (product, model, declared unit, value,
   release, standard, body), issue date, expiry.
5. Surveillance during validity: visits with due date and outcome; a failed visit suspends.

Every transition is an event in data/restricted/certification/log.jsonl (append-only: who, when, why, what);
the state of an application is the replay of its events. Illegal transitions raise CertificationError.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.common.filelock import exclusive
from pipelines.config import Settings

CHECKLIST = {
    "commission": "委托书 commission letter",
    "business_licence": "营业执照 business licence",
    "process_flow": "产品工艺流程图 process flow chart",
    "organisation_chart": "组织机构图 organisation chart",
    "equipment_list": "主要生产设备设施清单 main production equipment list",
    "metering_list": "计量设备清单 metering equipment list",
    "materials_list": "原辅材料清单 raw and auxiliary materials list",
    "data_collection_list": "数据和信息采集清单 data and information collection list",
}
AREAS = ("assurance_capability", "product_consistency", "footprint_verification")
SEVERITIES = ("major", "minor")
VALID_YEARS = 3  # validity of a certificate (the plan's trial rules; a setting of the body could vary it)
STANDARD = "GB/T 24067-2024"

# action -> (states it may start from, state it leads to); None: decided by the action's data
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "submit": ((), "submitted"),
    "attach": (("submitted",), "submitted"),
    "waive": (("submitted",), "submitted"),
    "accept": (("submitted",), "accepted"),
    "review": (("accepted",), "document_review"),
    "verify": (("document_review",), "onsite_verification"),
    "close_nonconformity": (("onsite_verification", "certified", "suspended"), None),
    "decide": (("onsite_verification",), None),
    "surveil": (("certified",), None),
    "suspend": (("certified",), "suspended"),
    "reinstate": (("suspended",), "certified"),
    "withdraw": (("certified", "suspended"), "withdrawn"),
    "expire": (("certified",), "expired"),
    "flag": (("certified", "suspended"), None),
    "renew": (("certified", "expired"), "renewed"),
}


class CertificationError(ValueError):
    pass


@dataclass
class Application:
    app_id: str
    product_key: str
    release: str
    body: str
    applicant: str
    state: str = "submitted"
    documents: dict[str, dict] = field(default_factory=dict)  # kind -> {sha256, name} | {waived: reason}
    findings: dict[str, object] = field(default_factory=dict)
    nonconformities: list[dict] = field(default_factory=list)
    certificate: dict | None = None
    surveillance: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    renewal_of: str | None = None

    def status(self, today: dt.date | None = None) -> str:
        """The live status: a certified application past its expiry date is expired."""
        if self.state == "certified" and self.certificate:
            if (today or dt.date.today()) > dt.date.fromisoformat(self.certificate["expiry_date"]):
                return "expired"
        return self.state


def zone(settings: Settings) -> Path:
    path = settings.restricted_dir / "certification"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def store_document(settings: Settings, source: Path) -> str:
    """A document kept by content (sha256) in the restricted zone; the same bytes are stored once."""
    data = Path(source).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target = zone(settings) / "documents" / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return digest


def events(settings: Settings) -> list[dict]:
    path = zone(settings) / "log.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def applications(settings: Settings, today: dt.date | None = None) -> dict[str, Application]:
    apps: dict[str, Application] = {}
    for e in events(settings):
        _apply(apps, e, check=False, today=today)
    return apps


def record(
    settings: Settings,
    app_id: str,
    action: str,
    by: str,
    why: str,
    data: dict | None = None,
    today: dt.date | None = None,
) -> Application:
    """Check the transition against the replayed state, then append it (under the zone's lock)."""
    if not by.strip():
        raise CertificationError("every step records who took it (--by)")
    if not why.strip():
        raise CertificationError("every step records why (--reason)")
    path = zone(settings) / "log.jsonl"
    with exclusive(zone(settings) / ".lock"):
        apps = applications(settings, today)
        event = {"app_id": app_id, "action": action, "by": by, "at": _now(), "why": why, "data": data or {}}
        _apply(apps, event, check=True, today=today)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return apps[app_id]


def _apply(apps: dict[str, Application], e: dict, check: bool, today: dt.date | None) -> None:
    action, data = e["action"], e.get("data") or {}
    if action not in TRANSITIONS:
        raise CertificationError(f"unknown step {action!r}: expected one of {', '.join(TRANSITIONS)}")
    starts, target = TRANSITIONS[action]
    if action == "submit":
        if e["app_id"] in apps:
            raise CertificationError(f"application {e['app_id']} exists")
        for k in ("product_key", "release", "body", "applicant"):
            if not data.get(k):
                raise CertificationError(f"submit: {k} is required")
        apps[e["app_id"]] = Application(
            e["app_id"],
            data["product_key"],
            data["release"],
            data["body"],
            data["applicant"],
            renewal_of=data.get("renewal_of"),
        )
        apps[e["app_id"]].history.append(e)
        return
    app = apps.get(e["app_id"])
    if app is None:
        raise CertificationError(f"no application {e['app_id']}")
    state = app.status(today) if check else app.state
    if state not in starts:
        raise CertificationError(
            f"{action}: not allowed while {app.app_id} is {state} (allowed from: {', '.join(starts)})"
        )
    if action == "attach":
        kind = data.get("kind")
        if kind not in CHECKLIST:
            raise CertificationError(f"attach: kind {kind!r} is not one of {', '.join(CHECKLIST)}")
        app.documents[kind] = {"sha256": data["sha256"], "name": data.get("name")}
    elif action == "waive":
        kind = data.get("kind")
        if kind not in CHECKLIST:
            raise CertificationError(f"waive: kind {kind!r} is not one of {', '.join(CHECKLIST)}")
        app.documents[kind] = {"waived": e["why"]}
    elif action == "accept":
        missing = [k for k in CHECKLIST if k not in app.documents]
        if check and missing:
            raise CertificationError(
                "accept: documents missing (attach or waive with a reason): "
                + ", ".join(f"{k} ({CHECKLIST[k]})" for k in missing)
            )
    elif action == "review":
        app.findings["document_review"] = {
            "findings": e["why"],
            "onsite_feasible": data.get("onsite_feasible", True),
            "focus": data.get("focus", ""),
        }
    elif action == "verify":
        areas = data.get("areas") or {}
        if check and set(areas) != set(AREAS):
            raise CertificationError(f"verify: findings for every area are required: {', '.join(AREAS)}")
        if check and not data.get("sampled_units"):
            raise CertificationError("verify: product consistency needs the sampled units (--sampled)")
        for nc in data.get("nonconformities") or []:
            if check and (nc.get("severity") not in SEVERITIES or not nc.get("corrective_action")):
                raise CertificationError(
                    "verify: each nonconformity needs severity (major, minor) and a corrective action"
                )
            app.nonconformities.append({**nc, "id": f"NC{len(app.nonconformities) + 1}", "closed": False})
        app.findings["onsite"] = {"areas": areas, "sampled_units": data.get("sampled_units")}
    elif action == "close_nonconformity":
        nc = next((n for n in app.nonconformities if n["id"] == data.get("id")), None)
        if nc is None:
            raise CertificationError(f"no nonconformity {data.get('id')!r} on {app.app_id}")
        nc["closed"], nc["closed_why"] = True, e["why"]
    elif action == "decide":
        outcome = data.get("outcome")
        if outcome not in ("certified", "refused"):
            raise CertificationError("decide: outcome is certified or refused")
        open_major = [n["id"] for n in app.nonconformities if n["severity"] == "major" and not n["closed"]]
        if check and outcome == "certified" and open_major:
            raise CertificationError(f"decide: major nonconformity open ({', '.join(open_major)}): close it first")
        if outcome == "certified":
            cert = data.get("certificate")
            if check and not cert:
                raise CertificationError("decide: a certified outcome carries its certificate")
            app.certificate = cert
        target = outcome
    elif action == "surveil":
        visit = {"due": data.get("due"), "date": data.get("date"), "outcome": data.get("outcome"), "why": e["why"]}
        if check and visit["outcome"] not in ("conforming", "nonconforming"):
            raise CertificationError("surveil: outcome is conforming or nonconforming")
        app.surveillance.append(visit)
        target = "suspended" if visit["outcome"] == "nonconforming" else "certified"
    elif action == "flag":
        app.flags.append({**data, "why": e["why"], "at": e["at"]})
    if target is not None:
        app.state = target
    app.history.append(e)


def certificate_number(app: Application, issued: dt.date, body_code: str) -> str:
    """<body>-PCF-<year>-<application>: unique per application, stable."""
    return f"{body_code}-PCF-{issued.year}-{app.app_id}"

"""Builds the web platform starts: `pcf build --repeat-last` (one Dagster run of the warehouse job, exactly
what the CLI and the nightly schedule run) in a child process, one at a time, never inside a request.

A request asks for a build (after an upload, a decision, a mapping) and gets a ticket back at once; requests
that arrive while one is waiting join it (one rebuild covers them all). The page polls the ticket: queued,
running (steps done out of the job's steps, read from the Dagster run's event log by its build tag), then
succeeded or failed (from the run's record). Output of the child goes to <curated>/web/builds/<id>.log.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from pipelines.config import Settings


@dataclass
class Ticket:
    build_id: str
    requested_at: str
    reasons: list[str] = field(default_factory=list)
    state: str = "queued"  # queued | running | succeeded | failed
    returncode: int | None = None
    release_before: str | None = None
    release_after: str | None = None
    steps_done: int = 0
    last_step: str | None = None

    def as_dict(self) -> dict:
        return dict(vars(self))


class BuildQueue:
    def __init__(self, settings_of, start_worker: bool = True) -> None:
        self.settings_of = settings_of
        self._tickets: dict[str, Ticket] = {}
        self._queue: list[str] = []
        self._cv = threading.Condition()
        self._worker: threading.Thread | None = None
        self.start_worker = start_worker
        self._instance: Any = (
            None  # a DagsterInstance, opened on the first progress read (the pages poll it every second)
        )

    def request(self, reason: str) -> Ticket:
        with self._cv:
            waiting = [self._tickets[i] for i in self._queue if self._tickets[i].state == "queued"]
            if waiting:  # a build that has not started yet covers this request too
                waiting[-1].reasons.append(reason)
                return waiting[-1]
            now = dt.datetime.now(dt.timezone.utc)
            t = Ticket(f"web-{now:%Y%m%dT%H%M%S%fZ}-{os.getpid()}", now.isoformat(timespec="seconds"), [reason])
            self._tickets[t.build_id] = t
            self._queue.append(t.build_id)
            self._cv.notify()
            if self.start_worker and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._work, name="pcf-web-builds", daemon=True)
                self._worker.start()
            return t

    def get(self, build_id: str) -> Ticket | None:
        t = self._tickets.get(build_id)
        if t is not None and t.state == "running":
            self._progress(t)
        return t

    def tickets(self) -> list[Ticket]:
        return sorted(self._tickets.values(), key=lambda t: t.requested_at, reverse=True)

    def busy(self) -> bool:
        return any(t.state in ("queued", "running") for t in self._tickets.values())

    def _progress(self, t: Ticket) -> None:
        try:
            import dagster as dg

            from pipelines.cli import BUILD_TAG
            from pipelines.runs import instance

            if self._instance is None:
                self._instance = instance(self.settings_of())
            inst = self._instance
            runs = inst.get_runs(filters=dg.RunsFilter(tags={BUILD_TAG: t.build_id}), limit=1)
            if runs:
                events = inst.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
                t.steps_done, t.last_step = len(events), (events[-1].step_key if events else None)
        except Exception:  # progress is a courtesy: a locked run store shows the last figure
            pass

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue:
                    if not self._cv.wait(timeout=300):
                        return
                t = self._tickets[self._queue[0]]
                t.state = "running"
            self.run(t)
            with self._cv:
                self._queue.pop(0)

    def run(self, t: Ticket) -> None:
        from pipelines.release.manifests import latest_release

        s: Settings = self.settings_of()
        t.release_before = (latest_release(s) or {}).get("version")
        log_dir = s.curated_dir / "web" / "builds"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"{t.build_id}.log", "wb") as log:
            proc = subprocess.run(
                [sys.executable, "-m", "pipelines.cli", "build", "--repeat-last", "--build-id", t.build_id],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1"},
                check=False,
            )
        t.returncode = proc.returncode
        self._progress(t)
        t.release_after = (latest_release(s) or {}).get("version")
        t.state = "succeeded" if proc.returncode == 0 else "failed"

    def log_tail(self, build_id: str, lines: int = 40) -> str:
        path = self.settings_of().curated_dir / "web" / "builds" / f"{build_id}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

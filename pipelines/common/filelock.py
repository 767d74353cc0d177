"""One exclusive lock on a lock file: the single way writers here take turns (the restricted zone, the
decision log, publishing, run summaries). Readers never take it. Built on the `filelock` library: a writer
waits at most PCF_LOCK_TIMEOUT_SECONDS (default 600) and then stops with a message naming the lock and who
holds it, instead of waiting forever behind a stuck process."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock as _filelock


class LockTimeout(TimeoutError):
    pass


def lock_timeout() -> float:
    from pipelines.config import settings

    return settings().lock_timeout_seconds


@contextmanager
def exclusive(lock_file: Path, timeout: float | None = None) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    holder = lock_file.with_name(lock_file.name + ".holder")
    lock = _filelock.FileLock(str(lock_file), timeout=lock_timeout() if timeout is None else timeout)
    try:
        lock.acquire()
    except _filelock.Timeout:
        who = holder.read_text(encoding="utf-8").strip() if holder.exists() else "unknown"
        raise LockTimeout(
            f"{lock_file} is held by another writer ({who}) for more than {lock.timeout:g} s "
            f"(PCF_LOCK_TIMEOUT_SECONDS); wait for it to finish, or stop it"
        ) from None
    try:
        holder.write_text(
            f"pid {os.getpid()} since {dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}", encoding="utf-8"
        )
        yield
    finally:
        lock.release()

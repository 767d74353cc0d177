"""The one way a file is replaced: written beside its target under a temporary name, flushed to disk, then
renamed over the target in one step. A reader sees the old file or the new one, never a half-written one;
a failure (a full disk, a crash in the block) leaves the old file and removes the temporary one."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield the temporary path to write; on success it replaces `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def link_or_copy(source: Path, path: Path) -> Path:
    """`path` replaced by a hard link of `source` (a copy where the file system cannot link). Files replaced
    this way are never written in place, so the two names cannot come to differ by a write to one of them."""
    import shutil

    with replacing(path) as tmp:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
    return path


def write_text(path: Path, text: str) -> Path:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return path

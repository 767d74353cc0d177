"""A file parsed again only when it changed: its size, modification time and inode, kept beside what parsing
it gave. Files the warehouse keeps are replaced (a new inode) or appended to (a new size), never edited in place
with the same size, so a same stamp means the same bytes. A build asks for some of them many times (issue 20:
the registry a dozen times, the kept tables' records about twenty, 10,000 uploads each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_SEEN: dict[Path, tuple[tuple, Any]] = {}  # path -> (its stamp, what parsing it gave)
_LIMIT = 64  # a few files per zone; tests make many zones


def parsed(path: Path, parse: Callable[[Path], T]) -> T:
    """parse(path), or what it gave last time if the file has not changed since. OSError if it is missing. The
    result is shared between callers: they copy before they change it."""
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    seen = _SEEN.get(path)
    if seen is None or seen[0] != stamp:
        if len(_SEEN) >= _LIMIT:
            _SEEN.clear()
        _SEEN[path] = seen = (stamp, parse(path))
    return seen[1]

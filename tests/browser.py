"""The system Chromium for the browser tests (tests/test_reporting.py, tests/test_web_browser.py): found on the
PATH (CI installs Debian's), required when PCF_REQUIRE_CHROMIUM=1, else the test is skipped. The flags keep
it off this machine's closed network (no background requests, no component updates)."""

from __future__ import annotations

import os
import shutil

import pytest

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and os.environ.get("PCF_REQUIRE_CHROMIUM") == "1":
        pytest.fail("Chromium is required here (PCF_REQUIRE_CHROMIUM=1) but not installed")
    return found

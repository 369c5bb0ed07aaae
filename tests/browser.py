"""Headless Chromium, for the tests that look at a page as its reader does.

Debian's Chromium with no network of its own (background networking, component updates and sync
off: this machine's closed network refuses them) and a throwaway profile. Where it is missing,
the tests that need it are skipped, saying how to install it (.ci/run does).
"""

import shutil
import tempfile

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
MISSING = (
    "Chromium is needed to render pages in a real browser: install Debian's package "
    "(sudo apt-get install -y chromium); .ci/run does"
)


def chromium() -> str:
    """The browser's path, or skip the test saying how to get it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(MISSING)


def profile() -> tempfile.TemporaryDirectory:
    """A throwaway profile; Chromium's helpers may still be writing to it as it is removed."""
    return tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)

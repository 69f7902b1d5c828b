"""Debian's Chromium for the browser tests: where it is and how it starts here.

Playwright drives it but never downloads a browser of its own; scripts/test-setup.sh installs
the Debian package. The flags keep a root, display-less, offline machine quiet: no sandbox (we
run as root), no GPU, and none of Chromium's background network traffic.
"""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    """A headless Chromium browser from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

"""Take docs/explorer.png, the README's picture of the explorer, from the real page.

The page is what ``aekit.explore()`` shows in a notebook (the default 2-D AE and VAE), saved
to a file and opened in Debian's Chromium by Playwright, with every non-file request blocked.
The decoded grid is on and the tour shows its first claims, measured on the live models.

Run:  .venv/bin/python docs/explorer_screenshot.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

import aekit

OUT = Path(__file__).resolve().parent / "explorer.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_path = aekit.explore().save(Path(tmp) / "explorer.html")
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1560, "height": 760}, device_scale_factor=1)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page.goto(page_path.as_uri())
        page.wait_for_function(
            "() => document.getElementById('tour').classList.contains('tour-measured')", timeout=60000
        )
        page.evaluate("() => window.explorer.setGrid(true)")
        page.click("#presets button:text-is('triangle')")
        page.wait_for_function(
            "() => window.explorer.state.inputName === 'triangle' && window.explorer.state.pending === 0"
        )
        page.evaluate("() => window.tour.go(1)")
        page.screenshot(path=str(OUT), clip={"x": 0, "y": 0, "width": 1560, "height": 760})
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""A self-contained HTML report opened in headless Chromium, as a person would: the page, its
console errors and every request it made; `make pictures` (MLRECIPES_PICTURES) keeps a screenshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class OpenedReport:
    page: Any
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def loaded_images(self, expected: int) -> Any:
        """The page's images, each checked to have loaded (a real picture, > 300 px wide)."""
        images = self.page.locator("img")
        assert images.count() == expected
        for i in range(expected):
            assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 300")
        return images


@contextmanager
def opened_report(report: Path, picture: str) -> Iterator[OpenedReport]:
    from playwright.sync_api import sync_playwright

    from tests.integration.test_card_in_browser import FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        opened = OpenedReport(page)
        page.on("console", lambda m: opened.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: opened.problems.append(str(exc)))
        page.on("request", lambda r: opened.requests.append(r.url))
        page.goto(report.as_uri())
        yield opened
        pictures = os.environ.get("MLRECIPES_PICTURES")  # `make pictures`: the README's picture
        if pictures:
            page.screenshot(path=str(Path(pictures) / picture), full_page=True)
        browser.close()

"""A real browser (Debian's headless Chromium, driven by Playwright) renders the evaluate card:
the plots are visible after clicking their tab, and the page logs no console errors."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from mlrecipes.execution.runner import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import copy_template

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without these, Chromium tries Google's update and sync hosts, which this network refuses.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def not_blank(png: bytes) -> tuple[int, float]:
    """Distinct colours and the share of non-white pixels of a screenshot."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = list(image.getdata())
    colours = len(set(pixels))
    non_white = sum(1 for p in pixels if sum(p) < 720) / len(pixels)
    return colours, non_white


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's package)"
)
def test_evaluate_card_renders_its_plots_without_console_errors(tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    root = copy_template(tmp_path / "churn", rows=3000)
    recipe = Recipe("local", root=root, reporter=Reporter())
    recipe.run()
    card = recipe.card_path("evaluate")
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "request",
            lambda req: (
                problems.append(f"network: {req.url}")
                if not req.url.startswith(("file:", "data:"))
                else None
            ),
        )
        page.goto(card.as_uri())
        page.click("text=Model Performance Plots")
        panel = page.locator(".panel:visible")
        assert panel.count() == 1
        images = panel.locator("img")
        assert images.count() == 5
        for i in range(images.count()):
            assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 100")
        shot = panel.screenshot()
        (tmp_path / "evaluate_plots.png").write_bytes(shot)
        browser.close()
    assert problems == []
    colours, non_white = not_blank(shot)
    assert colours > 50 and non_white > 0.02, (colours, non_white)

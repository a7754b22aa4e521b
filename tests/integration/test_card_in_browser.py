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


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Recipe:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's package)")
    root = copy_template(tmp_path_factory.mktemp("cards") / "churn", rows=3000)
    recipe = Recipe("local", root=root, reporter=Reporter())
    recipe.run()
    return recipe


def open_page(p, problems: list[str]):
    """Headless Chromium with a page that records console errors and page exceptions."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return browser, page


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
def test_evaluate_card_renders_its_plots_without_console_errors(
    tmp_path: Path, trained: Recipe
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    recipe = trained
    card = recipe.card_path("evaluate")
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser, page = open_page(p, problems)
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


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's package)"
)
def test_several_cards_on_one_page_keep_their_own_tabs(tmp_path: Path, trained: Recipe) -> None:
    """As in a notebook: evaluate's card twice and train's card, as Recipe.inspect shows them."""
    playwright = pytest.importorskip("playwright.sync_api")
    fragments = [trained.card_fragment(s) for s in ("evaluate", "evaluate", "train")]
    page_file = tmp_path / "notebook.html"
    page_file.write_text("<!DOCTYPE html><html><body>" + "".join(fragments) + "</body></html>")
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser, page = open_page(p, problems)
        page.goto(page_file.as_uri())
        cards = page.locator(".mlrecipes-card")
        assert cards.count() == 3

        def visible(i: int) -> list[str]:
            return [
                el.get_attribute("id")
                for el in cards.nth(i).locator(".panel").all()
                if el.is_visible()
            ]

        first = [visible(i) for i in range(3)]
        assert all(len(v) == 1 for v in first), first  # every card shows its first tab
        assert all(cards.nth(i).locator(".panel:visible").inner_text().strip() for i in range(3))
        cards.nth(1).locator("label", has_text="Model Performance Plots").click()
        assert visible(0) == first[0]  # the other copy did not switch
        assert visible(2) == first[2]
        plots = cards.nth(1).locator(".panel:visible img")
        assert plots.count() == 5
        cards.nth(2).locator("label", has_text="Model Architecture").click()
        assert visible(1) != first[1] and visible(0) == first[0]
        assert cards.nth(2).locator(".panel:visible").inner_text().strip()
        browser.close()
    assert problems == []
    ids = [m for f in fragments for m in __import__("re").findall(r'id="([^"]+)"', f)]
    assert len(ids) == len(set(ids)), "an id appears in two cards"

"""A real headless chromium drives the page: upload a whiteboard, run, watch reasoning, frames and the verdict,
then edit the reasoning and act on it. The screenshot lands in artifacts/ for a person to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# chromium's own background traffic is refused on a closed network; these keep it quiet and fast
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOARD = ROOT / "playground" / "examples" / "board_3_plus_4.png"


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium` (.ci/run does)")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1600},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def sim_src(page) -> str | None:
    img = page.locator("#sim-view img")
    return img.first.get_attribute("src") if img.count() else None


def test_upload_run_watch_then_edit_and_act(page, browser_app_url):
    shots = ROOT / "artifacts"
    shots.mkdir(exist_ok=True)
    try:
        _drive(page, browser_app_url)
    finally:  # on failure too: the picture shows what the page said
        page.screenshot(path=str(shots / "playground_browser.png"), full_page=True)
    assert (shots / "playground_browser.png").stat().st_size > 10_000


def upload(page, path: Path, tries: int = 3) -> None:
    """Put a file in the photo box; retried because a change event fired before the page is live is lost.

    On a loaded 2-core box the upload can take well over 15 s to show; once it shows, the box has no file
    input any more, so a retry only sets the file again while the input is still there.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        field = page.locator("#photo input[type=file]")
        if field.count():
            field.first.set_input_files(str(path))
        try:
            page.wait_for_selector(f"#photo >> text={path.name}", timeout=40_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


def _drive(page, app_url):
    page.goto(app_url)
    page.wait_for_selector("#run")
    upload(page, BOARD)
    page.locator("#expected input, #expected textarea").first.fill("7")
    # count every picture the sim view shows, however fast they come: polling from here would miss most
    page.evaluate("""() => {
        window.__simFrames = new Set();
        const view = document.querySelector('#sim-view');
        new MutationObserver(() => {
            const img = view.querySelector('img');
            if (img && img.src) window.__simFrames.add(img.src);
        }).observe(view, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    }""")
    page.click("#run")

    # reasoning text appears in the chat, and the sim view changes frame after frame while the arm acts
    page.wait_for_selector("#chat [data-testid=bot]", timeout=20_000)
    assert page.locator("#chat [data-testid=bot]").first.inner_text().strip(), "no reasoning text in the chat"
    page.wait_for_function("document.querySelector('#verdict').innerText.includes('chunk(s)')", timeout=60_000)
    frames = page.evaluate("window.__simFrames.size")
    assert frames >= 10, f"the sim view changed only {frames} times during a 2-chunk episode"
    verdict = page.locator("#verdict").inner_text()
    assert "Not solved" in verdict or "Success" in verdict, verdict
    assert "answer: 7" in page.locator("#scene").inner_text(), "the typed expected answer is the ground truth"

    # edit the reasoning and act on it: the arm runs one more chunk on the visitor's text
    edit = page.locator("#edit textarea")
    assert edit.input_value().strip(), "the edit box was not filled with the model's reasoning"
    before = sim_src(page)
    edit.fill("The board says 3 + 4 = ?. 3 + 4 = 7. Pick the card 7.")
    page.click("#act")
    page.wait_for_function(
        "document.querySelector('#verdict').innerText.includes('one chunk on your reasoning')", timeout=30_000
    )
    assert sim_src(page) != before, "acting on the edited reasoning did not move the arm"
    assert "(edited reasoning) The board says 3 + 4" in page.locator("#chat").inner_text()

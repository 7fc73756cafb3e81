"""Open the real app in headless Chromium, visit every page, train once, save screenshots.

Screenshots land in artifacts/screenshots/ (git-ignored). Skipped only where no chromium exists.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (Debian: apt-get install -y chromium)"),
]

LOSS_PAGES = ["distances", "triplet", "npair", "supcon", "simclr"]
DETECTOR_PAGES = ["deep_svdd", "goad", "droc", "csi", "compare"]
PAGES = ["", *LOSS_PAGES, *DETECTOR_PAGES]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the streamlit server did not answer its health check within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-component-update", "--no-first-run", "--disable-sync"],
    )
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield pg
    browser.close()
    pw.stop()


def _settle(page, timeout=90_000):
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)


def _shoot(page, path):
    """Screenshot the whole page: Streamlit scrolls inside its main block, so grow the viewport."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": 1400, "height": min(max(int(height) + 40, 1000), 12000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def test_a_page_link_as_the_first_request_opens_inside_the_app(server, page):
    """A shared link to a page, opened on a fresh server, must still get the app's sidebar."""
    page.goto(f"{server}/supcon")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    _settle(page)
    page.wait_for_selector("text=Computing on", timeout=30_000)
    assert "SupCon" in page.locator('[data-testid="stMain"] h1').first.inner_text()
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == len(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders(server, page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server}/{name}")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    _settle(page)
    if name in LOSS_PAGES:
        # the teaching pages show figures (instant views) before anything is trained
        page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot', timeout=60_000)
    elif name:
        # the detector pages open on their training form
        page.get_by_role("button", name="Train").or_(page.get_by_role("button", name="Run")).first.wait_for(timeout=60_000)
    _no_exception(page)
    _shoot(page, SHOTS / f"{name or 'home'}.png")


def test_train_simclr_in_the_browser(server, page):
    page.goto(f"{server}/simclr")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    _settle(page)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector("text=AUROC", timeout=180_000)
    _settle(page, timeout=180_000)
    _no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() >= 2
    _shoot(page, SHOTS / "simclr_trained.png")


def test_train_goad_in_the_browser(server, page):
    page.goto(f"{server}/goad")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    _settle(page)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector('[data-testid="stMetric"]', timeout=180_000)
    _settle(page, timeout=180_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot', timeout=60_000)
    _no_exception(page)
    _shoot(page, SHOTS / "goad_trained.png")

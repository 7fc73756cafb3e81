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


def _train_detector(page, shot):
    """Click a detector page's Train, wait for the metrics and charts, check for errors, screenshot."""
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector('[data-testid="stMetric"]', timeout=180_000)
    _settle(page, timeout=180_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot', timeout=60_000)
    _no_exception(page)
    _shoot(page, SHOTS / shot)


def test_train_goad_in_the_browser(server, page):
    page.goto(f"{server}/goad")
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    _settle(page)
    _train_detector(page, "goad_trained.png")


def _open(page, url):
    page.goto(url)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=90_000)
    _settle(page)


def _upload(page, path):
    """Through the real file uploader in the sidebar, as a person drops a file."""
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(path))
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stAlertContentSuccess"]', timeout=60_000)
    _settle(page)


def _open_expander(page, title):
    """Open an expander and wait until it shows its content (a click during a rerun can be lost)."""
    box = page.locator('[data-testid="stExpander"]').filter(has_text=title).first
    details = box.locator("details").first
    for _ in range(4):
        _settle(page)
        if details.get_attribute("open") is not None:
            return
        box.locator("summary").first.click()
        page.wait_for_timeout(500)
    assert details.get_attribute("open") is not None, f"the {title!r} box did not open"


def _pick_dataset(page, label):
    """Choose ``label`` in the page's Dataset box (retried: a click during a rerun can be lost)."""
    combo = page.locator('[data-testid="stMain"]').get_by_role("combobox", name="Dataset")
    option = page.get_by_role("option", name=label)
    for _ in range(4):
        _settle(page)
        combo.click()
        try:
            option.wait_for(timeout=5_000)
        except Exception:  # playwright's TimeoutError: the list did not open, try again
            page.keyboard.press("Escape")
            continue
        option.click()
        _settle(page)
        assert label in combo.input_value()
        return
    raise AssertionError(f"{label!r} never appeared in the Dataset box; options: "
                         f"{page.get_by_role('option').all_inner_texts()}")


def _upload_and_pick(page, url, path, data):
    """Open a page, upload ``data`` as ``path`` in the sidebar, choose it in the Dataset box, open the preview."""
    path.write_bytes(data)
    _open(page, url)
    _upload(page, path)
    _pick_dataset(page, f"your file: {path.name}")
    _open_expander(page, f"Your file: {path.name}")


def test_upload_a_csv_train_and_take_everything(server, page, tmp_path):
    from tests.uploads import sample_csv

    _upload_and_pick(page, f"{server}/deep_svdd", tmp_path / "flows.csv", sample_csv())
    page.wait_for_selector("text=one-hot", timeout=30_000)
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector('[data-testid="stMetric"]', timeout=180_000)
    _settle(page, timeout=180_000)
    _no_exception(page)
    assert "deep_svdd_dataset=upload" in page.url, "the address bar carries the view's settings"
    _open_expander(page, "Take it with you")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Everything (ZIP)").click()
    import zipfile

    names = set(zipfile.ZipFile(download.value.path()).namelist())
    assert {"scores.csv", "run_card.md", "weights.pt", "config.json", "embeddings_after.tsv"} <= names
    assert any(n.startswith("figures/") and n.endswith(".html") for n in names)
    _shoot(page, SHOTS / "upload_csv_deep_svdd.png")


def test_upload_a_zip_of_images_and_train(server, page, tmp_path):
    from tests.uploads import sample_image_zip

    _upload_and_pick(page, f"{server}/simclr", tmp_path / "bars.zip", sample_image_zip())
    page.locator('[data-testid="stExpander"] [data-testid="stImage"]').first.wait_for(timeout=30_000)  # thumbnails
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector("text=AUROC after training", timeout=180_000)
    _settle(page, timeout=180_000)
    _no_exception(page)
    _shoot(page, SHOTS / "upload_zip_simclr.png")


def test_a_bad_upload_is_a_message_not_a_traceback(server, page, tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"a,b,c\n1,2,3\n4,5\n" + b"\x00\x01\x02" * 50)
    _open(page, f"{server}/goad")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(bad))
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stAlertContentError"]', timeout=60_000)
    _no_exception(page)
    assert "broken.csv" in page.locator('[data-testid="stSidebar"] [data-testid="stAlertContentError"]').inner_text()


def test_presenter_link(server, page):
    _open(page, f"{server}/goad?present=true&goad_dataset=toy:blobs")
    page.wait_for_selector("text=Settings", timeout=30_000)
    _no_exception(page)
    page.locator('[data-testid="stHeader"]').first.wait_for(state="hidden", timeout=30_000)
    assert not page.locator('[data-testid="stSidebar"]').first.is_visible() or page.locator(
        '[data-testid="stSidebar"]').first.get_attribute("aria-expanded") == "false", "the sidebar starts closed"
    _open_expander(page, "Settings")
    _train_detector(page, "goad_presenter.png")

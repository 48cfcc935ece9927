"""The web page in a real headless browser (Debian's Chromium, driven by Playwright; no browser download): submit
a clip, watch the job reach done, preview it with its subtitles as a text track. Real model, real speech, and a
token, which the browser sends as HTTP Basic credentials for the page, its API calls, the video and the track."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import reference_text

from subgen.evaluate.rates import error_rates
from tests.service.harness import Server, start_server

pytestmark = pytest.mark.model
TOKEN = "browser-page-token"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("web") / "state", fake=False, model="tiny.en", token=TOKEN)
    yield srv
    srv.stop()


@pytest.fixture
def page(server: Server):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (Debian: apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(http_credentials={"username": "subgen", "password": TOKEN})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page
        browser.close()


def test_the_page_submits_a_clip_shows_it_done_and_previews_its_subtitles(page, server, cards_clip, corpus, tmp_path):
    from playwright.sync_api import expect

    clip = Path(shutil.copy(cards_clip, tmp_path / "ten of clubs.mp4"))
    page.goto(f"{server.url}/")
    expect(page.locator("h1")).to_have_text("subgen")
    page.set_input_files("#file", str(clip))
    page.click("#upload-button")
    row = page.locator("#jobs tbody tr", has_text="ten of clubs.mp4")
    expect(row.locator("td.state")).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(row.locator("progress")).to_have_js_property("value", row.locator("progress").evaluate("p => p.max"))
    row.get_by_role("button", name="Preview").click()
    page.wait_for_function(
        "() => { const t = document.querySelector('#preview').textTracks[0]; return t && t.cues && t.cues.length }"
    )
    cues = page.evaluate("() => Array.from(document.querySelector('#preview').textTracks[0].cues, c => c.text)")
    track = page.evaluate("() => { const t = document.querySelector('#preview track'); return [t.kind, t.srclang] }")
    assert track == ["subtitles", "en"]
    text = " ".join(cues)
    assert error_rates([reference_text(corpus, "en_pocketsphinx_cards_001")], [text]).wer <= 0.34, text
    page.wait_for_function("() => document.querySelector('#preview').readyState >= 1")  # the media loads too
    duration = page.evaluate("() => document.querySelector('#preview').duration")
    with server.client() as client:
        [job] = client.get("/v1/jobs").json()["data"]
    assert job["state"] == "done" and job["source"] == clip.name and job["origin"] == "jobs"
    assert duration == pytest.approx(job["audio_seconds"], abs=0.2), "the preview plays the job's own media"
    assert "WEBVTT" in page.locator("#preview-text").inner_text()
    assert page.locator("#message").inner_text().startswith("Job ")

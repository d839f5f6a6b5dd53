"""The HTML leaderboard in a real headless Chromium: sorting, details panels, no errors, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FIXTURES = Path(__file__).parent / "fixtures" / "results"
SCRIPT = "<script>alert(1)</script>"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (apt-get install chromium; "
                    "scripts/install.sh does this in CI)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    from tvts_bench.report.commands import write_leaderboard

    out = tmp_path_factory.mktemp("leaderboard") / "index.html"
    write_leaderboard(FIXTURES, out, "html")
    events: dict[str, list] = {"console": [], "pageerror": [], "requests": [], "dialogs": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
            page.on("request", lambda r: events["requests"].append(r.url))
            page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            yield page, events, out
        finally:
            browser.close()


def _task_table(page, key: str):
    """The per-task table whose heading starts with the task name and carries the given source badge."""
    section = page.locator("section.task").filter(
        has=page.locator("h3", has_text=key.split(" [")[0])).filter(
        has=page.locator("h3 .badge", has_text="built-in world" if "[built-in world]" in key else "real data"))
    return section.first


def test_sort_details_screenshot_and_no_errors(browser_page, tmp_path):
    page, events, out = browser_page

    # the hostile model name is shown as text, and no script from it ran
    assert page.get_by_text(SCRIPT, exact=True).count() >= 1
    assert events["dialogs"] == []

    # sorting: click the Model header of the ssv2-linear [built-in world] table (rows start best first)
    section = _task_table(page, "ssv2-linear [built-in world]")
    table = section.locator("table.task-table")
    names = lambda: table.locator("tbody.measured tr th").all_inner_texts()  # noqa: E731
    before = names()
    assert before[0] == "tvts" and len(before) == 4
    table.locator("thead th", has_text="Model").click()
    after = names()
    assert after != before and after == sorted(before, key=str.lower)
    assert table.locator("thead th", has_text="Model").get_attribute("aria-sort") == "ascending"
    table.locator("thead th", has_text="Model").click()
    assert names() == sorted(before, key=str.lower, reverse=True)
    # numeric column: best first on the first click
    table.locator("thead th", has_text="top1").click()
    assert names()[0] == "tvts" and names()[-1] == "videomae"

    # summary table: rows in average-rank order (coverage first), and it sorts by any column of its
    # two-level header (a leaf header sorts its own column, not the one at its position in the row)
    summary = page.locator("#summary-table")
    model_names = lambda: summary.locator("tbody.measured tr th").all_inner_texts()  # noqa: E731
    rows_before = model_names()
    assert rows_before == ["tvts", "clip", "videomae", SCRIPT]
    assert summary.locator("tbody.measured td.rank").first.inner_text() == "1.2 (6/6)"
    summary.locator('thead th.leaf[title^="k400-linear [built-in world]"]').click()
    assert model_names()[:2] == ["videomae", "tvts"]          # the only two with k400 results, best first
    summary.locator("thead th", has_text="Model").click()
    assert model_names() == sorted(rows_before, key=str.lower)
    summary.locator("thead th", has_text="Avg rank").click()
    assert model_names() == rows_before
    # one number per cell, the best in bold, the ties to it marked once (the rule is in the caption)
    tvts_cells = summary.locator("tbody.measured tr").first.locator("td.v")
    assert tvts_cells.evaluate_all("cs => cs.every(c => /^(\\d+\\.\\d[\u2248?c]*|\u2013)$/.test("
                                   "c.textContent.replace(/\\s+/g, '')))")
    assert summary.locator("tbody.measured td.v.best").count() == 5        # columns with more than one model
    assert "[56.50, 70.17]" in summary.locator("tbody.measured td.v.best").nth(1).get_attribute("title")
    assert "paired bootstrap" in summary.locator("caption").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # details panel: closed at first, opens on click and shows provenance
    details = section.locator("details.result-details").first
    body = details.locator(".details-body")
    assert not body.is_visible()
    details.locator("summary").click()
    assert body.is_visible()
    assert body.get_by_text("weights hash").is_visible()
    assert body.get_by_text("fixture-host").is_visible()
    # the "details" link in a row opens its panel as well
    link = table.locator("a.details-link").last
    target = section.locator(link.get_attribute("href"))
    assert target.get_attribute("open") is None
    link.click()
    assert target.get_attribute("open") is not None and target.locator(".details-body").is_visible()

    shot = tmp_path / "leaderboard.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    if os.environ.get("TVTS_BENCH_SCREENSHOT"):      # for the README: TVTS_BENCH_SCREENSHOT=/tmp/leaderboard.png
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=os.environ["TVTS_BENCH_SCREENSHOT"], full_page=False)

    errors = [text for kind, text in events["console"] if kind in ("error", "warning")]
    assert errors == [], errors
    assert events["pageerror"] == []
    assert events["requests"] and all(url.startswith("file://") for url in events["requests"]), events["requests"]
    assert events["requests"][0] == out.as_uri()


def test_study_report_in_chromium(browser_page, tmp_path):
    """The study page (same CSP and escaping as the leaderboard) renders with no errors, no requests, and a
    hostile string shown as text. Runs in the module's browser (one Playwright instance per process)."""
    from test_study import _outcomes, _write
    from tvts_bench.study.analysis import analyse
    from tvts_bench.study.design import TABLES
    from tvts_bench.study.report import write_report

    root = tmp_path / "results"
    for variant, correct in (("tvts", 60), ("base", 30), ("scratch", 10), ("sort", 12), ("tvts-nosg", 40)):
        _write(root, f"{variant}-s0", 0, _outcomes(correct))
    result = analyse(root, tmp_path / "runs", "t", [TABLES[2]], (0,))
    result.warnings.append(SCRIPT)
    out = write_report(result, tmp_path / "study.html")[0]
    events: dict[str, list] = {"pageerror": [], "requests": [], "dialogs": []}
    page = browser_page[0].context.browser.new_page()
    try:
        page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
        page.on("request", lambda r: events["requests"].append(r.url))
        page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        assert page.locator("section#table-2 h2").inner_text().startswith("Table 2")
        assert page.locator("span.verdict.reproduced").count() >= 1
        assert page.get_by_text(SCRIPT, exact=True).count() == 1
        assert page.locator("svg.effects circle").count() >= 1
    finally:
        page.close()
    assert events["pageerror"] == [] and events["dialogs"] == []
    assert events["requests"] == [out.as_uri()]

"""The leaderboard at a glance (issue 19): 10 models x 12 tasks plus world-calibration reference rows,
built here as valid result files, rendered and checked in headless Chromium at 1,280 x 800.

The summary must fit the page (no sideways scroll of the page), show one number per cell with the best
marked and the ties to it marked once, keep the reference rows apart and unranked, give each model an
average rank with its coverage, and let the reader compare two models. The HTML, Markdown and CSV
outputs agree on all of it.

``TVTS_BENCH_WRITE_DOCS=1`` also writes the screenshot to docs/leaderboard.png (the README's picture).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tvts_bench.bench.result_schema import DataInfo, ModelInfo, Provenance, ResultRecord, TaskInfo
from tvts_bench.bench.results import write_result
from tvts_bench.bench.stats import metric_value
from tvts_bench.report.aggregate import BUILTIN_SUFFIX, build_leaderboard
from tvts_bench.report.csv import render_csv
from tvts_bench.report.html import render_html
from tvts_bench.report.markdown import render_markdown

CHROMIUM = Path("/usr/bin/chromium")
DOCS_PNG = Path(__file__).resolve().parent.parent / "docs" / "leaderboard.png"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
SCRIPT = "<script>alert(1)</script>"
QUOTED = 'Tom & Jerry\'s "best" <model>'

# (task, source, number of classes or candidates: chance = 100 / n)
TASKS = [
    ("ssv2-linear", "real", 174),
    ("ssv2-linear", "builtin", 16), ("k400-linear", "builtin", 10), ("ucf101-linear", "builtin", 10),
    ("hmdb51-linear", "builtin", 10),
    ("ssv2-v2v", "builtin", 16), ("ucf101-v2v", "builtin", 10),
    ("ssv2-ft", "builtin", 16), ("k400-ft", "builtin", 10),
    ("msrvtt-ret", "builtin", 50),
    ("msrvtt-ret-ft", "builtin", 50), ("didemo-ret-ft", "builtin", 50),
]
MAIN = {"linear": "top1", "ft": "top1", "v2v": "R@1", "ret": "t2v_R@1", "ret-ft": "t2v_R@1"}
# name -> (family, skill in [0, 1], seeds, tasks it has no result on)
MODELS = {
    "tvts": ("tvts", 0.80, (0, 1, 2), ()),
    "tvts-base": ("tvts", 0.74, (0,), ()),
    "videomae": ("videomae", 0.70, (0,), ("msrvtt-ret",)),
    "clip": ("clip", 0.66, (0,), ()),
    "svt": ("svt", 0.60, (0,), ("msrvtt-ret",)),
    "frozen": ("frozen", 0.55, (0,), ()),
    "imagemae": ("imagemae", 0.45, (0,), ("msrvtt-ret",)),
    QUOTED: ("user", 0.86, (0,), ("msrvtt-ret", "k400-ft", "ssv2-ft", "didemo-ret-ft")),   # best, but 8/12 tasks
    SCRIPT: ("user", 0.50, (0,), ("msrvtt-ret",)),
    "scratch": ("scratch", 0.25, (0,), ("msrvtt-ret",)),
}
# reference rows: name -> (kind, role, skill)
REFERENCES = {
    "chance": ("chance", "floor", None),
    "perception ceiling": ("perception", "ceiling", 0.97),
    "pixel ceiling": ("pixel", "ceiling", 0.90),
    "order ceiling (shuffled)": ("order-shuffled", "diagnostic", 0.60),
    "order ceiling (frame-averaged)": ("order-frame-average", "diagnostic", 0.55),
}
N = 240


def _record(name: str, family: str, task: str, source: str, seed: int, metrics: dict, *, card: dict | None = None,
            minute: int = 0) -> ResultRecord:
    dataset, protocol = task.split("-", 1)
    ft = protocol in ("ft", "ret-ft")
    sampling = {"frames": None, "mode": "tsn", "stride": None, "clips": 2 if ft else 1, "crops": 3 if ft else 1,
                "size": None, "short_side": None}
    return ResultRecord(
        model=ModelInfo(name=name, family=family, weights_hash=hashlib.sha256(name.encode()).hexdigest()[:16],
                        trained_on=["k400"] if name == "videomae" else [], card=card or {"name": name}),
        task=TaskInfo(name=task, dataset=dataset, protocol=protocol, hash=f"hash-{task}", main_metric=MAIN[protocol],
                      card={"name": task, "dataset": dataset, "protocol": protocol, "sampling": sampling,
                            "metrics": [MAIN[protocol]], "main_metric": MAIN[protocol]}),
        seed=seed, metrics=metrics,
        data=DataInfo(source=source, root=f"/data/{source}/{dataset}", manifest_hash=f"m-{source}-{dataset}",
                      listed=N, missing=0),
        provenance=Provenance(tvts_bench_version="0.1.0", git_sha="0123abc" if seed == 0 else "4567def",
                              torch_version="2.14.1", device="cpu (2 cores)", hostname="glance-host",
                              started_at=f"2026-11-30T09:{minute:02d}:00Z",
                              finished_at=f"2026-11-30T09:{minute:02d}:42Z", seconds=42.0,
                              extra={"preprocess": {"num_frames": 16 if family == "videomae" else 8, "size": 112}}),
    )


def make_results(root: Path) -> Path:
    """Write the 10 x 12 results (per-sample side files for the paired bootstrap) and reference rows."""
    rng = np.random.default_rng(19)
    for t, (task, source, classes) in enumerate(TASKS):
        protocol = task.split("-", 1)[1]
        metric = MAIN[protocol]
        chance = 1.0 / classes
        difficulty = rng.random(N)                 # shared by every model: the pairing the bootstrap uses
        for m, (name, (family, skill, seeds, missing)) in enumerate(MODELS.items()):
            if task in missing:
                continue
            level = chance + (0.85 - chance) * skill * (0.93 + 0.14 * rng.random())
            for seed in seeds:
                noise = rng.random(N)
                correct = (0.8 * difficulty + 0.2 * noise < level).astype(float)
                rows = [{"sample_id": f"q{i:04d}", metric: float(c)} for i, c in enumerate(correct)]
                folder = root / f"m{m}" / task
                folder.mkdir(parents=True, exist_ok=True)
                write_result(folder / f"{source}-seed{seed}.json",
                             _record(name, family, task, source, seed, {metric: metric_value(100.0 * correct)},
                                     minute=t * 3 + seed), rows)
        if source != "builtin":
            continue
        for name, (kind, role, skill) in REFERENCES.items():
            value = 100.0 * (chance if skill is None else chance + (1 - chance) * skill)
            metrics = {metric: metric_value(np.full(N, value)) if skill is None else
                       metric_value(100.0 * (rng.random(N) < value / 100.0))}
            folder = root / "reference" / name.replace(" ", "-").replace("(", "").replace(")", "") / task
            folder.mkdir(parents=True, exist_ok=True)
            write_result(folder / "builtin-seed0.json",
                         _record(name, "reference", task, source, 0, metrics, minute=t * 3,
                                 card={"reference_kind": kind, "role": role}))
    return root


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return make_results(tmp_path_factory.mktemp("glance") / "results")


@pytest.fixture(scope="module")
def lb(results):
    return build_leaderboard(results)


# ------------------------------------------------------------------------------------ without a browser

def test_references_are_apart_unranked_and_set_the_scale(lb):
    assert lb.warnings == []
    assert len(lb.models) == 10 and len(lb.columns) == 12
    assert lb.references == list(REFERENCES)          # kind order: chance first
    assert not set(lb.references) & set(lb.models)
    for col in lb.columns:
        assert all(not c.is_reference for c in col.cells)
        if col.builtin:
            assert [c.model for c in col.references] == list(REFERENCES)
            assert all(c.rank is None and not c.is_best and c.separation is None for c in col.references)
            chance = col.reference("chance").metrics[col.main_metric].value
            ceiling = max(col.reference(n).metrics[col.main_metric].value for n in ("perception ceiling",
                                                                                    "pixel ceiling"))
            assert col.scale.floor == pytest.approx(chance) and col.scale.ceiling == pytest.approx(ceiling)
            assert col.reference("chance").position == pytest.approx(0.0)
        else:   # real data: no reference rows; floor: the scratch model; ceiling: the best model
            assert col.references == []
            assert col.scale.floor == pytest.approx(col.cell("scratch").metrics["top1"].value)
            assert col.scale.ceiling == pytest.approx(col.cells[0].metrics["top1"].value)
            assert col.cells[0].position == pytest.approx(1.0)


def test_average_rank_never_rewards_missing_results(lb):
    ranks = lb.ranks
    assert ranks["tvts"].covered == 12 and ranks[QUOTED].covered == 8
    # the quoted model is best wherever it has a result, yet covers fewer tasks: listed after every
    # model with more results
    assert ranks[QUOTED].average == pytest.approx(1.0)
    assert lb.models.index(QUOTED) > max(lb.models.index(m) for m in MODELS if ranks[m].covered > 8)
    assert lb.models[0] == "tvts" and ranks["tvts"].text.startswith("avg rank ")
    assert ranks["tvts"].text.endswith("(12/12 tasks)")
    for col in lb.columns:
        ranked = sorted(c.rank for c in col.cells if c.rank is not None)
        assert ranked[0] == 1 and sum(ranked) == pytest.approx(len(ranked) * (len(ranked) + 1) / 2)


def test_pairs_are_precomputed_with_the_paired_bootstrap(lb):
    col = next(c for c in lb.columns if c.key == "k400-linear" + BUILTIN_SUFFIX)
    n = len(col.cells)
    assert len(col.pairs) == n * (n - 1) // 2
    assert all(p.rule == "paired bootstrap" and p.low is not None for p in col.pairs.values())
    a, b = col.cells[2].model, col.cells[5].model
    ab, ba = col.pair(a, b), col.pair(b, a)
    assert ab.diff == pytest.approx(-ba.diff) and ab.low == pytest.approx(-ba.high)
    assert ab.diff == pytest.approx(col.cell(a).metrics["top1"].value - col.cell(b).metrics["top1"].value)
    # the best's own comparisons are the separation verdicts shown in the table
    for c in col.cells[1:]:
        assert col.pair(col.cells[0].model, c.model).separable == c.separation.separable
    # some models tie with the best, some do not: the mark means something
    verdicts = {c.separation.separable for col in lb.columns for c in col.cells[1:] if c.separation}
    assert verdicts == {True, False}


def test_views_seeds_date_and_commit(lb):
    col = next(c for c in lb.columns if c.key == "ssv2-ft" + BUILTIN_SUFFIX)
    tvts = col.cell("tvts")
    assert tvts.seeds_text == "3 seeds: 0, 1, 2" and col.cell("clip").seeds_text == "1 seed: 0"
    assert tvts.views.short == "8\u00d72\u00d73" and tvts.views.long == "8 frames \u00d7 2 clips \u00d7 3 crops"
    assert col.cell("videomae").views.short == "16\u00d72\u00d73"
    assert tvts.git_shas == ["0123abc", "4567def"] and tvts.finished_at.startswith("2026-11-30T09:")


def test_markdown_and_csv_agree(lb):
    md = render_markdown(lb)
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| Model | Avg rank |"))
    assert header.count("|") == 2 + 12 + 1
    summary = lines[lines.index(header) + 2: lines.index(header) + 2 + 10]
    assert [line.split("|")[1].strip() for line in summary][0] == "tvts"
    assert all(re.search(r"\| \d+\.\d \(\d+/12\) \|", line) for line in summary)
    refs = [line for line in lines if line.startswith("| *reference")]
    assert any("*reference (floor)*: chance" in line for line in refs)
    assert "| 3 seeds: 0, 1, 2 |" in md and "8\u00d72\u00d73" in md
    rows = list(csv.DictReader(io.StringIO(render_csv(lb))))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"model", "reference", "paper"}
    chance = [r for r in rows if r["model"] == "chance"]
    assert chance and all(r["kind"] == "reference" and r["role"] == "floor" and r["avg_rank"] == "" for r in chance)
    tvts = [r for r in rows if r["model"] == "tvts"]
    assert {r["tasks_ranked"] for r in tvts} == {"12"} and {r["seeds"] for r in tvts} == {"0 1 2"}
    assert {(r["seeds"], r["n_seeds"]) for r in rows if r["model"] == "clip"} == {("0", "1")}


def test_embedded_json_keeps_hostile_names_exact(lb):
    page = render_html(lb)
    block = re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', page, re.S).group(1)
    assert not set(block) & set("<>&")
    data = json.loads(block)
    assert QUOTED in data["summary"]["models"] and SCRIPT in data["summary"]["models"]
    assert data["summary"]["references"] == list(REFERENCES)
    assert SCRIPT not in page and QUOTED not in page
    assert "Tom &amp; Jerry&#39;s &#34;best&#34; &lt;model&gt;" in page
    assert page.count("<script") == 2


# ------------------------------------------------------------------------------------------ in a browser

def _browser():
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium")
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


NUMBER_CELL = re.compile(r"^\u2212?-?\d+\.\d[\u2248?c]*$")


@pytest.mark.browser
def test_summary_at_a_glance_in_chromium(lb, tmp_path):
    sync_api = _browser()
    out = tmp_path / "index.html"
    out.write_text(render_html(lb), encoding="utf-8")
    events: dict[str, list] = {"console": [], "pageerror": [], "requests": [], "dialogs": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["pageerror"].append(str(e)))
            page.on("request", lambda r: events["requests"].append(r.url))
            page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")

            # the page as it opens: a test artifact, and the README's picture on request
            shot = tmp_path / "leaderboard.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 20_000
            if os.environ.get("TVTS_BENCH_WRITE_DOCS") == "1":
                DOCS_PNG.write_bytes(shot.read_bytes())

            # the whole page never scrolls sideways, and at 1,280 px every column fits: no tabs
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert not page.locator("#summary-tabs").is_visible()
            summary = page.locator("#summary-table")
            assert summary.locator("thead th.leaf:visible").count() == 12
            table_box = summary.bounding_box()
            assert table_box["x"] >= 0 and table_box["x"] + table_box["width"] <= 1280
            # the ten models and the reference block fit one 800 px screen under the page header
            last_ref = summary.locator("tbody.reference tr").last.bounding_box()
            assert last_ref["y"] + last_ref["height"] <= 800, last_ref

            # a two-level header: protocol groups named once
            groups = summary.locator("thead th.group").all_inner_texts()
            assert [g.replace("\u2011", "-").split("\n") for g in groups] == [
                ["linear probe", "real data"], ["linear probe", "world"], ["video\u2192video", "world"],
                ["fine-tuning", "world"], ["zero-shot", "world"], ["fine-tuned retrieval", "world"]]

            # one number per cell; the interval is in the tooltip
            rows = summary.locator("tbody.measured tr")
            assert rows.count() == 10
            cells = summary.locator("tbody.measured td.v")
            texts = cells.evaluate_all("cells => cells.map(c => c.textContent.replace(/\\s+/g, ''))")
            assert len(texts) == 120
            numbers = [t for t in texts if t != "\u2013"]
            missing = sum(len(m[3]) for m in MODELS.values())
            assert len(numbers) == 120 - missing and all(NUMBER_CELL.match(t) for t in numbers), numbers
            title = summary.locator("tbody.measured tr").first.locator("td.v").first.get_attribute("title")
            assert re.search(r"\[\d+\.\d\d, \d+\.\d\d\] \(95% interval\)", title) and "seeds" in title

            # the best of each column is bold, once; the ties to it carry one mark
            best = summary.locator("tbody.measured td.v.best")
            assert best.count() == 12
            weight = best.first.locator("a.num").evaluate("e => Number(getComputedStyle(e).fontWeight)")
            assert weight >= 700
            assert summary.locator("tbody.measured td.v .mk.tie").count() >= 1
            assert summary.locator("tbody.measured td.v.best .mk").count() == 0
            caption = summary.locator("caption").inner_text()
            assert "paired bootstrap" in caption and "Avg rank" in caption and "floor" in caption

            # average rank with coverage; the model with fewer tasks is listed after the full ones
            ranks = summary.locator("tbody.measured td.rank").all_inner_texts()
            assert all(re.fullmatch(r"\d+\.\d \(\d+/12\)", r.strip()) for r in ranks), ranks
            names = summary.locator("tbody.measured th").all_inner_texts()
            assert names[0] == "tvts" and names[-1] == QUOTED and SCRIPT in names

            # reference rows: present, labelled, not ranked, never best, shaded on the same scale
            refs = summary.locator("tbody.reference tr.ref-row")
            assert refs.count() == 5
            assert [t.split(" ")[0] for t in refs.locator("th").all_inner_texts()][:3] == ["chance", "perception",
                                                                                         "pixel"]
            assert set(t.strip() for t in refs.locator("td.rank").all_inner_texts()) == {"\u2013"}
            assert summary.locator("tbody.reference td.best").count() == 0
            assert summary.locator("tbody.reference tr.ref-row").first.locator("td.v.s0").count() == 11
            assert summary.locator("tbody.reference").get_by_text("never ranked").is_visible()

            # a number opens its details panel: interval, seeds, views, date and commit
            summary.locator("tbody.measured tr").first.locator("td.v a.num").nth(7).click()
            panel = page.locator("details.result-details[open]")
            assert panel.count() == 1
            body = panel.locator(".details-body").inner_text()
            assert "3 seeds: 0, 1, 2" in body and "8\u00d72\u00d73" in body and "2026-11-30T09:" in body
            assert "0123abc, 4567def" in body
            page.evaluate("window.scrollTo(0, 0)")

            # compare two models: a difference with its interval on every task
            page.select_option("#compare-a", label="clip")
            page.select_option("#compare-b", label="frozen")
            compare_rows = page.locator("#compare-body tr")
            assert compare_rows.count() == 12
            first = compare_rows.nth(1).locator("td").all_inner_texts()
            assert first[0] == "ssv2-linear [built-in world]"
            assert re.fullmatch(r"[+\u2212\u00b1]\d+\.\d", first[4]) and re.fullmatch(r"\[.+, .+\]", first[5])
            assert first[7] == "paired bootstrap"
            page.select_option("#compare-a", label=QUOTED)
            texts = [r.locator("td").nth(6).inner_text() for r in compare_rows.all()]
            assert sum("no comparison" in t for t in texts) == 4   # its four missing tasks
            page.select_option("#compare-b", label=SCRIPT)
            assert compare_rows.count() == 12


            # narrower than the table: one protocol group at a time, still no sideways page scroll
            page.set_viewport_size({"width": 760, "height": 800})
            page.wait_for_timeout(300)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            tabs = page.locator("#summary-tabs")
            assert tabs.is_visible()
            visible = summary.locator("thead th.leaf:visible").count()
            assert 0 < visible < 12
            tabs.locator("button", has_text="fine\u2011tuning").click()
            assert summary.locator("thead th.leaf:visible").all_inner_texts() == ["ssv2\ntop1\n8/16\u00d72\u00d73",
                                                                                 "k400\ntop1\n8/16\u00d72\u00d73"]
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.set_viewport_size({"width": 1280, "height": 800})
            page.wait_for_timeout(300)
            assert not tabs.is_visible() and summary.locator("thead th.leaf:visible").count() == 12
        finally:
            browser.close()

    assert events["dialogs"] == []
    errors = [text for kind, text in events["console"] if kind in ("error", "warning")]
    assert errors == [] and events["pageerror"] == [], (errors, events["pageerror"])
    assert all(url.startswith("file://") for url in events["requests"]), events["requests"]

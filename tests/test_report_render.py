"""Leaderboard rendering: HTML escaping and offline-ness, Markdown and CSV content, the CLI command."""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tvts_bench.report.aggregate import build_leaderboard
from tvts_bench.report.commands import leaderboard as leaderboard_cmd
from tvts_bench.report.csv import render_csv
from tvts_bench.report.html import render_html, script_json
from tvts_bench.report.markdown import render_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "results"
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def lb():
    return build_leaderboard(FIXTURES)


@pytest.fixture(scope="module")
def page(lb) -> str:
    return render_html(lb)


def _json_block(page: str) -> str:
    m = re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', page, re.S)
    assert m
    return m.group(1)


def test_html_escapes_strings_from_results(page):
    assert SCRIPT not in page
    assert "alert(1)</script>" not in page
    assert ESCAPED in page
    # in the SVG plots too (bar labels carry the model name)
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert svgs and any(ESCAPED in s for s in svgs) and not any("<script" in s for s in svgs)
    # a card value with markup is shown as text
    assert "<b>not bold</b>" not in page and "&lt;b&gt;not bold&lt;/b&gt;" in page
    # exactly two script elements: the JSON data and the page's own inline script
    assert page.count("<script") == 2


def test_embedded_json_is_safe_and_complete(page):
    block = _json_block(page)
    assert "</" not in block and "<!--" not in block and "<" not in block
    data = json.loads(block)
    models = {r["model"] for r in data["rows"]}
    assert SCRIPT in models                                     # the exact name survives the round trip
    assert "</script>" not in str(script_json({"x": "</script><!--"})).lower()
    assert json.loads(str(script_json({"x": "</script><!-- & \u2028"}))) == {"x": "</script><!-- & \u2028"}


def test_html_is_self_contained(page):
    assert "http://" not in page and "https://" not in page
    for attr, value in re.findall(r'\b(src|href)\s*=\s*"([^"]*)"', page):
        assert value.startswith("#"), f"{attr}={value!r} points outside the page"
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"<(img|iframe|object|embed|audio|video|source)\b", page, re.I)
    assert "@import" not in page and "url(" not in page
    # the Content-Security-Policy forbids any request and allows only the page's own script by hash
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    assert "default-src 'none'" in csp
    js = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_html_content(page, lb):
    assert "paper (reported)" in page and "TVTS (YT-Temporal)" in page
    assert "built-in world" in page and "contaminated" in page
    assert "not separable from tvts (paired bootstrap)" in page
    assert "not separable from tvts (interval overlap)" in page
    assert page.count('class="result-details"') == sum(len(c.cells) for c in lb.columns)
    assert "Temporal sensitivity" in page      # ssv2-v2v has shuffled/repeated diagnostics
    assert "R@1 <small>(shuffled)</small>" in page and "R@1 <small>(repeated)</small>" in page
    # one table per task column plus the summary
    assert page.count('class="sortable-table task-table"') == len(lb.columns)


def test_markdown(lb):
    md = render_markdown(lb)
    assert SCRIPT not in md and ESCAPED in md
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| Model | Avg rank | ssv2-linear"))
    assert "ssv2-linear [built-in world] (top1)" in header
    tvts = next(line for line in lines if line.startswith("| tvts |"))
    assert "| 1.2 (6/6) |" in tvts                        # average rank with its coverage
    assert "**63.5** [56.5, 70.2]" in tvts                # the best in bold, with its interval
    clip = next(line for line in lines if line.startswith("| clip |"))
    assert "63.0 [56.0, 69.5] \u2248" in clip and "not separable" not in clip   # the mark, said once below
    assert "\u2248: not separable from the best" in md and "rows are ordered by coverage first" in md
    # one row per model, ordered by coverage then average rank (the script model has 1 task: last)
    summary = [line.split("|")[1].strip() for line in lines[lines.index(header) + 2:]
               if line.startswith("| ") and not line.startswith("| *")][:4]
    assert summary == ["tvts", "clip", "videomae", ESCAPED]
    paper_row = next(line for line in lines if line.startswith("| *paper (reported)*: TVTS (YT-Temporal)"))
    cells = [c.strip() for c in paper_row.strip("|").split("|")]
    keys = [c.key for c in lb.columns]
    assert cells[2 + keys.index("ssv2-linear")] == "31.5 (Table 4)"
    assert all(cells[2 + i] == "" for i, k in enumerate(keys) if k.endswith("[built-in world]"))
    assert "## ssv2-v2v [built-in world]" in md
    v2v_header = next(line for line in lines if line.startswith("| Model | Seeds | Views | R@1 |"))
    assert v2v_header.endswith("| R@1 (shuffled) | R@1 (repeated) | Badges |")
    # seeds as a count with their ids: "0" never reads as zero seeds
    assert "| tvts | 3 seeds: 0, 1, 2 |" in md and "| clip | 1 seed: 0 |" in md
    assert "95% paired bootstrap" in md


def test_csv_long_format(lb):
    text = render_csv(lb)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ("model,task,source,metric,value,ci_low,ci_high,n_seeds,"
                                    "seeds,kind,role,rank,avg_rank,tasks_ranked,tasks_total")
    tvts = [r for r in rows if (r["model"], r["task"], r["source"], r["metric"]) == ("tvts", "ssv2-linear", "builtin",
                                                                                       "top1")]
    assert len(tvts) == 1 and float(tvts[0]["value"]) == pytest.approx(63.5) and tvts[0]["n_seeds"] == "3"
    assert tvts[0]["seeds"] == "0 1 2" and tvts[0]["kind"] == "model" and tvts[0]["rank"] == "1"
    assert float(tvts[0]["avg_rank"]) == pytest.approx(7 / 6, abs=1e-5)
    assert (tvts[0]["tasks_ranked"], tvts[0]["tasks_total"]) == ("6", "6")
    assert {r["kind"] for r in rows if r["source"] == "paper"} == {"paper"}
    assert all(r["avg_rank"] == "" for r in rows if r["kind"] == "paper")
    assert float(tvts[0]["ci_low"]) < 63.5 < float(tvts[0]["ci_high"])
    assert {r["source"] for r in rows} == {"builtin", "real", "paper"}
    assert {r["task"] for r in rows if r["source"] == "paper"} == {"ssv2-linear", "msrvtt-ret-ft"}
    assert any(r["metric"] == "shuffled:R@1" and r["model"] == "tvts" for r in rows)
    assert any(r["model"] == SCRIPT for r in rows)    # CSV is data: the name is kept verbatim


def test_command_writes_each_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for fmt, name in (("html", "index.html"), ("md", "index.md"), ("csv", "index.csv")):
        result = runner.invoke(leaderboard_cmd, ["--results", str(FIXTURES), "--format", fmt])
        assert result.exit_code == 0, result.output
        out = tmp_path / "leaderboard" / name
        assert out.is_file() and str(out.resolve()) in result.output
    custom = tmp_path / "deep" / "board.html"
    result = runner.invoke(leaderboard_cmd, ["--results", str(FIXTURES), "--out", str(custom)])
    assert result.exit_code == 0 and custom.read_text().startswith("<!doctype html>")
    assert not list(custom.parent.glob(".*.tmp"))          # atomic write leaves no temporary file


def test_command_defaults_to_home_results(tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "tvts", home / "results" / "tvts")
    monkeypatch.setenv("TVTS_BENCH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(leaderboard_cmd, ["--format", "csv"])
    assert result.exit_code == 0, result.output
    assert {r["model"] for r in csv.DictReader(open(tmp_path / "leaderboard" / "index.csv"))} >= {"tvts"}


def test_empty_or_missing_results_exit_2(tmp_path, monkeypatch, capsys):
    from tvts_bench.cli import main

    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as e:
        main(["leaderboard", "--results", str(empty), "--out", str(tmp_path / "x.html")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "no usable result files" in err and "tvts-bench demo" in err
    (empty / "bad.json").write_text("{}")
    with pytest.raises(SystemExit) as e:
        main(["leaderboard", "--results", str(empty)])
    assert e.value.code == 2 and "bad.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["leaderboard", "--results", str(tmp_path / "nope")])
    assert e.value.code == 2 and "results folder not found" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def _summary_html(page: str) -> str:
    return re.search(r'<table class="sortable-table summary" id="summary-table">(.*?)</table>', page, re.S).group(1)


def test_summary_one_number_per_cell_and_rules_said_once(page, lb):
    summary = _summary_html(page)
    measured = re.search(r'<tbody class="measured">(.*?)</tbody>', summary, re.S).group(1)
    cells = re.findall(r'<td class="v[^"]*"[^>]*>(.*?)</td>', measured, re.S)
    assert len(cells) == len(lb.models) * len(lb.columns)
    for cell in cells:
        text = html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        assert re.fullmatch(r"\d+\.\d[\u2248?c]*|\u2013", text), text            # one number, marks at most
    # no long badge in the summary: the rule is in the caption, once
    visible = re.sub(r"<[^>]+>", "", measured)
    assert "not separable" not in visible and "badge tie" not in measured and "paired bootstrap" not in visible
    caption = re.search(r"<caption>(.*?)</caption>", summary, re.S).group(1)
    assert "paired bootstrap" in caption and "intervals overlap" in caption and "Avg rank" in caption
    assert "Bold" in caption and "\u2248" in caption and "floor" in caption and "ceiling" in caption
    # the interval is in the cell's tooltip; the number links to the details panel
    tvts = re.search(r'<th scope="row" data-sort="tvts"[^>]*>tvts</th>(.*?)</tr>', measured, re.S).group(1)
    assert "[56.50, 70.17] (95% interval)" in tvts and "3 seeds: 0, 1, 2" in tvts
    assert re.search(r'<a class="details-link num" href="#d-\d+-0">63.5</a>', tvts)
    # a two-level header: protocol groups once, then one leaf per column
    assert summary.count('<th class="group"') == 5 and summary.count("sortable leaf") == len(lb.columns)
    assert ">1.2</span> <small class=\"cov\">(6/6)</small>" in tvts


def test_page_uses_no_inline_style_attributes(page):
    # the Content-Security-Policy allows the page's one <style> block only: shading is by class
    assert not re.search(r"\sstyle\s*=", page)
    assert re.search(r'class="v s10 best"', page)


def test_compare_data_is_embedded(page, lb):
    data = json.loads(_json_block(page))["summary"]
    assert data["models"] == lb.models
    col = next(c for c in data["columns"] if c["key"] == "ssv2-linear [built-in world]")
    assert len(col["pairs"]) == 6 and col["metric"] == "top1" and col["lower"] is False
    i, j = data["models"].index("tvts"), data["models"].index("clip")
    pair = next(p for p in col["pairs"] if {p["a"], p["b"]} == {i, j})
    assert pair["rule"] == "paired bootstrap" and pair["sep"] is False and pair["lo"] < 0 < pair["hi"]
    assert col["values"][i][0] == pytest.approx(63.5)


def test_task_tables_seeds_views_and_provenance(page):
    assert "<td data-sort=\"3\">3 seeds: 0, 1, 2</td>" in page and "<td data-sort=\"1\">1 seed: 0</td>" in page
    assert "<dt>finished</dt><dd>2026-11-20T10:02:30Z</dd>" in page
    assert "<dt>commit</dt><dd><code>abc1234</code></dd>" in page

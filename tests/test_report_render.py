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
    header = next(line for line in lines if line.startswith("| Model | ssv2-linear"))
    assert "ssv2-linear [built-in world] (top1)" in header
    tvts = next(line for line in lines if line.startswith("| tvts |"))
    assert "63.5 [56.5, 70.2] (best)" in tvts
    paper_row = next(line for line in lines if line.startswith("| *paper (reported)*: TVTS (YT-Temporal)"))
    cells = [c.strip() for c in paper_row.strip("|").split("|")]
    keys = [c.key for c in lb.columns]
    assert cells[1 + keys.index("ssv2-linear")] == "31.5 (Table 4)"
    assert all(cells[1 + i] == "" for i, k in enumerate(keys) if k.endswith("[built-in world]"))
    assert "## ssv2-v2v [built-in world]" in md
    v2v_header = next(line for line in lines if line.startswith("| Model | Seeds | R@1 |"))
    assert v2v_header.endswith("| R@1 (shuffled) | R@1 (repeated) | Badges |")
    assert "95% paired bootstrap" in md


def test_csv_long_format(lb):
    text = render_csv(lb)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "model,task,source,metric,value,ci_low,ci_high,n_seeds"
    tvts = [r for r in rows if (r["model"], r["task"], r["source"], r["metric"]) == ("tvts", "ssv2-linear", "builtin",
                                                                                       "top1")]
    assert len(tvts) == 1 and float(tvts[0]["value"]) == pytest.approx(63.5) and tvts[0]["n_seeds"] == "3"
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

"""Pretraining curves in the report: read from each run's metrics.jsonl beside the results, drawn as
escaped inline SVG in the HTML and summarised in the Markdown; bad lines are skipped with a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tvts_bench.report.commands import write_leaderboard
from tvts_bench.report.pretraining import curves_svg, load_runs

FIXTURES = Path(__file__).parent / "fixtures" / "results"


def _run(folder: Path, rows: list, objective: str = "tvts", extra_lines: str = "") -> None:
    folder.mkdir(parents=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + extra_lines)
    (folder / "run_config.json").write_text(json.dumps({"objective_config": {"name": objective}}))


def _tvts_rows() -> list:
    rows = [{"step": s, "loss": 9.0 - s / 10, "l_base": 7.0 - s / 20, "l_sort": 1.5 - s / 100,
             "sort_acc": s / 200, "con_acc": s / 100} for s in (5, 10, 15, 20)]
    rows.append({"step": 20, "split": "val", "l_base": 7.5, "l_sort": 1.42, "sort_acc": 0.0, "con_acc": 0.05})
    return rows


def test_runs_are_read_with_their_splits_and_bad_lines_named(tmp_path: Path) -> None:
    _run(tmp_path / "runs" / "tvts", _tvts_rows(), extra_lines='not json\n{"step": "x"}\n{"loss": 1}\n')
    (tmp_path / "runs" / "empty").mkdir()                        # no metrics: not a run to draw
    runs, warnings = load_runs(tmp_path / "runs")
    assert [r.name for r in runs] == ["tvts"] and runs[0].objective == "tvts" and runs[0].steps == 20
    assert runs[0].series[("l_sort", "train")] == [(5.0, 1.45), (10.0, 1.4), (15.0, 1.35), (20.0, 1.3)]
    assert runs[0].last("l_sort", "val") == 1.42 and runs[0].last("recon", "train") is None
    assert len(warnings) == 3 and all("metrics.jsonl:" in w for w in warnings)
    assert {w.rsplit(":", 2)[1] for w in warnings} == {"6", "7", "8"}     # the line numbers
    losses, accuracies = curves_svg(runs[0])
    # sort and contrastive losses, train and val each (4 lines), and the ln 4 reference
    assert str(losses).count("<polyline") == 4 and "ln 4" in str(losses)
    assert str(accuracies).count("<polyline") == 4 and "1/4!" in str(accuracies)
    assert load_runs(tmp_path / "missing") == ([], [])


def test_leaderboard_draws_the_runs_beside_the_results(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "results")
    _run(tmp_path / "runs" / "tvts", _tvts_rows())
    _run(tmp_path / "runs" / "<img src=x onerror=alert(1)>", [{"step": 1, "recon": 0.9}], objective="videomae")
    html, _ = write_leaderboard(tmp_path / "results", tmp_path / "out" / "index.html")
    page = html.read_text()
    assert 'id="pretraining"' in page and 'href="#pretraining"' in page
    section = page[page.index('id="pretraining"'):page.index('id="paper"')]
    assert "<img src=x" not in section and "&lt;img src=x onerror=alert(1)&gt;" in section
    assert section.count("<svg") == 3                          # tvts: losses + accuracies; videomae: losses
    md, _ = write_leaderboard(tmp_path / "results", tmp_path / "out" / "index.md", "md")
    text = md.read_text()
    assert "## Pretraining runs" in text
    assert "| tvts | tvts | 20 | 1.300 / 1.420 | 0.100 / 0.000 | 0.200 / 0.050 | – / – |" in text
    # elsewhere, or with --runs pointing at nothing, no section
    html, _ = write_leaderboard(tmp_path / "results", tmp_path / "out" / "plain.html", runs=tmp_path / "none")
    assert 'id="pretraining"' not in html.read_text()

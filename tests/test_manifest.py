"""Manifest counts, missing lists, hash stability, and the ``data check`` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tvts_bench.cli import cli, main
from tvts_bench.data.manifest import build_manifest
from tvts_bench.data.readers import read_dataset

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def manifest_of(name: str, root: Path, **options):
    return build_manifest(read_dataset(name, root, **options))


def test_counts_and_missing_lists():
    m = manifest_of("ssv2", FIXTURES / "ssv2")
    assert m.dataset == "ssv2" and m.classes == 3
    d = m.to_dict()
    assert set(d) == {"dataset", "classes", "splits", "hash"}
    assert d["splits"] == {
        "train": {"listed": 4, "found": 4, "missing": 0, "missing_videos": []},
        "validation": {"listed": 2, "found": 1, "missing": 1,
                       "missing_videos": ["20bn-something-something-v2/6.webm"]}}
    k = manifest_of("k400", FIXTURES / "k400")
    assert (k.splits["val"].listed, k.splits["val"].found, k.splits["val"].missing_videos) == (
        2, 1, ["val/eee555_000003_000013.mp4"])
    assert k.listed == 5 and k.missing == 1
    # DiDeMo: one video with two descriptions counts once
    dd = manifest_of("didemo", FIXTURES / "didemo")
    assert dd.splits["train"].listed == 2 and dd.splits["test"].missing_videos == ["videos/55@N04_5_e.m4v"]
    assert dd.classes == 0


def test_hash_same_data_two_roots_and_changes_with_one_byte(tmp_path):
    a, b = tmp_path / "a" / "ucf101", tmp_path / "machine2" / "data" / "ucf101"
    shutil.copytree(FIXTURES / "ucf101", a)
    shutil.copytree(FIXTURES / "ucf101", b)
    ha, hb = manifest_of("ucf101", a).hash, manifest_of("ucf101", b).hash
    assert ha == hb and len(ha) == 16
    assert ha == manifest_of("ucf101", FIXTURES / "ucf101").hash
    # drop one byte (a CR of a CRLF line ending): same records, different annotation content
    lst = b / "ucfTrainTestlist" / "trainlist01.txt"
    lst.write_bytes(lst.read_bytes().replace(b"\r\n", b"\n", 1))
    assert manifest_of("ucf101", b).to_dict()["splits"] == manifest_of("ucf101", a).to_dict()["splits"]
    assert manifest_of("ucf101", b).hash != ha


def test_hash_changes_with_a_single_annotation_byte_that_leaves_records_equal(tmp_path):
    root = tmp_path / "msrvtt"
    shutil.copytree(FIXTURES / "msrvtt", root)
    before = manifest_of("msrvtt", root)
    data = root / "MSRVTT_data.json"
    data.write_bytes(data.read_bytes().replace(b'"year": 2016', b'"year": 2017'))
    after = manifest_of("msrvtt", root)
    assert after.to_dict()["splits"] == before.to_dict()["splits"] and after.hash != before.hash


def test_hash_changes_when_a_video_goes_missing_and_with_split_option(tmp_path):
    root = tmp_path / "hmdb51"
    shutil.copytree(FIXTURES / "hmdb51", root)
    before = manifest_of("hmdb51", root)
    (root / "cartwheel/#122_Cartwheel_cartwheel_f_cm_np1_ri_med_0.avi").unlink()
    after = manifest_of("hmdb51", root)
    assert after.splits["test"].missing_videos == ["cartwheel/#122_Cartwheel_cartwheel_f_cm_np1_ri_med_0.avi"]
    assert after.hash != before.hash
    assert manifest_of("hmdb51", root, split=2).hash != after.hash


def test_cli_check_json(tmp_path):
    result = CliRunner().invoke(cli, ["data", "check", "ssv2", "--root", str(FIXTURES / "ssv2"), "--json"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert set(obj) == {"dataset", "classes", "splits", "hash"}
    assert obj["dataset"] == "ssv2" and obj["classes"] == 3
    assert obj["splits"]["validation"] == {"listed": 2, "found": 1, "missing": 1,
                                           "missing_videos": ["20bn-something-something-v2/6.webm"]}
    assert obj["hash"] == manifest_of("ssv2", FIXTURES / "ssv2").hash


def test_cli_check_table_and_split_option():
    result = CliRunner().invoke(cli, ["data", "check", "ucf101", "--root", str(FIXTURES / "ucf101")])
    assert result.exit_code == 0, result.output
    assert "UCF-101/YoYo/v_YoYo_g01_c01.avi" in result.output and "train" in result.output
    result = CliRunner().invoke(cli, ["data", "check", "ucf101", "--root", str(FIXTURES / "ucf101"),
                                      "--split", "2", "--json"])
    obj = json.loads(result.output)
    assert obj["splits"]["train"]["listed"] == 2 and obj["splits"]["test"]["missing"] == 0


class _Captured:
    def __init__(self, out: str, err: str):
        self.out = out
        self.err = err.replace("\n", "")     # rich wraps long paths at the terminal width


def _run_main(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    captured = capsys.readouterr()
    return e.value.code, _Captured(captured.out, captured.err)


def test_cli_missing_root_exit_code_2_clear_message(tmp_path, capsys):
    code, out = _run_main(["data", "check", "k400", "--root", str(tmp_path / "nowhere"), "--json"], capsys)
    assert code == 2
    assert "error:" in out.err and "dataset root not found" in out.err and "nowhere" in out.err
    assert "Traceback" not in out.err and out.out == ""


def test_cli_malformed_annotation_exit_code_2_names_file_and_line(tmp_path, capsys):
    root = tmp_path / "lsmdc"
    shutil.copytree(FIXTURES / "lsmdc", root)
    (root / "LSMDC16_annos_val.csv").write_text("only\ttwo\n")
    code, out = _run_main(["data", "check", "lsmdc", "--root", str(root)], capsys)
    assert code == 2 and "LSMDC16_annos_val.csv" in out.err and "line 1" in out.err
    assert "Traceback" not in out.err


def test_cli_split_option_refused_for_other_datasets(capsys):
    code, out = _run_main(["data", "check", "k400", "--root", str(FIXTURES / "k400"), "--split", "2"],
                          capsys)
    assert code == 2 and "--split applies to ucf101, hmdb51, not k400" in out.err


def test_cli_without_root_uses_configured_root(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TVTS_BENCH_DATA_MSVD", str(FIXTURES / "msvd"))
    result = CliRunner().invoke(cli, ["data", "check", "msvd", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["splits"]["test"]["missing_videos"] == ["YouTubeClips/00jrXRMlZOY_0_10.avi"]


def test_cli_without_root_uses_the_builtin_world(request, capsys):
    world = pytest.importorskip("tvts_bench.world")
    if not hasattr(world, "generate"):
        pytest.skip("the built-in world generator is not in this build yet")
    request.getfixturevalue("bench_home")          # TVTS_BENCH_HOME whose world is the tiny one
    tiny_world = request.getfixturevalue("tiny_world")
    counts = json.loads((tiny_world / "world.json").read_text())["counts"]["k400"]
    result = CliRunner().invoke(cli, ["data", "check", "k400", "--json"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert {s: v["listed"] for s, v in obj["splits"].items()} == counts["splits"]
    assert all(v["missing"] == 0 for v in obj["splits"].values())
    assert obj["hash"] == manifest_of("k400", tiny_world / "k400").hash
    if "webvid" not in json.loads((tiny_world / "world.json").read_text())["counts"]:
        code, out = _run_main(["data", "check", "webvid"], capsys)
        assert code == 2 and "no webvid stand-in" in out.err

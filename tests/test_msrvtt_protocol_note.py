"""MSR-VTT read without the 1k-A lists says so: a note on the index that the runner prints and copies
into every result, naming the split used and its captions per video."""

from __future__ import annotations

import shutil
from pathlib import Path

from tvts_bench.data.readers import read_dataset

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def test_msrvtt_with_1k_a_lists_has_no_note():
    assert read_dataset("msrvtt", FIXTURES / "msrvtt").notes == []


def test_msrvtt_without_1k_a_lists_says_which_split_and_captions(tmp_path: Path):
    root = tmp_path / "msrvtt"
    shutil.copytree(FIXTURES / "msrvtt_vdi", root)
    for name in ("MSRVTT_train.9k.csv", "MSRVTT_JSFUSION_test.csv"):
        (root / name).unlink()
    notes = read_dataset("msrvtt", root).notes
    assert len(notes) == 2
    assert "MSRVTT_JSFUSION_test.csv" in notes[0] and "not the 1k-A" in notes[0]
    assert "(1 videos, 2 captions, 2.0 per video)" in notes[0]
    assert "MSRVTT_train.9k.csv" in notes[1]

"""No file the project reads back can run code: planted pickles in resume files are refused, and no
module loads pickles with ``weights_only=False`` or a bare ``pickle.load``."""

from __future__ import annotations

import io
import pickle
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

from tvts_bench.bench.protocols import _train
from tvts_bench.errors import CheckpointError
from tvts_bench.state_io import load_state, save_state

PACKAGE = Path(__file__).resolve().parents[1] / "tvts_bench"


class _Plant:
    """Unpickling this calls ``Path.touch(marker)``: the proof that a load ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def plant(path: Path, marker: Path, *, zipped: bool) -> None:
    payload = {"fingerprint": "x", "epoch": 1, "evil": _Plant(marker)}
    if zipped:
        torch.save(payload, path)                  # torch's zip format, as a real resume file is
    else:
        path.write_bytes(pickle.dumps(payload))


@pytest.mark.parametrize("zipped", [True, False])
def test_fine_tuning_resume_file_with_a_planted_pickle_runs_nothing(tmp_path: Path, zipped: bool) -> None:
    ckpt, marker = tmp_path / "ft-checkpoint.pt", tmp_path / "ran"
    plant(ckpt, marker, zipped=zipped)
    with pytest.raises(CheckpointError, match="cannot read the resume checkpoint"):
        _train.load_checkpoint(ckpt, "x")
    assert not marker.exists()


def test_training_state_round_trips_with_weights_only(tmp_path: Path) -> None:
    np.random.seed(3)
    state = {"fingerprint": "f", "numpy_rng": np.random.get_state(), "torch_rng": torch.get_rng_state(),
             "history": [{"loss": 1.5, "n": np.int64(3)}], "best": (0.5, 2)}
    save_state(tmp_path / "s.pt", state)
    back = load_state(tmp_path / "s.pt")
    assert back["fingerprint"] == "f" and back["best"] == (0.5, 2) and back["history"][0]["n"] == 3
    np.random.set_state(back["numpy_rng"])            # numpy accepts the restored state
    assert np.random.random() == pytest.approx((np.random.seed(3), np.random.random())[1])
    assert torch.equal(back["torch_rng"], state["torch_rng"])


ALLOWED_MARK = "safe: restricted unpickler"     # on or above a torch.load whose pickle_module refuses every call


def _unsafe_calls(path: Path) -> list[int]:
    """Line numbers of ``weights_only=False`` and ``pickle.load(s)(`` in code (not strings or comments)."""
    toks = [t for t in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
            if t.type in (tokenize.NAME, tokenize.OP)]
    lines = []
    for a, b, c in zip(toks, toks[1:], toks[2:]):
        if (a.string, b.string, c.string) == ("weights_only", "=", "False"):
            lines.append(a.start[0])
        if a.string == "pickle" and b.string == "." and c.string in ("load", "loads"):
            lines.append(a.start[0])
    return lines


def test_no_module_unpickles_unsafely() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8").splitlines()
        for no in _unsafe_calls(path):
            if ALLOWED_MARK not in text[no - 1] and (no < 2 or ALLOWED_MARK not in text[no - 2]):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{no}: {text[no - 1].strip()}")
    assert not offenders, "unsafe unpickling:\n" + "\n".join(offenders)


@pytest.mark.parametrize("zipped", [True, False])
def test_pretraining_trainer_state_with_a_planted_pickle_runs_nothing(tiny_world: Path, tmp_path: Path,
                                                                      zipped: bool) -> None:
    from tests.test_pretrain_trainer import _config, _records
    from tvts_bench.pretrain.checkpoint import latest_checkpoint
    from tvts_bench.pretrain.trainer import Trainer

    train, val = _records(tiny_world)
    run = tmp_path / "run"
    assert Trainer(_config(run, steps=1), train, val).fit().status == "finished"
    ckpt = latest_checkpoint(run)
    marker = tmp_path / "ran"
    plant(ckpt / "trainer_state.pt", marker, zipped=zipped)
    with pytest.raises(CheckpointError, match="trainer_state.pt"):
        Trainer(_config(run, steps=2, resume=True), train, val).try_resume()
    assert not marker.exists()


def test_a_malformed_trainer_state_is_a_clear_error(tiny_world: Path, tmp_path: Path) -> None:
    from tests.test_pretrain_trainer import _config, _records
    from tvts_bench.pretrain.checkpoint import latest_checkpoint
    from tvts_bench.pretrain.trainer import Trainer

    train, val = _records(tiny_world)
    run = tmp_path / "run"
    Trainer(_config(run, steps=1), train, val).fit()
    state = latest_checkpoint(run) / "trainer_state.pt"
    torch.save({"step": 1}, state)
    with pytest.raises(CheckpointError, match="lacks optimizer"):
        Trainer(_config(run, steps=2, resume=True), train, val).try_resume()
    state.write_bytes(b"not a pickle at all")
    with pytest.raises(CheckpointError, match="cannot read"):
        Trainer(_config(run, steps=2, resume=True), train, val).try_resume()

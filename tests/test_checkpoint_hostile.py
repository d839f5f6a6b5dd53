"""Broken or hostile checkpoints are clear errors naming the file (and key), never a traceback:
random bytes, JSON, truncated files, missing tensors, tensors of odd shapes and dtypes, empty dicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.test_importers_reference import _authors_state, _no_home, _save_authors  # noqa: F401
from tvts_bench.errors import TvtsBenchError
from tvts_bench.zoo.registry import load_model


def _load(path: Path):
    return load_model("tvts-authors-vitb", checkpoint=path)


def _variants(tmp_path: Path):
    good = _save_authors(tmp_path / "good.pth", _authors_state(0))
    data = good.read_bytes()
    yield "random bytes", lambda p: p.write_bytes(bytes(range(256)) * 8)
    yield "json", lambda p: p.write_text('{"state_dict": {}}')
    yield "empty file", lambda p: p.write_bytes(b"")
    yield "truncated", lambda p: p.write_bytes(data[: len(data) // 2])
    yield "not a dict", lambda p: torch.save([1, 2, 3], p)
    yield "empty state", lambda p: torch.save({"state_dict": {}}, p)
    state = _authors_state(0)

    def drop(key):
        return lambda p: _save_authors(p, {k: v for k, v in state.items() if k != key})

    def replace(key, value):
        return lambda p: _save_authors(p, {**state, key: value})

    yield "no pos_embed", drop("pos_embed")
    yield "no temporal_embed", drop("temporal_embed")
    yield "no patch_embed", drop("patch_embed.proj.weight")
    yield "no block 0 qkv", drop("blocks.0.attn.qkv.weight")
    yield "pos_embed not square", replace("pos_embed", torch.zeros(1, 1 + 7, 384))
    yield "pos_embed 2-d", replace("pos_embed", torch.zeros(17, 384))
    yield "patch_embed 2-d", replace("patch_embed.proj.weight", torch.zeros(384, 3))
    yield "qkv wrong width", replace("blocks.0.attn.qkv.weight", torch.zeros(3 * 384, 100))
    yield "fc1 odd", replace("blocks.0.mlp.fc1.weight", torch.zeros(7, 384))
    yield "a string tensor", replace("cls_token", "hello")
    yield "int tensor", replace("norm.weight", torch.zeros(384, dtype=torch.int64))
    yield "width 0", lambda p: _save_authors(p, _authors_state(0, d=0))


def test_every_broken_authors_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    problems = []
    for name, write in _variants(tmp_path):
        path = tmp_path / f"{name.replace(' ', '_')}.pth"
        write(path)
        try:
            _load(path)
        except TvtsBenchError as e:
            if str(path) not in str(e) and path.name not in str(e):
                problems.append(f"{name}: the error does not name the file: {e}")
        except Exception as e:  # noqa: BLE001 - the point of the test
            problems.append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
    assert not problems, "\n".join(problems)


def test_every_broken_videomae_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from tests.test_importers_reference import _hf_videomae, _pretrain_file

    good = _pretrain_file(tmp_path / "good.pth", _hf_videomae(use_mean_pooling=False))
    content = torch.load(good, map_location="cpu", weights_only=False)  # the test's own file
    state = content["model"]

    def write(mutated: dict, name: str) -> Path:
        path = tmp_path / f"{name}.pth"
        torch.save({**content, "model": mutated}, path)
        return path

    cases = {
        "no patch_embed": {k: v for k, v in state.items() if "patch_embed" not in k},
        "no blocks": {k: v for k, v in state.items() if ".blocks." not in k or k.startswith("decoder")},
        "qkv odd": {**state, "encoder.blocks.0.attn.qkv.weight": torch.zeros(5, 384)},
        "patch 2-d": {**state, "encoder.patch_embed.proj.weight": torch.zeros(384, 3)},
        "fc1 string": {**state, "encoder.blocks.0.mlp.fc1.weight": "x"},
        "width 7": {**state, "encoder.patch_embed.proj.weight": torch.zeros(7, 3, 2, 16, 16)},
    }
    problems = []
    for name, mutated in cases.items():
        path = write(mutated, name.replace(" ", "_"))
        try:
            load_model("videomae-vitb-k400", checkpoint=path)
            problems.append(f"{name}: loaded")
        except TvtsBenchError as e:
            if path.name not in str(e):
                problems.append(f"{name}: the error does not name the file: {e}")
        except Exception as e:  # noqa: BLE001 - the point of the test
            problems.append(f"{name}: {type(e).__name__}: {str(e)[:200]}")
    assert not problems, "\n".join(problems)

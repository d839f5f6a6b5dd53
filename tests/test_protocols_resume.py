"""The training protocols share one resumable epoch loop (``protocols/_train.EpochLoop``): a run
interrupted after an epoch and run again ends exactly where an uninterrupted run ends (same losses,
metrics and per-sample outcomes), for fine-tuning and for retrieval fine-tuning alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_protocols import make_ctx

from tvts_bench.bench.protocols import PROTOCOLS
from tvts_bench.bench.protocols import _train

# Every random source the loop must restore is in use: RandAugment and mixup (NumPy's global
# generator), random erasing (Python's), drop path, flips and the loader's shuffle (torch's), the
# held-out part (a best-epoch checkpoint), and for ret-ft the protocol's own caption generator.
CASES = {
    "ft": dict(params={"epochs": 3, "warmup_epochs": 1, "batch_size": 8, "lr": 0.05, "drop_path": 0.1,
                       "randaug": "rand-m7-n2-mstd0.5-inc1", "reprob": 0.5, "flip": True, "val_fraction": 0.25},
               sampling={"clips": 2, "crops": 1}),
    "ret-ft": dict(params={"epochs": 3, "batch_size": 8, "lr": 3e-3, "head_lr": 3e-3, "temperature": "learnable",
                           "train_captions": "random"},
                   kind="multi", text=True, dataset="msrvtt"),
}


class Interrupted(Exception):
    pass


def _losses(out, protocol: str) -> list[float]:
    if protocol == "ft":
        return [h["train_loss"] for h in out.extra["ft"]["history"]]
    return list(out.extra["ret_ft"]["train_loss"])


def _extra(out, protocol: str) -> dict:
    return out.extra["ft" if protocol == "ft" else "ret_ft"]


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_a_resumed_run_equals_an_uninterrupted_one(protocol: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    case = dict(CASES[protocol])
    params = case.pop("params")
    whole = PROTOCOLS[protocol](make_ctx(tmp_path / "whole", protocol, params, **case))

    # The same run, stopped at its first update after the first epoch's checkpoint ...
    ctx = make_ctx(tmp_path / "split", protocol, params, **case)
    checkpoint = ctx.work_dir / f"{protocol}-checkpoint.pt"
    real = _train.optimizer_update

    def stop_after_first_epoch(*args, **kwargs):
        if checkpoint.is_file():
            raise Interrupted
        return real(*args, **kwargs)

    monkeypatch.setattr(_train, "optimizer_update", stop_after_first_epoch)
    with pytest.raises(Interrupted):
        PROTOCOLS[protocol](ctx)
    monkeypatch.setattr(_train, "optimizer_update", real)
    # ... then run again, from another process state: the loop restores every random state it saved.
    torch.manual_seed(12345)
    np.random.seed(12345)
    resumed = PROTOCOLS[protocol](make_ctx(tmp_path / "split", protocol, params, **case))

    assert _extra(whole, protocol)["resumed_from_epoch"] == 0 and _extra(resumed, protocol)["resumed_from_epoch"] == 1
    assert _losses(resumed, protocol) == _losses(whole, protocol) and len(_losses(whole, protocol)) == 3
    assert resumed.clips == whole.clips
    assert {k: v.value for k, v in resumed.metrics.items()} == {k: v.value for k, v in whole.metrics.items()}
    assert resumed.per_sample == whole.per_sample
    if protocol == "ft":
        assert _extra(resumed, protocol)["tested_epoch"] == _extra(whole, protocol)["tested_epoch"]
    else:
        assert _extra(resumed, protocol)["temperature"] == _extra(whole, protocol)["temperature"]


def test_a_resume_file_of_another_configuration_is_not_resumed(tmp_path: Path) -> None:
    params = {"epochs": 1, "warmup_epochs": 0, "batch_size": 8, "lr": 0.05, "randaug": None, "mixup": 0,
              "cutmix": 0, "reprob": 0}
    PROTOCOLS["ft"](make_ctx(tmp_path, "ft", params))
    again = PROTOCOLS["ft"](make_ctx(tmp_path, "ft", params))
    assert again.extra["ft"]["resumed_from_epoch"] == 1          # the same configuration: nothing to train
    other = PROTOCOLS["ft"](make_ctx(tmp_path, "ft", {**params, "lr": 0.01}))
    assert other.extra["ft"]["resumed_from_epoch"] == 0          # another card: another fingerprint

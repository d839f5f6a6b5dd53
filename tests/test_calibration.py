"""World calibration on the tiny world: reference rows written as result files, never ranked; chance
exactly at chance; the truth features carry order; pixel runs resume instead of recomputing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tvts_bench.calibration.run import Budget, CalibrationOptions, RetrievalBudget, calibrate
from tvts_bench.calibration.truth import TruthFeatures, scene_tokens


def test_truth_tokens_tell_order_apart(tiny_world: Path) -> None:
    from tvts_bench.data.readers import read_dataset
    from tvts_bench.world.classes import SSV2_CLASSES

    truth = TruthFeatures(tiny_world)
    index = read_dataset("ssv2", tiny_world / "ssv2")
    by_class: dict[int, set[str]] = {}
    for r in index.records("train"):
        by_class.setdefault(r.label, set()).update(t for t in scene_tokens(truth.scene_of(r.path))
                                                   if t.startswith("ev0:"))
    # classes 0/1 are one order of the four events and its reversal: their first events differ
    first = [SSV2_CLASSES[k].action.split(":")[1].split(",")[0] for k in (0, 1)]
    assert first[0] != first[1]
    assert f"ev0:{first[0]}" in by_class[0] and f"ev0:{first[1]}" not in by_class[0]
    assert f"ev0:{first[1]}" in by_class[1]
    x = truth.features([r.path for r in index.records("train")])
    assert x.shape[1] == truth.dim and set(np.unique(x)) <= {0.0, 1.0}


def test_captions_read_back_as_a_subset_of_their_scene() -> None:
    """The text-video perception probe reads every caption the world writes: each caption's tokens are
    its scene's (events, actors, which comes first), and it names every event it describes."""
    from tvts_bench.calibration.truth import caption_tokens, retrieval_tokens
    from tvts_bench.world.captions import paraphrases
    from tvts_bench.world.scenes import sample_story

    rng = np.random.default_rng(0)
    for _ in range(150):
        scene = sample_story(rng, 9.0, 8, 64, lead=(0.2, 0.8))
        truth = set(retrieval_tokens(scene))
        for caption in paraphrases(scene, rng, 3):
            if rng.random() < 0.3:                  # LSMDC's sentence form
                caption = caption[:1].upper() + caption[1:] + "."
            tokens = caption_tokens(caption)
            assert set(tokens) <= truth, caption
            assert sum(t.startswith("event=") for t in tokens) == len(scene.events), caption
    # and a caption of another scene does not pass for this one
    assert not set(caption_tokens("a red star jumps once and then the red star flickers out and back in")) \
        <= {"event=hop", "actor=red star:hop"}


def test_calibration_writes_reference_rows_and_resumes(bench_home: Path) -> None:
    from tvts_bench.bench.results import read_result
    from tvts_bench.report.aggregate import load_results

    opts = CalibrationOptions(datasets=("ssv2", "msrvtt"), rows=("chance", "perception", "pixel"),
                              world_preset="tiny", budget=Budget(epochs=1, warmup_epochs=0),
                              retrieval_budget=TINY_RETRIEVAL)
    table = calibrate(opts)
    rows = {(r["task"], r["row"]): r for r in table}
    # chance: 4 balanced classes -> 25 % top-1; v2v with 2 videos per class among 8: R@1 = 1/7
    assert rows[("ssv2-linear", "chance")]["value"] == pytest.approx(25.0)
    assert rows[("ssv2-ft", "chance")]["value"] == pytest.approx(25.0)
    assert rows[("ssv2-v2v", "chance")]["value"] == pytest.approx(100 / 7)
    assert rows[("msrvtt-ret", "chance")]["value"] == pytest.approx(100 / 6)
    assert rows[("ssv2-linear", "perception ceiling")]["value"] >= 75.0
    # the scene-truth probe retrieves (nearly) every caption's video; chance is 1 in 6
    assert rows[("msrvtt-ret", "perception ceiling")]["value"] >= 80.0
    for r in table:
        record = read_result(r["path"])
        assert record.model.family == "reference" and record.model.card["role"] in ("floor", "ceiling")
    pixel = read_result(rows[("ssv2-v2v", "pixel ceiling")]["path"])
    assert pixel.provenance.extra["calibration"]["how"].startswith("v2v on the fine-tuned features")
    _check_text_video_pixel_rows(rows, "pixel ceiling", "the model (scratch)")
    loaded, _ = load_results(bench_home / "results")               # the leaderboard reads them ...
    assert {r.record.model.name for r in loaded} >= {"chance", "perception ceiling", "pixel ceiling"}
    # ... but not the fine-tuning runs behind them (a dot-folder), which a second calibration reuses
    runs = list((bench_home / "results" / ".calibration").rglob("builtin-seed0.json"))
    assert runs and not any("calibration-pixel" in str(r.path) for r in loaded)
    rows_written = [Path(r["path"]) for r in table]
    stamps = {p: p.stat().st_mtime_ns for p in runs + rows_written}
    again = calibrate(opts)
    assert {p: p.stat().st_mtime_ns for p in runs + rows_written} == stamps   # nothing recomputed or rewritten
    assert [(r["task"], r["row"], r["value"]) for r in again] == [(r["task"], r["row"], r["value"]) for r in table]


TINY_RETRIEVAL = RetrievalBudget(epochs=1, warmup_epochs=0, batch_size=8)   # one step on 8 videos


def _check_text_video_pixel_rows(rows: dict, label: str, architecture: str) -> None:
    """One ret-ft run from random init fills both text-video columns with the same metrics."""
    from tvts_bench.bench.results import read_result

    ret, ret_ft = (read_result(rows[(task, label)]["path"]) for task in ("msrvtt-ret", "msrvtt-ret-ft"))
    assert ret.metrics == ret_ft.metrics and "t2v_R@1" in ret.metrics and "v2t_MedR" in ret.metrics
    assert ret.model.card["role"] == "ceiling" and ret.task.protocol == "ret"
    extra = ret.provenance.extra["calibration"]
    assert extra["architecture"] == architecture and extra["budget"] == TINY_RETRIEVAL.__dict__
    run = read_result(extra["from"])
    assert run.task.name == "msrvtt-ret-ft" and run.task.card["params"]["epochs"] == 1
    assert run.metrics["t2v_R@1"].value == ret.metrics["t2v_R@1"].value


def test_order_variants_of_fine_tuning(tmp_path: Path) -> None:
    from test_protocols import make_ctx

    from tvts_bench.bench.protocols import PROTOCOLS
    from tvts_bench.errors import ConfigError

    params = {"epochs": 1, "batch_size": 8, "lr": 0.05, "frames": "shuffled", "trained_v2v": True}
    out = PROTOCOLS["ft"](make_ctx(tmp_path / "a", "ft", params))
    assert out.extra["ft"]["frames"] == "shuffled"
    assert set(out.extra["ft"]["trained_v2v"]) == {"R@1", "R@5", "R@10", "mAP"}
    with pytest.raises(ConfigError, match="frame-average needs a VideoViT"):
        PROTOCOLS["ft"](make_ctx(tmp_path / "b", "ft", {**params, "frames": "frame-average"}))


def test_frame_average_backbone_ignores_frame_order() -> None:
    import torch

    from tvts_bench.nn.video_vit import FrameViT, VideoViTConfig

    cfg = VideoViTConfig(img_size=16, num_frames=4, patch_size=(2, 8, 8), embed_dim=16, depth=1, num_heads=2)
    model = FrameViT(cfg).eval()
    x = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), model(x[:, :, [2, 0, 3, 1]]), atol=1e-6)


def test_cnn_pixel_ceiling_rows_on_the_tiny_world(bench_home: Path) -> None:
    from tvts_bench.bench.results import read_result

    from tvts_bench.calibration.run import cnn3d_adapter

    opts = CalibrationOptions(datasets=("ssv2", "msrvtt"), rows=("pixel-cnn", "order-shuffled-cnn"),
                              world_preset="tiny", budget=Budget(epochs=1, warmup_epochs=0),
                              retrieval_budget=TINY_RETRIEVAL)
    table = calibrate(opts)
    rows = {(r["task"], r["row"]): r for r in table}
    assert {r["row"] for r in table} == {"pixel ceiling (3D CNN)", "order ceiling (shuffled, 3D CNN)"}
    record = read_result(rows[("ssv2-ft", "pixel ceiling (3D CNN)")]["path"])
    assert record.provenance.extra["calibration"]["architecture"] == "cnn3d"
    assert record.model.card["role"] in ("ceiling", "diagnostic")
    # text-video: the 3D CNN as the video tower of ret-ft; no shuffled variant there
    assert {task for task, row in rows if task.startswith("msrvtt")} == {"msrvtt-ret", "msrvtt-ret-ft"}
    assert ("msrvtt-ret", "order ceiling (shuffled, 3D CNN)") not in rows
    _check_text_video_pixel_rows(rows, "pixel ceiling (3D CNN)", "cnn3d")
    # the same seeded weights on every call, so its runs are found again (and resume)
    assert cnn3d_adapter(0).weights_hash() == cnn3d_adapter(0).weights_hash() != cnn3d_adapter(1).weights_hash()


def test_cnn3d_keeps_time_and_its_feature_size() -> None:
    import torch

    from tvts_bench.nn.cnn3d import Cnn3d

    net = Cnn3d().eval()
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        out = net(x)
        assert out.shape == (2, net.feature_dim)
        assert not torch.allclose(out, net(x.flip(2)))         # frame order changes the feature

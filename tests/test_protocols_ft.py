"""The fine-tuning protocol (VideoMAE recipe from timm pieces) on a fake context with a tiny model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from test_protocols import TinyVideoNet, assert_well_formed, make_ctx

from tvts_bench.bench.protocols import PROTOCOLS
from tvts_bench.bench.protocols.finetune import (Augmenter, Classifier, apply_drop_path, layer_id, param_groups,
                                                 parse_randaug)

RECIPE = {"epochs": 2, "warmup_epochs": 1, "batch_size": 8, "lr": 0.05, "randaug": "rand-m7-n2-mstd0.5-inc1"}


def test_ft_full_recipe_runs_checkpoints_and_resumes(tmp_path):
    ctx = make_ctx(tmp_path, "ft", RECIPE, sampling={"clips": 2, "crops": 3})
    before = {k: v.clone() for k, v in ctx.adapter.video_backbone().state_dict().items()}
    out = PROTOCOLS["ft"](ctx)
    assert_well_formed(out, ["top1", "top5"])
    ft = out.extra["ft"]
    assert ft["test_views"] == 6 and ft["mixup"] and len(ft["history"]) == 2
    assert out.clips == 2 * 48
    assert all(torch.equal(v, ctx.adapter.video_backbone().state_dict()[k]) for k, v in before.items())
    assert (ctx.work_dir / "ft-checkpoint.pt").is_file()
    again = PROTOCOLS["ft"](make_ctx(tmp_path, "ft", RECIPE, sampling={"clips": 2, "crops": 3}))
    assert again.extra["ft"]["resumed_from_epoch"] == 2
    assert again.metrics["top1"].value == out.metrics["top1"].value


def test_ft_head_only_learns_and_keeps_the_encoder_frozen(tmp_path):
    params = {"epochs": 8, "warmup_epochs": 0, "batch_size": 8, "lr": 20.0, "head_only": True, "mixup": 0,
              "cutmix": 0, "reprob": 0, "randaug": None, "label_smoothing": 0.0, "val_fraction": 0.25}
    ctx = make_ctx(tmp_path, "ft", params)
    out = PROTOCOLS["ft"](ctx)
    assert out.extra["ft"]["head_only"] and out.extra["ft"]["layer_decay"] == 1.0
    assert "heldout_top1" in out.extra["ft"]["history"][0]
    assert 1 <= out.extra["ft"]["tested_epoch"] <= 8
    assert out.metrics["top1"].value > 50          # 4 separable classes: chance is 25


def test_layer_decay_groups_and_drop_path():
    import timm

    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, depth=4, drop_path_rate=0.0)
    assert apply_drop_path(vit, 0.1) == 4
    assert abs(vit.blocks[3].drop_path1.drop_prob - 0.1) < 1e-9
    assert isinstance(vit.blocks[0].drop_path1, torch.nn.Identity)
    assert layer_id("backbone.patch_embed.proj.weight", 4) == 0
    assert layer_id("backbone.blocks.2.attn.qkv.weight", 4) == 3
    assert layer_id("backbone.norm.weight", 4) == 5 and layer_id("head.weight", 4) == 5
    assert layer_id("backbone.videomae.encoder.layer.3.attention.q.weight", 4) == 4   # HuggingFace names
    model = Classifier(TinyVideoNet(), 16, 4, head_only=False)
    groups = param_groups(model, 0.05, 0.75)
    scales = {g["layer_id"]: g["lr_scale"] for g in groups}
    assert scales[0] == 0.75 ** 3 and scales[1] == 0.75 ** 2 and scales[3] == 1.0
    assert all(g["weight_decay"] == 0.0 for g in groups if any(p.ndim <= 1 for p in g["params"]))
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in model.parameters())


def test_cutmix_box_is_the_same_in_every_frame(tmp_path):
    ctx = make_ctx(tmp_path, "ft", {"mixup": 0.0, "cutmix": 1.0, "reprob": 0, "randaug": None, "flip": False})
    aug = Augmenter(ctx, num_classes=4, device=torch.device("cpu"))
    np.random.seed(0)
    video = torch.stack([torch.full((3, 4, 16, 16), float(i)) for i in range(4)])   # sample i is all i
    mixed, target = aug(video, torch.arange(4), torch.device("cpu"))
    assert mixed.shape == video.shape and target.shape == (4, 4)
    changed = mixed[0] != 0                           # sample 0 received a box from another sample
    assert changed.any()
    assert torch.equal(changed[:, :1].expand_as(changed), changed)   # same pixels in every frame and channel
    np.testing.assert_allclose(target.sum(1).numpy(), 1.0, rtol=1e-5)


def test_randaug_spec_parsing():
    import pytest

    from tvts_bench.errors import ConfigError

    assert parse_randaug("rand-m7-n4-mstd0.5-inc1") == "rand-m7-n4-mstd0.5-inc1"
    assert parse_randaug(None) is None and parse_randaug("") is None
    for bad in ("autoaug-m7", "rand-m7-q3", "m7-n4"):
        with pytest.raises(ConfigError, match="params.randaug"):
            parse_randaug(bad)


from tvts_bench.data.preprocess import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402


def test_randaug_is_timms_transform_at_the_card_strength():
    """The card's string goes to timm's rand_augment_transform as is: 4 ops of magnitude 7 (mstd 0.5),
    the 'increasing' op set, VideoMAE's hparams (translate 45 % of the side, mean fill, bicubic)."""
    from PIL import Image
    from timm.data.auto_augment import RandAugment

    from tvts_bench.bench.protocols.finetune import ClipRandAugment

    aug = ClipRandAugment("rand-m7-n4-mstd0.5-inc1", IMAGENET_MEAN).transform((64, 64))
    assert isinstance(aug, RandAugment) and aug.num_layers == 4
    assert {op.magnitude for op in aug.ops} == {7} and {op.magnitude_std for op in aug.ops} == {0.5}
    assert "SolarizeIncreasing" in {op.name for op in aug.ops}
    op = aug.ops[0]
    assert op.hparams["translate_const"] == 28 and op.kwargs["fillcolor"] == (124, 116, 104)
    assert op.kwargs["resample"] == Image.BICUBIC
    card = (Path(__file__).parents[1] / "tasks" / "_base" / "ft.yaml").read_text()
    assert "randaug: rand-m7-n4-mstd0.5-inc1" in card


def _frames(t: int, seed: int, size: int = 32) -> list:
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(t)]


def test_randaug_applies_the_same_ops_to_every_frame_of_a_clip():
    import random

    from tvts_bench.bench.protocols.finetune import ClipRandAugment

    clip_aug = ClipRandAugment("rand-m7-n4-mstd0.5-inc1", IMAGENET_MEAN)
    timm_aug = clip_aug.transform((32, 32))
    calls: list[tuple] = []
    for op in timm_aug.ops:                        # record every op actually applied, with its arguments
        def spy(img, *args, _fn=op.aug_fn, _name=op.name, **kw):
            calls.append((_name, args, tuple(sorted(kw.items()))))
            return _fn(img, *args, **kw)
        op.aug_fn = spy
    changed = 0
    for seed in range(40):
        # equal frames stay equal
        same = _frames(1, seed) * 4
        out = clip_aug(same, seed)
        assert all(np.array_equal(np.asarray(o), np.asarray(out[0])) for o in out)
        # different frames: the same ops with the same magnitudes, frame by frame
        frames = _frames(4, 100 + seed)
        calls.clear()
        py_before, np_before = random.getstate(), np.random.get_state()
        out = clip_aug(frames, seed)
        assert random.getstate() == py_before                      # the global generators are untouched
        np_after = np.random.get_state()
        assert np.array_equal(np_after[1], np_before[1]) and np_after[2:] == np_before[2:]
        per_frame = len(calls) // 4
        assert len(calls) == 4 * per_frame
        assert all(calls[i * per_frame:(i + 1) * per_frame] == calls[:per_frame] for i in range(4))
        # seed replay: each frame is exactly what timm's transform gives that frame alone
        for frame, got in zip(frames, out):
            random.seed(seed)
            np.random.seed(seed)
            want = timm_aug(frame)
            assert np.array_equal(np.asarray(got), np.asarray(want))
        changed += any(not np.array_equal(np.asarray(f), np.asarray(o)) for f, o in zip(frames, out))
    assert changed >= 30                          # it does augment (each op applies with p = 0.5)


def test_clip_randaugment_on_normalised_batches(tmp_path):
    from tvts_bench.bench.protocols.finetune import clip_randaugment

    g = torch.Generator().manual_seed(0)
    frame = torch.randn(3, 1, 16, 16, generator=g)
    video = torch.stack([frame.expand(3, 4, 16, 16), torch.randn(3, 4, 16, 16, generator=g)])   # [B, C, T, H, W]
    np.random.seed(3)
    out = clip_randaugment(video, IMAGENET_MEAN, IMAGENET_STD, "rand-m7-n4-mstd0.5-inc1")
    assert out.shape == video.shape and out.dtype == video.dtype
    assert all(torch.equal(out[0, :, t], out[0, :, 0]) for t in range(4))     # equal frames stay equal
    np.random.seed(3)
    again = clip_randaugment(video, IMAGENET_MEAN, IMAGENET_STD, "rand-m7-n4-mstd0.5-inc1")
    assert torch.equal(out, again)                                            # seeded by np.random
    # the Augmenter records the card's string and uses it
    ctx = make_ctx(tmp_path, "ft", {"mixup": 0.0, "cutmix": 0.0, "reprob": 0, "flip": False,
                                    "randaug": "rand-m7-n4-mstd0.5-inc1"})
    aug = Augmenter(ctx, num_classes=4, device=torch.device("cpu"))
    assert aug.randaug == "rand-m7-n4-mstd0.5-inc1"

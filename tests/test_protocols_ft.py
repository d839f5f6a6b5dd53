"""The fine-tuning protocol (VideoMAE recipe from timm pieces) on a fake context with a tiny model."""

from __future__ import annotations

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
    assert parse_randaug("rand-m7-n4-mstd0.5-inc1") == (4, 7)
    assert parse_randaug(None) is None

"""The video ViT, masking, the sort module and its heads, on tiny sizes."""

from __future__ import annotations

import math

import pytest
import torch

from tvts_bench.nn.sort_module import SortModule, SortModuleConfig, sort_correct, sort_loss, sort_targets
from tvts_bench.nn.video_vit import FrameViT, VideoViT, VideoViTConfig, random_keep_indices

CFG = VideoViTConfig(img_size=32, num_frames=4, patch_size=(2, 8, 8), embed_dim=32, depth=2, num_heads=2)


def test_shapes_and_authors_key_names():
    torch.manual_seed(0)
    m = VideoViT(CFG).eval()
    video = torch.randn(3, 3, 4, 32, 32)
    assert m(video).shape == (3, 32)
    assert m.forward_features(video).shape == (3, 1 + 2 * 16, 32)
    keys = set(m.state_dict())
    for k in ("cls_token", "pos_embed", "temporal_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
              "blocks.1.attn.qkv.weight", "blocks.1.attn.qkv.bias", "blocks.0.attn.proj.weight",
              "blocks.0.norm1.weight", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.bias", "norm.weight"):
        assert k in keys, k
    assert m.pos_embed.shape == (1, 17, 32) and m.temporal_embed.shape == (1, 2, 32)
    assert torch.count_nonzero(m.temporal_embed) == 0            # zero init
    assert m.patch_embed.proj.weight.shape == (32, 3, 2, 8, 8)
    assert m.norm.eps == 1e-6 and m.blocks[0].norm1.eps == 1e-6


def test_frame_masking_keeps_a_quarter_of_every_time_slice():
    torch.manual_seed(0)
    grid = (4, 4, 4)                                              # 4 slices x 16 positions
    keep = random_keep_indices(64, grid, 0.75, "frame")
    assert keep.shape == (64, 4 * 4)
    slices = keep // 16
    for t in range(4):
        assert torch.all((slices == t).sum(dim=1) == 4)           # exactly 25 % of each slice
    spatial = (keep % 16).view(64, 4, 4)
    # independent per slice: some sample has different spatial masks over time
    assert any(not torch.equal(spatial[b, 0], spatial[b, 1]) for b in range(64))
    assert torch.all(keep[:, 1:] > keep[:, :-1])                  # sorted, no duplicates


def test_tube_masking_shares_the_mask_over_time():
    torch.manual_seed(0)
    keep = random_keep_indices(8, (4, 4, 4), 0.9, "tube")
    spatial = (keep % 16).view(8, 4, -1)
    assert spatial.shape[-1] == round(16 * 0.1) or spatial.shape[-1] == 2
    for t in range(1, 4):
        assert torch.equal(spatial[:, 0], spatial[:, t])
    # different samples get different masks
    assert not all(torch.equal(spatial[0, 0], spatial[b, 0]) for b in range(8))


def test_positions_are_added_before_gathering():
    """A masked forward equals the unmasked forward restricted to the same tokens, for a 0-layer net."""
    torch.manual_seed(0)
    cfg = VideoViTConfig(**{**CFG.as_dict(), "depth": 0})
    m = VideoViT(cfg).eval()
    with torch.no_grad():
        m.temporal_embed.normal_()
        video = torch.randn(2, 3, 4, 32, 32)
        keep = random_keep_indices(2, cfg.grid, 0.75, "frame")
        full = m.forward_features(video)[:, 1:]
        masked = m.forward_features(video, keep)[:, 1:]
    torch.testing.assert_close(masked, torch.gather(full, 1, keep.unsqueeze(-1).expand(-1, -1, 32)))
    # the boolean form (True = removed) selects the same tokens
    removed = torch.ones(2, 32, dtype=torch.bool)
    removed.scatter_(1, keep, False)
    torch.testing.assert_close(m.forward_features(video, removed)[:, 1:], masked)


def test_temporal_embedding_makes_the_encoder_order_aware():
    torch.manual_seed(0)
    m = VideoViT(CFG).eval()
    video = torch.randn(1, 3, 4, 32, 32)
    reversed_video = torch.cat([video[:, :, 2:], video[:, :, :2]], dim=2)   # swap the two time slices
    with torch.no_grad():
        same = torch.allclose(m(video), m(reversed_video), atol=1e-6)
        m.temporal_embed.normal_()
        differ = not torch.allclose(m(video), m(reversed_video), atol=1e-4)
    assert same and differ      # zero-init: slice order invisible; learned: visible


def test_frame_vit_averages_per_frame_features():
    torch.manual_seed(0)
    m = FrameViT(CFG).eval()
    video = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        feats = torch.stack([m.video_model(video[:, :, t:t + 1]) for t in range(4)], dim=1)
        torch.testing.assert_close(m(video), feats.mean(1))
        # no temporal modelling: shuffling frames changes nothing
        torch.testing.assert_close(m(video[:, :, [2, 0, 3, 1]]), m(video), atol=1e-5, rtol=1e-5)


def _sort_inputs(head: str, k: int = 4):
    torch.manual_seed(0)
    mod = SortModule(SortModuleConfig(dim=16, text_dim=24, num_heads=2, depth=2, num_texts=k, head=head)).eval()
    with torch.no_grad():
        mod.type_embed.normal_()
    return mod, torch.randn(2, 9, 16), torch.randn(2, k, 24)


def test_sort_module_has_no_text_positions():
    """Permuting the fed transcripts permutes the K-way logits rows (and nothing else)."""
    mod, vid, txt = _sort_inputs("kway")
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        a = mod(vid, txt)
        b = mod(vid, txt[:, perm])
    assert a.shape == (2, 4, 4)
    torch.testing.assert_close(b, a[:, perm], atol=1e-5, rtol=1e-5)
    assert torch.count_nonzero(SortModule(SortModuleConfig(dim=16, num_heads=2)).type_embed) == 0


@pytest.mark.parametrize("head,shape", [("pairwise", (2, 6)), ("factorial", (2, 24))])
def test_other_heads_shapes(head, shape):
    mod, vid, txt = _sort_inputs(head)
    assert mod(vid, txt).shape == shape


def test_sort_targets_losses_and_full_order_accuracy():
    order = torch.tensor([[0, 1, 2, 3], [3, 1, 0, 2]])
    # K-way: perfect logits -> all right; one transcript wrong -> that sample wrong
    logits = torch.nn.functional.one_hot(order, 4).float() * 10
    assert sort_correct(logits, order, "kway").tolist() == [True, True]
    logits[1, 0] = torch.tensor([10.0, 0, 0, 0]) * 1
    assert sort_correct(logits, order, "kway").tolist() == [True, False]
    # pairwise targets: is fed i before fed j in the original order
    assert sort_targets(order, "pairwise")[1].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    pw = (sort_targets(order, "pairwise") * 2 - 1) * 5
    assert sort_correct(pw, order, "pairwise").all()
    # factorial: identity is class 0, a K!-way CE at uniform logits is log(24)
    assert sort_targets(order, "factorial")[0].item() == 0
    assert sort_loss(torch.zeros(2, 24), order, "factorial").item() == pytest.approx(math.log(24))
    assert sort_loss(torch.zeros(2, 4, 4), order, "kway").item() == pytest.approx(math.log(4))


def test_precision_is_bf16_autocast_on_cuda_only():
    from tvts_bench.nn.precision import autocast_for, precision_name

    assert precision_name("cpu") == "fp32" and precision_name("cuda:1") == "bf16-autocast"
    with autocast_for("cpu"):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "CUDA is not available": only the object is checked
        ctx = autocast_for("cuda")
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16


def test_adamw_is_fused_on_cpu_and_matches_the_default_update():
    import copy

    from tvts_bench.nn.optim import adamw

    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.GELU(), torch.nn.Linear(20, 3))
    ref = copy.deepcopy(ours)

    def groups(m):
        return [{"params": list(m[0].parameters()), "weight_decay": 0.05},
                {"params": list(m[2].parameters()), "weight_decay": 0.0}]

    opt, ref_opt = adamw(groups(ours), lr=1e-2), torch.optim.AdamW(groups(ref), lr=1e-2)
    assert opt.defaults["fused"] is True
    x = torch.randn(64, 10)
    for _ in range(20):
        for m, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad()
            m(x).pow(2).mean().backward()
            o.step()
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # ...and the update really moved the weights (the comparison above is not between two untouched nets).
    torch.manual_seed(0)
    fresh = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.GELU(), torch.nn.Linear(20, 3))
    assert max((a - b).abs().max().item() for a, b in zip(ours.parameters(), fresh.parameters())) > 1e-3

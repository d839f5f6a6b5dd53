"""The video-ordering pretexts of the paper's Table 1 (vcop, merlot, merlot-like), each L_base + 2 L_order.

Labels against hand-computed cases, the sub-clips encoded alone (blind to their place), the head fed
what the labels say, gradients (the video encoder learns from the ordering term; the text encoder only
without stop-gradient), errors, the existing objectives untouched, and the CLI to a loadable checkpoint.
"""

from __future__ import annotations

import json

import pytest
import torch

from tvts_bench.errors import ConfigError
from tvts_bench.nn.model import PretrainModel
from tvts_bench.nn.order_heads import order_units
from tvts_bench.nn.sort_module import sort_correct, sort_targets
from tvts_bench.nn.video_vit import random_keep_indices
from tvts_bench.pretrain.objectives import (compute_losses, draw_order, encode_subclips, objective_config,
                                            order_pretext, ordered_transcripts, shuffle_units)
from tvts_bench.pretrain.presets import RUN_NAMES, get_preset, model_config

K = 4
PRETEXTS = ("vcop", "merlot", "merlot-like")
WORDS = ["red", "ball", "moves", "left", "blue", "cube", "falls", "grows", "spins", "stops"]


def _model(objective: str, preset: str = "tiny", *, trainable_text: bool = True) -> PretrainModel:
    torch.manual_seed(0)
    cfg = model_config(get_preset(preset), objective, text_source="random-tiny")
    if cfg.text is not None:
        cfg.text.trainable_layers = -1 if trainable_text else 0
    return PretrainModel(cfg)


def _batch(b: int = 4, seed: int = 0, frames: int = 4, size: int = 32) -> dict:
    g = torch.Generator().manual_seed(seed)
    true = [[" ".join(WORDS[(i * 3 + k * 2 + j) % 10] for j in range(3)) for k in range(K)] for i in range(b)]
    order = torch.stack([torch.randperm(K, generator=g) for _ in range(b)])
    fed = [[true[i][o] for o in order[i].tolist()] for i in range(b)]      # fed[i] = true[order[i]]
    return {"video": torch.randn(b, 3, frames, size, size, generator=g), "texts": fed, "order": order,
            "size": b, "true_texts": true}


# -- labels -----------------------------------------------------------------------------------------
def test_labels_match_a_hand_computed_permutation():
    perm = torch.tensor([[2, 0, 3, 1]])         # fed unit 0 was originally third, unit 1 first, ...
    # vcop: the index of (2, 0, 3, 1) among the 24 permutations in lexicographic order:
    # 2 * 3! (first item 2) + 0 * 2! (0 is the smallest of 0, 1, 3) + 1 * 1! (3 is above 1) = 13
    assert sort_targets(perm, "factorial").tolist() == [13]
    # merlot: for the pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) of fed units, is the first one earlier?
    # 2<0 no, 2<3 yes, 2<1 no, 0<3 yes, 0<1 yes, 3<1 no
    assert sort_targets(perm, "pairwise").tolist() == [[0.0, 1.0, 0.0, 1.0, 1.0, 0.0]]
    # merlot-like: each fed unit's original slot
    assert sort_targets(perm, "kway").tolist() == [[2, 0, 3, 1]]
    # a head that outputs exactly these labels is right on the whole order
    kway = torch.nn.functional.one_hot(perm, 4).float()
    assert sort_correct(kway, perm, "kway").tolist() == [True]
    assert sort_correct(torch.tensor([[-1.0, 1, -1, 1, 1, -1]]), perm, "pairwise").tolist() == [True]
    assert sort_correct(torch.tensor([[-1.0, 1, -1, 1, 1, 1]]), perm, "pairwise").tolist() == [False]


def test_shuffle_and_reorder_hand_cases():
    units = torch.tensor([[[10.0], [11.0], [12.0], [13.0]]])             # original slots 0..3
    perm = torch.tensor([[2, 0, 3, 1]])
    assert shuffle_units(units, perm).flatten().tolist() == [12.0, 10.0, 13.0, 11.0]
    # transcripts fed as [t2, t0, t3, t1] (order = [2, 0, 3, 1]) come back as [t0, t1, t2, t3]
    fed = torch.tensor([[[2.0], [0.0], [3.0], [1.0]]])
    assert ordered_transcripts(fed, perm).flatten().tolist() == [0.0, 1.0, 2.0, 3.0]
    draws = draw_order(500, 3, torch.Generator().manual_seed(0))
    assert (draws.sort(dim=1).values == torch.arange(3)).all()
    assert len({tuple(r) for r in draws.tolist()}) == 6                   # every order of 3 is drawn


def test_units_follow_the_frame_count():
    assert [order_units(t, K, "vcop") for t in (2, 4, 8, 6)] == [2, 4, 4, 3]
    assert [order_units(t, K, "merlot") for t in (2, 4, 8)] == [2, 4, 8]
    assert model_config(get_preset("small"), "vcop", text_source="random-tiny").order.units == 4
    assert model_config(get_preset("vit-b"), "merlot-like", text_source="x").order.units == 4
    assert model_config(get_preset("vit-b"), "merlot", text_source="x").order.units == 8


# -- sub-clips ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("masked", [False, True])
def test_subclips_are_encoded_alone_and_blind_to_their_place(masked):
    torch.manual_seed(0)
    cfg = model_config(get_preset("small"), "vcop", text_source="random-tiny")
    cfg.video.depth, cfg.video.embed_dim, cfg.video.num_heads = 1, 32, 2
    vm = PretrainModel(cfg).video_model.eval()
    # give the temporal embedding content, so a sub-clip that saw its place would show it
    torch.nn.init.normal_(vm.temporal_embed, std=1.0)
    video = torch.randn(2, 3, 8, 64, 64)
    grid = vm.cfg.grid                                                     # (4, 8, 8)
    keep = random_keep_indices(2, grid, 0.75, "frame", generator=torch.Generator().manual_seed(1)) \
        if masked else None
    with torch.no_grad():
        units = encode_subclips(vm, video, keep, 4)
        assert units.shape == (2, 4, 32)
        s = grid[1] * grid[2]
        for k in range(4):                    # unit k = sub-clip k (frames 2k, 2k+1) encoded as a clip
            sub_keep = None if keep is None else keep.view(2, 4, -1)[:, k] - k * s
            alone = vm.pool(vm.forward_features(video[:, :, 2 * k:2 * k + 2], sub_keep))
            torch.testing.assert_close(units[:, k], alone, atol=1e-5, rtol=1e-4)
        # reversing the sub-clips (and their masks) reverses the unit features exactly
        rev = video.view(2, 3, 4, 2, 64, 64).flip(2).reshape(2, 3, 8, 64, 64)
        rev_keep = None
        if keep is not None:
            rev_keep = (keep.view(2, 4, -1) - (torch.arange(4) * s).view(1, 4, 1)).flip(1) \
                + (torch.arange(4) * s).view(1, 4, 1)
            rev_keep = rev_keep.reshape(2, -1)
        torch.testing.assert_close(encode_subclips(vm, rev, rev_keep, 4), units.flip(1), atol=1e-5, rtol=1e-4)
        # with two slices per sub-clip (the vit-b layout), still one feature per sub-clip
        assert encode_subclips(vm, video, keep, 2).shape == (2, 2, 32)
    with pytest.raises(ValueError, match="equal sub-clips"):
        encode_subclips(vm, video, keep, 3)


# -- the head sees what the labels say -------------------------------------------------------------------
@pytest.mark.parametrize("objective", PRETEXTS)
def test_the_head_is_fed_the_shuffled_units_and_the_true_transcript_order(objective):
    model = _model(objective).eval()
    batch = _batch()
    batch["keep"] = random_keep_indices(4, model.video_model.cfg.grid, 0.75, "frame",
                                        generator=torch.Generator().manual_seed(3))
    n = model.pred_model.cfg.units
    batch["perm"] = torch.stack([torch.arange(n).flip(0), torch.arange(n), torch.arange(n).flip(0),
                                 torch.arange(n)])
    seen = {}
    model.pred_model.register_forward_hook(lambda mod, args, out: seen.update(args=args))
    with torch.no_grad():
        out = compute_losses(model, batch, objective_config(objective))
        units = encode_subclips(model.video_model, batch["video"], batch["keep"], n)
        fed, texts = seen["args"]
        for b in range(4):
            for i in range(n):
                torch.testing.assert_close(fed[b, i], units[b, batch["perm"][b, i]], atol=1e-5, rtol=1e-4)
        if objective == "vcop":
            assert texts is None                                        # no language
        else:
            true = model.text_model([t for s in batch["true_texts"] for t in s]).view(4, K, -1)
            torch.testing.assert_close(texts, true, atol=1e-5, rtol=1e-4)
    assert out["order_chance"].item() == pytest.approx(1 / 2)             # tiny: 2 time slices, 2 units


# -- losses and gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("objective", PRETEXTS)
def test_loss_is_base_plus_twice_the_order_term_and_every_part_learns(objective):
    model = _model(objective)
    batch = _batch()
    batch["keep"] = random_keep_indices(4, model.video_model.cfg.grid, 0.75, "frame",
                                        generator=torch.Generator().manual_seed(1))
    out = compute_losses(model, batch, objective_config(objective))
    assert torch.isfinite(out["loss"])
    assert out["loss"].item() == pytest.approx(out["l_base"].item() + 2 * out["l_order"].item(), rel=1e-5)
    assert 0.0 <= out["order_acc"].item() <= 1.0
    assert ("pair_acc" in out) is (objective == "merlot")
    assert "l_sort" not in out and "sort_acc" not in out
    out["loss"].backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert all(p.grad is not None for _, p in trainable), [n for n, p in trainable if p.grad is None]


@pytest.mark.parametrize("objective,stop_grad", [("vcop", True), ("merlot", True), ("merlot", False),
                                                 ("merlot-like", True), ("merlot-like", False)])
def test_the_ordering_term_alone_trains_the_video_encoder(objective, stop_grad):
    """Only L_order is back-propagated: the video encoder and the head get gradient, the contrastive
    projections none, the text encoder only when the transcripts are not detached."""
    model = _model(objective)
    batch = _batch()
    obj = objective_config(objective, stop_grad=stop_grad)
    texts = model.text_model([t for s in batch["texts"] for t in s]).view(4, K, -1)
    perm = draw_order(4, model.pred_model.cfg.units, torch.Generator().manual_seed(0))
    loss, parts = order_pretext(model, batch["video"], None, texts, batch["order"], perm, obj)
    assert torch.isfinite(loss) and set(parts) >= {"order_acc", "order_chance"}
    loss.backward()
    vm = model.video_model
    for p in (vm.patch_embed.proj.weight, vm.blocks[0].attn.qkv.weight, vm.blocks[-1].mlp.fc2.weight,
              vm.norm.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.pred_model.parameters())
    assert all(p.grad is None for p in model.vid_proj.parameters())
    text_grads = [p.grad for p in model.text_model.parameters() if p.requires_grad]
    reached = any(g is not None and g.abs().sum() > 0 for g in text_grads)
    assert reached is (objective != "vcop" and not stop_grad)


def test_the_vcop_head_learns_a_permutation_from_unit_features():
    """Distinct fixed features per original slot: the head alone must learn which order they came in."""
    from tvts_bench.nn.order_heads import OrderHeadConfig, build_order_head
    from tvts_bench.nn.sort_module import sort_loss

    torch.manual_seed(0)
    head = build_order_head(OrderHeadConfig(pretext="vcop", units=3, dim=8, hidden=32, dropout=0.0))
    slots = torch.randn(3, 8)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(150):
        perm = draw_order(32, 3, gen)
        loss = sort_loss(head(shuffle_units(slots.expand(32, -1, -1), perm)), perm, "factorial")
        opt.zero_grad()
        loss.backward()
        opt.step()
    perm = draw_order(64, 3, gen)
    acc = sort_correct(head(shuffle_units(slots.expand(64, -1, -1), perm)), perm, "factorial").float().mean()
    assert acc.item() == 1.0


# -- configuration ------------------------------------------------------------------------------------
def test_bad_configurations_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown objective 'vcopp'"):
        objective_config("vcopp")
    with pytest.raises(ConfigError, match="unknown objective"):
        model_config(get_preset("tiny"), "merlot_like", text_source="random-tiny")
    with pytest.raises(ConfigError, match="--sort-head"):
        objective_config("merlot", sort_head="pairwise")
    with pytest.raises(ConfigError, match="no-stop-grad"):
        objective_config("vcop", stop_grad=False)
    from dataclasses import replace

    one_slice = replace(get_preset("tiny"), video=replace(get_preset("tiny").video, num_frames=2))
    with pytest.raises(ConfigError, match="2 time slices"):
        model_config(one_slice, "vcop", text_source="random-tiny")


def test_existing_objectives_are_unchanged():
    assert {k: RUN_NAMES[k] for k in ("tvts", "base", "sort", "videomae", "clip")} == {
        "tvts": "tvts", "base": "tvts-base", "sort": "tvts-sort", "videomae": "videomae", "clip": "clip"}
    for objective in ("tvts", "base", "sort", "videomae", "clip"):
        cfg = model_config(get_preset("tiny"), objective, text_source="random-tiny")
        assert cfg.order is None and "order" not in cfg.as_dict()
        assert not objective_config(objective).uses_order
    from tvts_bench.pretrain.commands import default_run_name

    assert default_run_name("vcop", True, "kway", None, "small") == "tvts-vcop"
    assert default_run_name("merlot", False, "kway", "tube", "tiny") == "tvts-merlot-nostopgrad-tubemask-tiny"
    assert default_run_name("merlot-like", True, "kway", None, "small", base_loss="mean") == \
        "tvts-merlot-like-meanbase"


# -- the CLI, to a checkpoint the zoo loads as a video encoder ------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("objective", PRETEXTS)
def test_each_pretext_pretrains_from_the_cli_and_loads_as_an_encoder(bench_home, objective):
    from click.testing import CliRunner

    from tvts_bench.cli import cli
    from tvts_bench.pretrain.checkpoint import latest_checkpoint
    from tvts_bench.zoo.registry import load_model

    args = ["pretrain", "--preset", "tiny", "--objective", objective, "--steps", "2", "--batch-size", "4",
            "--workers", "0", "--threads", "1", "--val-every", "2", "--quiet"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    run = bench_home / "runs" / f"{RUN_NAMES[objective]}-tiny"
    ckpt = latest_checkpoint(run)
    assert ckpt is not None and ckpt.name == "step-00000002"
    assert "order chance 0.500" in " ".join(res.output.split())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r.get("split") != "val"]
    val = [r for r in rows if r.get("split") == "val"]
    assert train and val
    for r in train + val:
        assert {"l_order", "order_acc", "order_chance"} <= set(r) and r["order_chance"] == pytest.approx(0.5)
        assert ("pair_acc" in r) is (objective == "merlot")
    assert all(r["sort_acc"] is None for r in train)
    cfg = json.loads((run / "run_config.json").read_text())
    assert cfg["objective"] == objective and cfg["model"]["order"]["pretext"] == objective

    for adapter in (load_model(str(run)), load_model("tvts", checkpoint=str(run))):
        report = adapter.import_report
        assert not report.unused and any(k.startswith("pred_model.") for k in report.ignored)
        video = torch.randn(2, 3, 4, 32, 32)
        with torch.no_grad():
            feats = adapter.encode_video(video)
        assert feats.shape == (2, 64) and torch.isfinite(feats).all()

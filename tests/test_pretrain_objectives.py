"""Windows sampler, InfoNCE, stop-gradient, every objective's forward, and DDP == one process.

(The contrastive gradient under DDP, with even and uneven per-rank batches: test_pretrain_ddp_grad.py.)"""

from __future__ import annotations

import math
import os
import socket

import numpy as np
import pytest
import torch

from tvts_bench.nn.model import PretrainModel
from tvts_bench.nn.video_vit import random_keep_indices
from tvts_bench.pretrain.objectives import ObjectiveConfig, compute_losses, infonce, objective_config
from tvts_bench.pretrain.presets import get_preset, model_config
from tvts_bench.pretrain.windows import sample_windows

K = 4


# -- windows --------------------------------------------------------------------------------------
def _words(duration: float, step: float = 0.5, skip: tuple[float, float] | None = None):
    out = []
    t = 0.25
    while t < duration:
        if skip is None or not (skip[0] <= t <= skip[1]):
            out.append((f"w{t:.2f}", t))
        t += step
    return tuple(out)


def test_windows_follow_equation_1():
    words = _words(40.0)
    for seed in range(200):
        ws = sample_windows(words, 40.0, np.random.default_rng(seed))
        assert ws is not None
        assert 3 <= ws.length <= 5
        for k, (s, e) in enumerate(ws.windows):
            assert e - s == pytest.approx(ws.length)
            assert s == pytest.approx(ws.windows[0][0] + k * (ws.length + 1))      # 1 s gaps
            expected = " ".join(w for w, t in words if s < t < e)
            assert ws.transcripts[k] == expected and expected
        assert 0 <= ws.start and ws.end <= 40.0
        assert sorted(ws.order) == list(range(K))
        assert all(ws.shuffled[i] == ws.transcripts[ws.order[i]] for i in range(K))


def test_windows_resample_empty_draws_and_give_up():
    # Words only in the first 20 s of a 60 s video: many draws hold an empty window; all kept draws are full.
    words = _words(20.0)
    outcomes = [sample_windows(words, 60.0, np.random.default_rng(s), max_tries=50) for s in range(100)]
    kept = [w for w in outcomes if w is not None]
    assert kept and all(all(w.transcripts) for w in kept)
    assert all(w.windows[-1][0] < 20.0 for w in kept)      # the last window starts before the words end
    # one try only: some draws fail and return None (the loader skips and counts them)
    once = [sample_windows(words, 60.0, np.random.default_rng(s), max_tries=1) for s in range(100)]
    assert any(w is None for w in once)
    assert sample_windows((), 30.0, np.random.default_rng(0)) is None
    assert sample_windows(_words(10.0), 10.0, np.random.default_rng(0)) is None      # too short for K windows
    # same seed, same sample; order labels spread over permutations
    a = sample_windows(_words(40.0), 40.0, np.random.default_rng(3))
    assert a == sample_windows(_words(40.0), 40.0, np.random.default_rng(3))
    orders = {sample_windows(_words(40.0), 40.0, np.random.default_rng(s)).order for s in range(300)}
    assert len(orders) > 15


# -- InfoNCE ----------------------------------------------------------------------------------------
def test_infonce_matches_a_hand_computed_2x2_case():
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[2.0, 0.0], [1.0, 1.0]])           # normalised: [1,0], [1,1]/sqrt2
    loss, acc = infonce(v, t, tau=0.05)
    c = 1 / math.sqrt(2) / 0.05                           # 14.142
    v2t = -math.log(math.exp(20) / (math.exp(20) + math.exp(c))) - math.log(math.exp(c) / (1 + math.exp(c)))
    t2v = -math.log(math.exp(20) / (math.exp(20) + 1)) + math.log(2)
    # L_base = CE(v->t) + CE(t->v), each the mean over the 2 rows (paper eq. 3: the SUM of the two)
    assert loss.item() == pytest.approx((v2t + t2v) / 2, rel=1e-5)
    assert acc.item() == 1.0
    mean_loss, _ = infonce(v, t, tau=0.05, scale="mean")          # the ablation: their average
    assert mean_loss.item() == pytest.approx(0.5 * (v2t + t2v) / 2, rel=1e-5)


def test_base_loss_scale_is_a_recorded_objective_field():
    assert objective_config("tvts").base_loss_scale == "sum" and objective_config("tvts").lam == 2.0
    cfg = objective_config("base", base_loss_scale="mean")
    assert cfg.as_dict()["base_loss_scale"] == "mean"
    assert objective_config("clip", base_loss_scale="mean").base_loss_scale == "mean"
    from tvts_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="base loss scale"):
        objective_config("tvts", base_loss_scale="half")
    with pytest.raises(ConfigError):
        infonce(torch.eye(2), torch.eye(2), scale="avg")


# -- model + objectives ---------------------------------------------------------------------------
def _model(objective: str, *, trainable_text: bool = True, sort_head: str = "kway") -> PretrainModel:
    torch.manual_seed(0)
    cfg = model_config(get_preset("tiny"), objective, sort_head=sort_head, text_source="random-tiny")
    if cfg.text is not None:
        cfg.text.trainable_layers = -1 if trainable_text else 0
    return PretrainModel(cfg)


def _batch(b: int = 4, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    words = ["red", "ball", "moves", "left", "blue", "cube", "falls", "grows", "spins", "stops"]
    texts = [[" ".join(words[(i * 3 + k * 2 + j) % 10] for j in range(3)) for k in range(K)] for i in range(b)]
    return {"video": torch.randn(b, 3, 4, 32, 32, generator=g), "texts": texts,
            "order": torch.stack([torch.randperm(K, generator=g) for _ in range(b)]), "size": b}


@pytest.mark.parametrize("stop_grad", [True, False])
def test_stop_gradient_keeps_l_sort_out_of_the_text_encoder(stop_grad):
    model = _model("tvts")
    out = compute_losses(model, _batch(), ObjectiveConfig(name="sort", stop_grad=stop_grad))
    out["loss"].backward()
    text_grads = [p.grad for p in model.text_model.parameters()]
    reached = any(g is not None and g.abs().sum() > 0 for g in text_grads)
    assert reached is (not stop_grad)
    assert model.pred_model.head.weight.grad.abs().sum() > 0
    assert model.video_model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


def test_tvts_loss_is_base_plus_twice_sort():
    model = _model("tvts")
    batch = _batch()
    batch["keep"] = random_keep_indices(4, model.video_model.cfg.grid, 0.75, "frame",
                                        generator=torch.Generator().manual_seed(1))
    out = compute_losses(model, batch, objective_config("tvts"))
    assert out["loss"].item() == pytest.approx(out["l_base"].item() + 2 * out["l_sort"].item(), rel=1e-6)
    assert 0.0 <= out["sort_acc"].item() <= 1.0 and 0.0 <= out["con_acc"].item() <= 1.0


@pytest.mark.parametrize("objective,head", [("base", "kway"), ("sort", "pairwise"), ("sort", "factorial"),
                                            ("videomae", "kway"), ("clip", "kway")])
def test_every_objective_gives_a_finite_loss_and_gradients(objective, head):
    model = _model(objective, sort_head=head)
    out = compute_losses(model, _batch(), objective_config(objective, sort_head=head))
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    # (sort-only with stop-gradient: the text encoder gets nothing; the trainer freezes it)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad
                 and not (objective == "sort" and n.startswith("text_model."))]
    assert all(p.grad is not None for _, p in trainable), [n for n, p in trainable if p.grad is None]
    if objective == "videomae":
        assert model.text_model is None and 0.5 < out["recon"].item() < 5.0
    if objective == "base":
        assert model.pred_model is None and "l_sort" not in out


# -- DDP ----------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _global_batch() -> dict:
    batch = _batch(b=8, seed=5)
    batch["keep"] = random_keep_indices(8, (2, 4, 4), 0.75, "frame", generator=torch.Generator().manual_seed(2))
    return batch


def _ddp_worker(rank: int, world: int, port: int, out_path: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from tvts_bench.pretrain.objectives import ObjectiveModule

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = _model("tvts")
        module = DDP(ObjectiveModule(model, objective_config("tvts")))
        g = _global_batch()
        lo, hi = rank * 4, (rank + 1) * 4
        local = {"video": g["video"][lo:hi], "texts": g["texts"][lo:hi], "order": g["order"][lo:hi],
                 "keep": g["keep"][lo:hi], "size": 4}
        out = module(local)
        out["loss"].backward()
        loss = out["loss"].detach().clone()
        dist.all_reduce(loss)
        if rank == 0:
            grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
            torch.save({"loss": loss.item() / world, "grads": grads}, out_path)
    finally:
        dist.destroy_process_group()


@pytest.mark.ddp
@pytest.mark.slow
def test_ddp_two_processes_equal_one_process_on_the_global_batch(tmp_path):
    import torch.multiprocessing as mp

    out_path = str(tmp_path / "ddp.pt")
    # fork: the children inherit the imported modules (spawn would re-import torch and transformers)
    mp.start_processes(_ddp_worker, args=(2, _free_port(), out_path), nprocs=2, join=True, start_method="fork")
    ddp = torch.load(out_path, weights_only=False)

    model = _model("tvts")
    out = compute_losses(model, _global_batch(), objective_config("tvts"))
    out["loss"].backward()
    assert ddp["loss"] == pytest.approx(out["loss"].item(), abs=1e-5)
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert set(grads) == set(ddp["grads"])
    assert any("text_model" in n for n in grads)                 # L_base reaches the text encoder
    for name, g in grads.items():
        torch.testing.assert_close(ddp["grads"][name], g, atol=1e-5, rtol=1e-4, msg=name)


def test_sort_module_slices_and_time_code():
    """Pooled per time slice, the sort module is blind to which slice came first unless it is given the
    slices' times: swapping two slices' contents changes its output only with the time code."""
    from tvts_bench.nn.sort_module import SortModule, SortModuleConfig, pool_slices

    torch.manual_seed(0)
    b, t, s, d = 2, 4, 3, 16
    tokens = torch.randn(b, 1 + t * s, d)
    time_index = torch.cat([torch.full((b, 1), -1), torch.arange(t).repeat_interleave(s).expand(b, -1)], dim=1)
    pooled, idx = pool_slices(tokens, time_index)
    assert torch.allclose(pooled[:, 2], tokens[:, 1 + 2 * s:1 + 3 * s].mean(dim=1))   # CLS left out
    assert idx.tolist() == [list(range(t))] * b
    swapped = tokens.clone()
    swapped[:, 1:1 + s], swapped[:, 1 + s:1 + 2 * s] = tokens[:, 1 + s:1 + 2 * s], tokens[:, 1:1 + s]
    text = torch.randn(b, 4, d)
    outputs = {}
    for code in ("none", "sinusoid"):
        torch.manual_seed(1)
        module = SortModule(SortModuleConfig(dim=d, text_dim=d, num_heads=2, depth=1, time_code=code,
                                             video_input="slices")).eval()
        with torch.no_grad():
            outputs[code] = (module(tokens, text, time_index), module(swapped, text, time_index))
    assert torch.allclose(*outputs["none"], atol=1e-5)
    assert not torch.allclose(*outputs["sinusoid"], atol=1e-3)
    with pytest.raises(ValueError, match="time_index"):
        module(tokens, text)

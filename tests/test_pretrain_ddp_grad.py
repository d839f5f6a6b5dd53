"""Under DDP the contrastive gradient is the single-process gradient of the same loss on the global batch.

Two gloo processes on CPU each take a block of a fixed global batch (4 + 4 rows, and 5 + 3 rows: a
failed decode leaves ranks with different batch sizes) and compute L_base with negatives gathered from
both ranks. DDP averages parameter gradients over the W ranks, so the convention checked is:

- the mean over ranks of the per-rank losses is the global loss;
- the DDP-averaged parameter gradients equal the single-process parameter gradients;
- each rank's gradient w.r.t. its own embedding rows, divided by W (DDP's averaging), equals the
  single-process gradient w.r.t. those rows;

for both L_base scalings (``sum``, the paper's eq. 3 and the default, and ``mean``). A second test runs
the whole tiny TVTS model (L_base + 2 L_sort) on the uneven split.
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
from torch import nn

from tvts_bench.pretrain.objectives import infonce

N, D_IN, D = 8, 6, 5
WORLD = 2
SPLITS = {"even": (4, 4), "uneven": (5, 3)}
SCALES = ("sum", "mean")
CASES = [(scale, split) for scale in SCALES for split in SPLITS]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(split: str, rank: int) -> tuple[int, int]:
    sizes = SPLITS[split]
    lo = sum(sizes[:rank])
    return lo, lo + sizes[rank]


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(N, D_IN, generator=g), torch.randn(N, D_IN, generator=g)


class Heads(nn.Module):
    """A small video head and text head producing the embeddings L_base compares."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.video = nn.Linear(D_IN, D)
        self.text = nn.Linear(D_IN, D)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))

    def forward(self, xv: torch.Tensor, xt: torch.Tensor, scale: str):
        ev, et = self.video(xv), self.text(xt)
        ev.retain_grad()
        et.retain_grad()
        loss, _ = infonce(ev, et, tau=0.05, scale=scale)
        return loss, ev, et


def _run(worker, tmp_path, *args) -> None:
    import torch.multiprocessing as mp

    # fork: the children inherit the imported modules (spawn would re-import torch and transformers)
    mp.start_processes(worker, args=(WORLD, _free_port(), str(tmp_path), *args), nprocs=WORLD, join=True,
                       start_method="fork")


def _init(rank: int, world: int, port: int) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)


def _heads_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    _init(rank, world, port)
    try:
        xv, xt = _inputs()
        results = {}
        for scale, split in CASES:
            module = DDP(Heads())
            lo, hi = _rows(split, rank)
            loss, ev, et = module(xv[lo:hi], xt[lo:hi], scale)
            loss.backward()
            results[(scale, split)] = {
                "loss": loss.item(), "rows": (lo, hi), "grad_v": ev.grad.clone(), "grad_t": et.grad.clone(),
                "params": {n: p.grad.clone() for n, p in module.module.named_parameters()}}
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _single(scale: str):
    xv, xt = _inputs()
    model = Heads()
    loss, ev, et = model(xv, xt, scale)
    loss.backward()
    return loss.item(), ev.grad, et.grad, {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.ddp
def test_contrastive_gradient_under_ddp_equals_the_single_process_gradient(tmp_path):
    _run(_heads_worker, tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    for scale, split in CASES:
        loss, grad_v, grad_t, params = _single(scale)
        per_rank = [r[(scale, split)] for r in ranks]
        case = f"{scale}/{split}"
        # DDP differentiates the mean over ranks of the per-rank losses: it is the global loss
        assert sum(r["loss"] for r in per_rank) / WORLD == pytest.approx(loss, rel=1e-5), case
        for r in per_rank:
            lo, hi = r["rows"]
            torch.testing.assert_close(r["grad_v"] / WORLD, grad_v[lo:hi], atol=1e-6, rtol=1e-5, msg=case)
            torch.testing.assert_close(r["grad_t"] / WORLD, grad_t[lo:hi], atol=1e-6, rtol=1e-5, msg=case)
            for name, g in params.items():                  # after DDP's all-reduce (average)
                torch.testing.assert_close(r["params"][name], g, atol=1e-6, rtol=1e-5, msg=f"{case} {name}")
    # the two scalings differ by exactly a factor 2 (sum = paper eq. 3)
    assert _single("sum")[0] == pytest.approx(2 * _single("mean")[0], rel=1e-6)


# -- the whole tiny TVTS model, uneven per-rank batches ------------------------------------------------
def _model_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist
    from test_pretrain_objectives import _global_batch, _model
    from torch.nn.parallel import DistributedDataParallel as DDP

    from tvts_bench.pretrain.objectives import ObjectiveModule, objective_config

    _init(rank, world, port)
    try:
        model = _model("tvts")
        module = DDP(ObjectiveModule(model, objective_config("tvts")))
        g = _global_batch()
        lo, hi = _rows("uneven", rank)
        local = {"video": g["video"][lo:hi], "texts": g["texts"][lo:hi], "order": g["order"][lo:hi],
                 "keep": g["keep"][lo:hi], "size": hi - lo}
        out = module(local)
        out["loss"].backward()
        torch.save({"loss": out["loss"].item(), "l_base": out["l_base"].item(), "l_sort": out["l_sort"].item(),
                    "grads": {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}},
                   os.path.join(out_dir, f"model{rank}.pt"))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.ddp
@pytest.mark.slow
def test_tvts_model_with_uneven_rank_batches_matches_one_process(tmp_path):
    from test_pretrain_objectives import _global_batch, _model

    from tvts_bench.pretrain.objectives import compute_losses, objective_config

    _run(_model_worker, tmp_path)
    ranks = [torch.load(tmp_path / f"model{r}.pt", weights_only=False) for r in range(WORLD)]
    model = _model("tvts")
    out = compute_losses(model, _global_batch(), objective_config("tvts"))
    out["loss"].backward()
    for key in ("loss", "l_base", "l_sort"):                # logged values: the mean over ranks
        assert sum(r[key] for r in ranks) / WORLD == pytest.approx(out[key].item(), abs=1e-5), key
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert set(grads) == set(ranks[0]["grads"]) and any("text_model" in n for n in grads)
    for name, g in grads.items():
        torch.testing.assert_close(ranks[0]["grads"][name], g, atol=1e-5, rtol=1e-4, msg=name)

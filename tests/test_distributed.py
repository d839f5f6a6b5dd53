"""The one torchrun helper (``tvts_bench/distributed.py``): a single process needs no torch and gets
rank 0 of 1; two processes launched the torchrun way (RANK / WORLD_SIZE / LOCAL_RANK / MASTER_*) join one
gloo group and see each other through every collective the benchmark and the pretraining use."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WORLD = 2


def test_a_single_process_is_rank_zero_of_one_without_importing_torch():
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    code = ("import sys\n"
            "from tvts_bench import distributed as d\n"
            "env = d.init('cuda')\n"
            "assert (env.rank, env.world_size, env.is_main, env.enabled) == (0, 1, True, False)\n"
            "assert d.world() == (0, 1) and d.rank() == 0 and d.world_size() == 1\n"
            "assert not d.initialized() and not d.active()\n"
            "assert d.all_gather_object({'a': 1}) == [{'a': 1}]\n"
            "d.barrier(); d.shutdown()\n"
            "assert d.rank_device('cuda', env) == 'cuda' and d.all_reduce_mean({'x': 2.0}) == {'x': 2.0}\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import torch

    from tvts_bench import distributed as d

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    env = d.init("cpu")
    try:
        assert d.init("cpu") == env                      # joining twice is a no-op
        t = torch.tensor([float(rank + 1)])
        rows = torch.arange(2 * (rank + 1), dtype=torch.float32).reshape(rank + 1, 2)
        gathered, offset = d.gather_with_grad(rows)
        d.barrier()
        out = {"env": [env.rank, env.world_size, env.local_rank, env.is_main],
               "world": list(d.world()), "initialized": d.initialized(), "active": d.active(),
               "objects": d.all_gather_object({"rank": rank}),
               "min": d.all_reduce_(t.clone(), "min").item(), "sum": d.all_reduce_(t.clone()).item(),
               "mean": d.all_reduce_mean({"x": float(rank)}),
               "counts": d.row_counts(rank + 1), "gathered_rows": gathered.shape[0], "offset": offset,
               "device": d.rank_device("cuda", env)}
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(out))
    finally:
        d.shutdown()


@pytest.mark.ddp
def test_two_ranks_launched_like_torchrun_share_one_group(tmp_path):
    import torch.multiprocessing as mp

    mp.start_processes(_worker, args=(WORLD, _free_port(), str(tmp_path)), nprocs=WORLD, join=True,
                       start_method="fork")
    for rank in range(WORLD):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert got["env"] == [rank, WORLD, rank, rank == 0]
        assert got["world"] == [rank, WORLD] and got["initialized"] and got["active"]
        assert got["objects"] == [{"rank": 0}, {"rank": 1}]
        assert (got["min"], got["sum"]) == (1.0, 3.0) and got["mean"] == {"x": 0.5}
        assert got["counts"] == [1, 2] and got["gathered_rows"] == 3 and got["offset"] == rank
        assert got["device"] == f"cuda:{rank}"

"""Process defaults applied by the CLI before torch loads (tvts_bench/runtime.py)."""

from __future__ import annotations

import os
import subprocess
import sys


def _policy_seen_by_cli(env_policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    code = ("import sys, os, tvts_bench.cli; "
            "assert 'torch' not in sys.modules; print(os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_cli_defaults_passive_omp_wait_before_torch_and_keeps_a_user_choice():
    assert _policy_seen_by_cli(None) == "PASSIVE"
    assert _policy_seen_by_cli("ACTIVE") == "ACTIVE"


def test_prefer_passive_reports_whether_it_can_still_take_effect(monkeypatch):
    import torch  # noqa: F401  (loaded: the policy is fixed for this process)

    from tvts_bench.runtime import prefer_passive_omp_wait

    monkeypatch.setenv("OMP_WAIT_POLICY", "x")        # records the original value, restored afterwards
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert prefer_passive_omp_wait() is False
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def _draws() -> tuple:
    import random

    import numpy as np
    import torch

    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_seeds_python_numpy_and_torch():
    from tvts_bench.runtime import seed_everything

    seed_everything(7)
    first = _draws()
    seed_everything(7)
    assert _draws() == first
    seed_everything(8)
    assert all(a != b for a, b in zip(_draws(), first))
    seed_everything(2 ** 40 + 7)            # a seed past NumPy's 32 bits is accepted
    assert _draws()[1] == first[1]          # NumPy takes its low 32 bits

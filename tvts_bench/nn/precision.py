"""Numeric precision of a forward pass, chosen from the device: bf16 autocast on CUDA, fp32 elsewhere.

bf16 autocast roughly doubles ViT-B throughput on recent GPUs and keeps fp32 master weights; on CPU it is
slower than fp32 on most machines (no AMX here), so CPU runs stay fp32. The name goes into the feature
cache key, because bf16 features differ from fp32 ones in the last bits.
"""

from __future__ import annotations

import contextlib

import torch


def is_cuda(device: str | torch.device) -> bool:
    return torch.device(device).type == "cuda"


def autocast_for(device: str | torch.device):
    """The autocast context for a forward pass on ``device``."""
    if is_cuda(device):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def precision_name(device: str | torch.device) -> str:
    return "bf16-autocast" if is_cuda(device) else "fp32"

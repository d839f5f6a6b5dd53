"""Checkpoints: written atomically, resumed exactly, and rebuilt for evaluation.

Layout of a run folder::

    runs/<name>/checkpoints/step-00000400/
        model.safetensors     all weights of the pretraining model (no pickle)
        config.json           model config, objective, preprocess, text encoder HF config, step
        tokenizer/            the text encoder's tokenizer files (when the model has text)
        trainer_state.pt      optimizer, scheduler, RNG states (torch/numpy/python), step, data position
    runs/<name>/checkpoints/latest    text file: the newest COMPLETE checkpoint folder name

A checkpoint folder is written under a temporary name and renamed when complete; ``latest`` is
replaced atomically after that, so a run killed at any moment leaves a loadable newest checkpoint.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..atomic import write_json, write_text
from ..data.preprocess import Preprocess
from ..errors import CheckpointError, MissingPathError
from ..hashing import state_dict_hash
from ..state_io import load_state, to_safe

FORMAT = "tvts-bench-checkpoint"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
STATE = "trainer_state.pt"
TOKENIZER = "tokenizer"


def checkpoints_dir(run_dir: Path | str) -> Path:
    return Path(run_dir) / "checkpoints"


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def _complete(ckpt: Path) -> bool:
    return (ckpt / WEIGHTS).is_file() and (ckpt / CONFIG).is_file()


def latest_checkpoint(run_dir: Path | str) -> Path | None:
    """The newest complete checkpoint folder of a run (``latest`` pointer first, else the highest step)."""
    cdir = checkpoints_dir(run_dir)
    if not cdir.is_dir():
        return None
    pointer = cdir / "latest"
    if pointer.is_file():
        cand = cdir / pointer.read_text().strip()
        if _complete(cand):
            return cand
    steps = sorted(p for p in cdir.glob("step-*") if p.is_dir() and _complete(p))
    return steps[-1] if steps else None


def load_trainer_state(ckpt: Path) -> dict[str, Any]:
    """``trainer_state.pt`` of a checkpoint folder, read with ``weights_only=True``: a file planted in a
    run folder cannot run code on resume. A malformed one is a clear error naming it."""
    path = Path(ckpt) / STATE
    try:
        state = load_state(path)
    except Exception as e:  # noqa: BLE001 - unsafe, corrupt or truncated: the same advice
        raise CheckpointError(f"cannot read {path}: {str(e)[:300]}",
                              hint="resume from an earlier checkpoint (delete this step folder) or start "
                                   "over with --no-resume; trainer state holds only tensors and plain "
                                   "values") from None
    missing = [k for k in ("optimizer", "scheduler", "rng", "step", "epoch", "pos") if not isinstance(state, dict)
               or k not in state]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}: not a tvts-bench trainer state",
                              hint="resume from an earlier checkpoint or start over with --no-resume")
    return state


def capture_rng() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def save_checkpoint(run_dir: Path | str, step: int, model: nn.Module, config: dict[str, Any],
                    trainer_state: dict[str, Any], *, keep_last: int = 2) -> Path:
    """Write ``checkpoints/step-NNNNNNNN`` atomically, point ``latest`` at it, prune old ones."""
    from safetensors.torch import save_file

    cdir = checkpoints_dir(run_dir)
    cdir.mkdir(parents=True, exist_ok=True)
    final = cdir / step_dir_name(step)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=cdir))
    try:
        weights = _weights(model)
        save_file(weights, str(tmp / WEIGHTS), metadata={"format": FORMAT, "step": str(step)})
        cfg = dict(config)
        cfg.update(format=FORMAT, version=VERSION, step=step, weights_hash=state_dict_hash(weights))
        text_model = getattr(model, "text_model", None)
        if text_model is not None:
            cfg["text_hf_config"] = text_model.hf_config()
            text_model.save_tokenizer(tmp / TOKENIZER)
        write_json(tmp / CONFIG, cfg)
        torch.save(to_safe(trainer_state), tmp / STATE)       # loads with weights_only=True
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    write_text(cdir / "latest", final.name + "\n")
    old = sorted(p for p in cdir.glob("step-*") if p.is_dir() and p != final)
    for p in old[: max(0, len(old) - (keep_last - 1))]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def read_config(ckpt_dir: Path | str) -> dict[str, Any]:
    ckpt = Path(ckpt_dir)
    path = ckpt / CONFIG
    if not path.is_file():
        raise MissingPathError(path, "checkpoint config",
                               hint="point at a checkpoints/step-NNNNNNNN folder written by tvts-bench pretrain")
    try:
        cfg = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if cfg.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tvts-bench checkpoint (format={cfg.get('format')!r})")
    return cfg


def build_model_from_checkpoint(ckpt_dir: Path | str) -> tuple[nn.Module, dict[str, Any],
                                                                dict[str, torch.Tensor]]:
    """Rebuild the pretraining model from its own files (no text-encoder source needed) and load it."""
    from safetensors.torch import load_file

    from ..nn.model import ModelConfig, PretrainModel
    from ..nn.text_encoder import TextEncoder

    ckpt = Path(ckpt_dir)
    cfg = read_config(ckpt)
    mcfg = ModelConfig.from_dict(cfg["model"])
    text_model = None
    if mcfg.text is not None:
        if "text_hf_config" not in cfg or not (ckpt / TOKENIZER).is_dir():
            raise CheckpointError(f"{ckpt}: the model has a text encoder but its config or tokenizer "
                                  f"is missing")
        text_model = TextEncoder.from_saved(mcfg.text, cfg["text_hf_config"], ckpt / TOKENIZER)
    model = PretrainModel(mcfg, text_model=text_model)
    weights_path = ckpt / WEIGHTS
    if not weights_path.is_file():
        raise MissingPathError(weights_path, "checkpoint weights")
    try:
        state = load_file(str(weights_path))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights_path}: cannot read ({e})") from None
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{weights_path}: weights do not match the config "
                              f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})")
    model.eval()
    return model, cfg, state


@dataclass
class EvalBundle:
    video_encoder: nn.Module                     # [B,C,T,H,W] -> [B,D]: CLS after final norm, no masking
    video_proj: nn.Module | None                 # D -> joint dim
    text_encoder: Callable[[list[str]], torch.Tensor] | None   # list[str] -> [N, Dt]
    text_proj: nn.Module | None                  # Dt -> joint dim
    preprocess: Preprocess
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    objective: str

    @property
    def feature_dim(self) -> int:
        return int(self.config["model"]["video"]["embed_dim"])


def load_for_eval(ckpt_dir: Path | str) -> EvalBundle:
    """Everything the zoo needs to evaluate a checkpoint folder (or a run folder: its newest one)."""
    ckpt = Path(ckpt_dir)
    if not (ckpt / CONFIG).is_file() and latest_checkpoint(ckpt) is not None:
        ckpt = latest_checkpoint(ckpt)  # a run folder was given
    model, cfg, state = build_model_from_checkpoint(ckpt)
    for p in model.parameters():
        p.requires_grad_(False)
    pre = Preprocess(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg["preprocess"].items()})
    return EvalBundle(video_encoder=model.video_model.eval(), video_proj=model.vid_proj,
                      text_encoder=model.text_model, text_proj=model.txt_proj, preprocess=pre,
                      config=cfg, state_dict=state, objective=cfg.get("objective", "tvts"))

"""Our TVTS pretraining step against the authors' (github.com/TencentARC/TVTS, v1), same configuration.

One full training step = tokenise the transcripts, forward, both losses (symmetric InfoNCE at tau 0.05 +
2 x the K-way sort cross-entropy), backward, AdamW, timed for each side, interleaved (the order of the
two alternates every repetition), median of ``--steps`` (>= 5; one untimed warm-up step each). The
ratio is our median / theirs; target <= 0.5.

- Ours: the project's API (``tvts_bench.pretrain.presets`` -> ``nn.model.PretrainModel`` ->
  ``pretrain.objectives.ObjectiveModule``), the step as ``Trainer._train_step`` runs it (mask drawn
  outside, forward, zero_grad, backward, gradient norm / the preset's clipping, AdamW).
- Theirs: imported from ``--authors-code PATH`` (a local checkout; this script never ships or copies
  their code). Their ``TVTS`` model class with their ``VisionTransformer`` (``model/video_encoder.py``)
  and ``SortTransformer`` (``model/sort_transformer.py``), built as their ``TVTS.__init__`` builds it
  but at the configuration's sizes (their ``__init__`` only knows ViT-B and loads MAE weights from
  ``./mae_pretrain_vit_base.pth`` onto CUDA), their forward, their ``NormSoftmaxLoss`` and
  ``sim_matrix``, and the step of their ``Trainer_TVTS._train_epoch`` on one process (the all-gather
  is the identity).

Configurations (both sides identical):
- ``small``: 192-d, 4 layers, 3 heads, 8 x 64^2, (2, 8, 8) tubelets, 75 % per-frame masking, 2-block
  sort module with 3 heads; text: a DistilBERT-shaped tower with random weights
  (``DistilBertConfig(dim=384, n_layers=6, n_heads=6, hidden_dim=1536)``), all of it trained as the
  authors train theirs; batch 8, 4 transcripts of 50 tokens per clip.
- ``vit-b`` (the paper's): ViT-B/16 over 16 x 224^2, (2, 16, 16) tubelets, DistilBERT-base shape
  (random weights), batch 2. ``--quick`` runs ``small`` only, 2 steps.

Both text towers load the same saved random weights from one temporary folder, with the same
DistilBERT tokenizer (uncased WordPiece built offline from the 30,522-token vocabulary that
MiniLM ships, which is bert-base-uncased's, the one distilbert-base-uncased uses).

Shims for their imports (installed in ``sys.modules`` by this script only, printed in the output):
``base`` (their ``base/__init__`` pulls their data loaders, cv2, decord, ...: replaced by a package
holding only their ``base/base_model.py``), stub modules for missing optional dependencies of
``utils/util.py`` (psutil, msgpack, humanize: unused by the step), and when ``einops`` is not installed
a small ``rearrange`` with einops' semantics (reshape + permute, what einops itself does).
Their optimizer is ``transformers.AdamW``; when the installed transformers no longer has it (it was
deprecated, then removed) their side uses ``torch.optim.AdamW`` with their settings (the default,
for-loop implementation, as their code would get); ours is ``nn.optim.adamw``, the fused kernel.
Their sort module requires text dim == video dim; for ``small`` (384-d text, 192-d video) their
``SortTransformer`` gets the same ``Linear(384, 192)`` in front of its text input that ours has
(``SortModule.text_in``).

    .venv/bin/python benchmarks/peer_step.py --authors-code /path/to/TVTS [--quick] [--steps 5]
                                             [--configs small,vit-b]

Exit code 2, with a message naming what failed, when their code cannot be imported or built.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import _common  # noqa: F401  (puts the repo on sys.path)
from _common import ratio_line, save

WORDS = ("the a cut pour mix turn open close hand knife bowl water table left right slowly then now "
         "we you it add put take fold press rotate pan oil salt heat stir wait push pull lift").split()
K = 4                     # transcripts per clip (the authors' n_trans)
MAX_LEN = 50              # tokens per transcript (their tokenizer call: truncation, max_length=50)
TARGET = 0.5


@dataclass
class PeerConfig:
    name: str
    preset: str                 # our preset the video/sort sizes come from
    img_size: int
    num_frames: int
    patch: int
    tubelet: int
    dim: int
    depth: int
    heads: int
    sort_heads: int
    text: dict[str, int]        # DistilBertConfig kwargs
    batch: int


CONFIGS = {
    "small": PeerConfig("small", "small", img_size=64, num_frames=8, patch=8, tubelet=2, dim=192, depth=4,
                        heads=3, sort_heads=3, text=dict(dim=384, n_layers=6, n_heads=6, hidden_dim=1536),
                        batch=8),
    "vit-b": PeerConfig("vit-b", "vit-b", img_size=224, num_frames=16, patch=16, tubelet=2, dim=768, depth=12,
                        heads=12, sort_heads=12, text=dict(dim=768, n_layers=6, n_heads=12, hidden_dim=3072),
                        batch=2),
}


class AuthorsCodeError(RuntimeError):
    """Their code could not be imported or built (the message names what failed)."""


# ---------------------------------------------------------------------------------------------------
# Shims for the authors' imports
# ---------------------------------------------------------------------------------------------------
class _MissingModule(types.ModuleType):
    """Stands in for an optional dependency that is not installed; fails only if actually used."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(f"{self.__name__}.{name}: {self.__name__} is not installed (stub installed by "
                          f"benchmarks/peer_step.py; the training step does not use it)")


def _parse_axes(side: str) -> list[list[str]]:
    groups: list[list[str]] = []
    cur: list[str] | None = None
    for tok in side.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            cur = []
        elif tok == ")":
            groups.append(cur or [])
            cur = None
        elif cur is not None:
            cur.append(tok)
        else:
            groups.append([tok])
    return groups


def _rearrange(tensor, pattern: str, **sizes: int):
    """einops.rearrange for patterns of named axes and parenthesised groups (no ellipsis, no 1s)."""
    left, right = (s.strip() for s in pattern.split("->"))
    lg, rg = _parse_axes(left), _parse_axes(right)
    if len(lg) != tensor.ndim:
        raise ValueError(f"rearrange shim: pattern {pattern!r} does not match a {tensor.ndim}-d tensor")
    known = dict(sizes)
    for group, n in zip(lg, tensor.shape):
        unknown = [a for a in group if a not in known]
        prod = math.prod(known[a] for a in group if a in known)
        if len(unknown) > 1:
            raise ValueError(f"rearrange shim: cannot infer {unknown} in {pattern!r}")
        if unknown:
            known[unknown[0]] = n // prod
    flat_left = [a for g in lg for a in g]
    flat_right = [a for g in rg for a in g]
    x = tensor.reshape([known[a] for a in flat_left])
    x = x.permute([flat_left.index(a) for a in flat_right])
    return x.reshape([math.prod(known[a] for a in g) for g in rg])


def _einops_shim() -> types.ModuleType:
    mod = types.ModuleType("einops")
    mod.rearrange = _rearrange

    def _unsupported(*_a, **_k):
        raise NotImplementedError("einops shim of benchmarks/peer_step.py: only rearrange is provided")

    mod.repeat = _unsupported
    mod.reduce = _unsupported
    mod.__peer_step_shim__ = True
    return mod


def authors_v1(path: Path) -> Path:
    for cand in (path / "v1", path):
        if (cand / "model" / "model_dist_TVTS.py").is_file():
            return cand
    raise AuthorsCodeError(f"{path}: no v1/model/model_dist_TVTS.py (expected a checkout of "
                           f"github.com/TencentARC/TVTS, or its v1 folder)")


def authors_commit(path: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else "unknown"


def import_authors(path: Path) -> tuple[types.SimpleNamespace, list[str]]:
    """Their modules (model_dist_TVTS, video_encoder, sort_transformer, loss) and the shims installed."""
    v1 = authors_v1(path)
    shims: list[str] = []
    clash = [n for n in ("model", "base", "utils") if n in sys.modules
             and not str(getattr(sys.modules[n], "__file__", "") or "").startswith(str(v1))]
    if clash:
        raise AuthorsCodeError(f"top-level module name(s) {clash} already imported from elsewhere; their code "
                               f"uses these names")
    sys.path.insert(0, str(v1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # What their model file imports from transformers, resolved before any stub exists (transformers
        # probes optional packages such as psutil when its lazy names resolve).
        import transformers
        for name in ("AutoModel", "AutoTokenizer", "AutoModelForSequenceClassification",
                     "BertForSequenceClassification", "BertTokenizer", "T5EncoderModel"):
            getattr(transformers, name, None)
    # Missing optional dependencies of their utils/util.py (psutil, msgpack, humanize; unused by the
    # step): stubs only while utils.util is imported, then taken out of sys.modules again.
    stubbed = []
    for name in ("psutil", "msgpack", "humanize"):
        if importlib.util.find_spec(name) is None:
            sys.modules[name] = _MissingModule(name)
            stubbed.append(name)
            shims.append(f"{name} (stub while their utils/util.py imports: not installed, unused by the step)")
    try:
        importlib.import_module("utils.util")
    except Exception as e:  # noqa: BLE001
        raise AuthorsCodeError(f"importing their utils/util.py failed: {type(e).__name__}: {e}") from e
    finally:
        for name in stubbed:
            sys.modules.pop(name, None)
    if importlib.util.find_spec("einops") is None:
        sys.modules["einops"] = _einops_shim()
        shims.append("einops (rearrange re-implemented: reshape + permute; einops is not installed)")
    # Their base/__init__ imports their data loaders and trainers (cv2, decord, video transforms...):
    # provide a `base` package holding only their BaseModel (base/base_model.py, loaded from their file).
    base = types.ModuleType("base")
    base.__path__ = [str(v1 / "base")]
    sys.modules["base"] = base
    try:
        spec = importlib.util.spec_from_file_location("base.base_model", v1 / "base" / "base_model.py")
        bm = importlib.util.module_from_spec(spec)
        sys.modules["base.base_model"] = bm
        spec.loader.exec_module(bm)
        base.BaseModel = bm.BaseModel
    except Exception as e:  # noqa: BLE001
        raise AuthorsCodeError(f"importing their base/base_model.py failed: {type(e).__name__}: {e}") from e
    shims.append("base (package with only their base/base_model.py: their base/__init__ needs cv2, "
                 "their data loaders)")
    mods = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # timm.models.layers is deprecated in timm 1.x
        for short, name in (("video_encoder", "model.video_encoder"), ("sort_transformer", "model.sort_transformer"),
                            ("loss", "model.loss"), ("model_dist_TVTS", "model.model_dist_TVTS")):
            try:
                mods[short] = importlib.import_module(name)
            except Exception as e:  # noqa: BLE001
                raise AuthorsCodeError(f"importing their {name.replace('.', '/')}.py failed: "
                                       f"{type(e).__name__}: {e}") from e
    # Their modules import everything at the top: take their folder off the path again, so that no later
    # import of ours resolves a generic name (utils, model, logger...) to their files.
    if str(v1) in sys.path:
        sys.path.remove(str(v1))
    return types.SimpleNamespace(**mods), shims


# ---------------------------------------------------------------------------------------------------
# The shared text tower (random weights) and tokenizer
# ---------------------------------------------------------------------------------------------------
def make_text_folder(root: Path, text: dict[str, int], seed: int = 0) -> Path:
    """A DistilBERT folder (config + random weights + tokenizer) both sides load."""
    import torch
    from transformers import DistilBertConfig, DistilBertModel
    from transformers.utils import logging as hf_logging

    from tvts_bench.nn.text_encoder import minilm_path

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    out = root / f"distilbert-random-{text['dim']}x{text['n_layers']}"
    out.mkdir(parents=True, exist_ok=True)
    vocab_txt = minilm_path() / "vocab.txt"
    vocab = {line.rstrip("\n"): i for i, line in enumerate(vocab_txt.read_text(encoding="utf-8").splitlines())}
    tok = None
    try:                     # transformers >= 5: one (tokenizers-backed) class, built from a vocab dict
        from transformers import DistilBertTokenizer

        tok = DistilBertTokenizer(vocab=vocab, do_lower_case=True)
    except (ImportError, TypeError, ValueError):
        tok = None
    if tok is None or len(tok) != len(vocab):     # transformers 4: the fast tokenizer from vocab.txt
        from transformers import DistilBertTokenizerFast

        tok = DistilBertTokenizerFast(vocab_file=str(vocab_txt), do_lower_case=True)
    if len(tok) != len(vocab):
        raise RuntimeError(f"DistilBERT tokenizer built from {vocab_txt} has {len(tok)} tokens "
                           f"(expected {len(vocab)})")
    tok.save_pretrained(str(out))
    torch.manual_seed(seed)
    DistilBertModel(DistilBertConfig(vocab_size=len(tok), **text)).save_pretrained(str(out))
    return out


def synthetic_inputs(cfg: PeerConfig, seed: int) -> dict[str, Any]:
    """One batch for both sides: video, K transcripts of >= MAX_LEN tokens per clip, fed order, mask."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    b = cfg.batch
    video = torch.randn(b, 3, cfg.num_frames, cfg.img_size, cfg.img_size, generator=gen)
    texts = [[" ".join(rng.choice(WORDS) for _ in range(MAX_LEN + 10)) for _ in range(K)] for _ in range(b)]
    order = torch.stack([torch.randperm(K, generator=gen) for _ in range(b)])
    t = cfg.num_frames // cfg.tubelet
    s = (cfg.img_size // cfg.patch) ** 2
    keep_n = int(s * (1 - 0.75))
    # Their mask (YTTemporal_dataset.get_suite): per time slice, keep_n random spatial indices.
    keep_ind = torch.stack([torch.stack([torch.randperm(s, generator=gen)[:keep_n] for _ in range(t)])
                            for _ in range(b)])                                   # [B, T', keep]
    # Ours: the same visible tokens as flat time-major indices (random_keep_indices' layout).
    keep = (keep_ind.sort(dim=-1).values + (torch.arange(t) * s).view(1, t, 1)).reshape(b, -1)
    return {"video": video, "texts": texts, "order": order, "keep_ind": keep_ind, "keep": keep}


# ---------------------------------------------------------------------------------------------------
# Ours
# ---------------------------------------------------------------------------------------------------
def build_ours(cfg: PeerConfig, text_dir: Path):
    import torch

    from tvts_bench.nn.model import PretrainModel
    from tvts_bench.nn.text_encoder import TextEncoderConfig
    from tvts_bench.pretrain.objectives import ObjectiveModule, objective_config
    from tvts_bench.pretrain.presets import get_preset, model_config
    from tvts_bench.pretrain.trainer import make_optimizer

    base = get_preset(cfg.preset)
    video = replace(base.video, img_size=cfg.img_size, num_frames=cfg.num_frames,
                    patch_size=(cfg.tubelet, cfg.patch, cfg.patch), embed_dim=cfg.dim, depth=cfg.depth,
                    num_heads=cfg.heads)
    text = TextEncoderConfig(source=str(text_dir), max_len=MAX_LEN, trainable_layers=-1, pool="cls")
    preset = replace(base, video=video, text=text, sort_heads=cfg.sort_heads, sort_depth=2, proj_dim=256)
    obj = objective_config("tvts")
    torch.manual_seed(0)
    model = PretrainModel(model_config(preset, obj.name, text_source=str(text_dir), num_texts=K))
    module = ObjectiveModule(model, obj).train()
    opt = make_optimizer(model, preset.lr, preset.weight_decay)
    return model, module, opt, preset


def our_step_fn(model, module, opt, preset, inputs) -> Callable[[], float]:
    import torch

    batch = {"video": inputs["video"], "texts": inputs["texts"], "order": inputs["order"],
             "size": inputs["video"].shape[0], "keep": inputs["keep"]}

    def step() -> float:
        # As Trainer._train_step (CPU: no autocast): forward (tokenisation inside the text encoder), both
        # losses, zero_grad, backward, gradient norm (clipping when the preset clips), AdamW.
        out = module(batch)
        loss = out["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in model.parameters() if p.grad is not None]
        if preset.clip_grad:
            torch.nn.utils.clip_grad_norm_(params, preset.clip_grad)
        else:
            torch.sqrt(sum((p.grad.detach().float() ** 2).sum() for p in params))
        opt.step()
        return float(loss.detach())

    return step


# ---------------------------------------------------------------------------------------------------
# Theirs
# ---------------------------------------------------------------------------------------------------
def build_theirs(mods, cfg: PeerConfig, text_dir: Path):
    """Their TVTS as their ``TVTS.__init__`` builds it (same attributes, same order, same classes),
    at the configuration's sizes; no MAE checkpoint (random init on both sides)."""
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer

    TVTS = mods.model_dist_TVTS.TVTS
    notes: list[str] = []
    try:
        torch.manual_seed(0)
        model = TVTS.__new__(TVTS)
        nn.Module.__init__(model)
        model.args = types.SimpleNamespace(local_rank=0, world_size=1, rank=0)
        model.video_params = {"arch_config": "base_patch16_224", "num_frames": cfg.num_frames}
        # compute_text dispatches on the name: 'distilbert...' -> last_hidden_state[:, 0] (their config's model)
        model.text_params = {"model": "distilbert-base-uncased", "pretrained": True, "input": "text"}
        model.text_model = AutoModel.from_pretrained(str(text_dir))
        model.text_model.train()
        video = mods.video_encoder.VisionTransformer(
            img_size=cfg.img_size, patch_size=cfg.patch, embed_dim=cfg.dim, depth=cfg.depth, num_heads=cfg.heads,
            mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), num_frames=cfg.num_frames,
            tubelet_size=cfg.tubelet)
        video.pre_logits = nn.Identity()
        model.video_model = video
        text_dim = model.text_model.config.hidden_size
        model.txt_proj = nn.Sequential(nn.ReLU(), nn.Linear(text_dim, 256))
        model.vid_proj = nn.Sequential(nn.Linear(video.embed_dim, 256))
        model.n_trans = K
        sort = mods.sort_transformer.SortTransformer(embed_dim=cfg.dim, depth=2, num_classes=K,
                                                     num_heads=cfg.sort_heads)
        if text_dim != cfg.dim:
            sort = _text_in(sort, text_dim, cfg.dim)
            notes.append(f"their SortTransformer needs text dim == video dim: a Linear({text_dim}, {cfg.dim}) "
                         f"in front of its text input, as ours has")
        model.pred_model = sort
        model.train()
        tokenizer = AutoTokenizer.from_pretrained(str(text_dir))
        loss_fn = mods.loss.NormSoftmaxLoss()          # their config: "NormSoftmaxLoss", args {} (tau 0.05)
        params = [p for p in model.parameters() if p.requires_grad]
        import transformers

        if hasattr(transformers, "AdamW"):
            opt = transformers.AdamW(params, lr=1e-4, betas=(0.9, 0.999), weight_decay=0)
            notes.append("their optimizer: transformers.AdamW (their config)")
        else:
            opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), weight_decay=0)
            notes.append("their optimizer: torch.optim.AdamW (their transformers.AdamW is not in transformers "
                         f"{transformers.__version__}), lr 1e-4, betas (0.9, 0.999), weight decay 0")
    except AuthorsCodeError:
        raise
    except Exception as e:  # noqa: BLE001
        raise AuthorsCodeError(f"building their model from their classes failed: {type(e).__name__}: {e}") from e
    return model, tokenizer, loss_fn, opt, notes


def _text_in(sort, text_dim: int, dim: int):
    """Their SortTransformer behind a Linear(text_dim, dim) on its text input (ours: SortModule.text_in)."""
    from torch import nn

    class TextInSort(nn.Module):
        def __init__(self):
            super().__init__()
            self.text_in = nn.Linear(text_dim, dim)
            self.sort = sort

        def forward(self, text, x):
            return self.sort(self.text_in(text), x)

    return TextInSort()


def their_step_fn(mods, model, tokenizer, loss_fn, opt, inputs) -> Callable[[], float]:
    import torch

    b = inputs["video"].shape[0]
    # Their collate: text is K lists of B strings, concatenated clip-major (text[0] of every sample, then
    # text[1], ...); video [B, T, C, H, W]; label [B, K]; keep_ind [B, T', keep].
    flat = [inputs["texts"][s][i] for i in range(K) for s in range(b)]
    video = inputs["video"].permute(0, 2, 1, 3, 4).contiguous()
    labels = inputs["order"]
    keep_ind = inputs["keep_ind"]
    ce = torch.nn.CrossEntropyLoss()
    sim_matrix = mods.model_dist_TVTS.sim_matrix

    def step() -> float:
        # Trainer_TVTS._train_epoch, one process (their all-gather is the identity at world size 1).
        data = {"text": dict(tokenizer(flat, return_tensors="pt", padding=True, truncation=True,
                                       max_length=MAX_LEN)),
                "video": video, "keep_ind": keep_ind, "label": labels}
        opt.zero_grad()
        with torch.set_grad_enabled(True):
            text_embeds, video_embeds, pred_order = model(data)
            output = sim_matrix(video_embeds, text_embeds)
            loss1 = loss_fn(output)
            lab = data["label"].reshape(-1)
            pred_order = pred_order.reshape(-1, pred_order.shape[-1])
            loss2 = ce(pred_order, lab) * 2
        loss = loss1 + loss2
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


# ---------------------------------------------------------------------------------------------------
def count(model) -> float:
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6


def measure(cfg: PeerConfig, mods, root: Path, steps: int, warmup: int) -> dict[str, Any]:
    import torch

    text_dir = make_text_folder(root, cfg.text)
    inputs = synthetic_inputs(cfg, seed=0)
    ours, module, opt, preset = build_ours(cfg, text_dir)
    our_step = our_step_fn(ours, module, opt, preset, inputs)
    theirs, tok, loss_fn, their_opt, notes = build_theirs(mods, cfg, text_dir)
    their_step = their_step_fn(mods, theirs, tok, loss_fn, their_opt, inputs)
    n_tok = len(tok([inputs["texts"][0][0]], truncation=True, max_length=MAX_LEN)["input_ids"][0])
    n_tokens = (cfg.num_frames // cfg.tubelet) * (cfg.img_size // cfg.patch) ** 2
    print(f"[{cfg.name}] batch {cfg.batch}, video {tuple(inputs['video'].shape)}, {K} transcripts/clip of "
          f"{n_tok} tokens, keep {inputs['keep'].shape[1]} of {n_tokens} "
          f"tokens; trainable parameters: ours {count(ours):.2f} M, theirs {count(theirs):.2f} M; "
          f"torch threads {torch.get_num_threads()}", flush=True)
    print(f"[{cfg.name}] text tower: DistilBertConfig({', '.join(f'{k}={v}' for k, v in cfg.text.items())}), random "
          f"weights saved once and loaded by both sides, all layers trained; tokenizer: DistilBERT uncased "
          f"WordPiece ({len(tok):,} tokens, MiniLM's vocab.txt = bert-base-uncased's), called inside both timed steps")
    for n in notes:
        print(f"[{cfg.name}] note: {n}")
    losses = {"ours": [], "theirs": []}
    for _ in range(warmup):
        losses["ours"].append(our_step())
        losses["theirs"].append(their_step())
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    for i in range(steps):
        pair = [("ours", our_step), ("theirs", their_step)]
        for name, fn in (pair if i % 2 == 0 else pair[::-1]):
            t0 = time.perf_counter()
            losses[name].append(fn())
            times[name].append(time.perf_counter() - t0)
        print(f"[{cfg.name}] step {i + 1}/{steps}: ours {times['ours'][-1] * 1000:.0f} ms, theirs "
              f"{times['theirs'][-1] * 1000:.0f} ms", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["ours"] / med["theirs"]
    print(f"[{cfg.name}] median step: ours {med['ours'] * 1000:.1f} ms, theirs {med['theirs'] * 1000:.1f} ms "
          f"(best {min(times['ours']) * 1000:.1f} / {min(times['theirs']) * 1000:.1f} ms); ours/theirs "
          f"{ratio:.3f}; first losses ours {losses['ours'][0]:.3f}, theirs {losses['theirs'][0]:.3f}")
    bad = [k for k, v in losses.items() if not all(math.isfinite(x) for x in v)]
    if bad:
        print(f"[{cfg.name}] WARNING: non-finite loss on {bad}")
    out = {"config": cfg.name, "batch": cfg.batch, "video": list(inputs["video"].shape), "tokens": n_tok,
           "trainable_params_m": {"ours": round(count(ours), 3), "theirs": round(count(theirs), 3)},
           "step_ms": {k: [round(x * 1000, 1) for x in v] for k, v in times.items()},
           "median_ms": {k: round(v * 1000, 2) for k, v in med.items()}, "ratio": round(ratio, 4),
           "losses": {k: [round(x, 4) for x in v] for k, v in losses.items()}, "notes": notes}
    del ours, module, opt, theirs, their_opt
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--authors-code", required=True, help="a local checkout of github.com/TencentARC/TVTS")
    ap.add_argument("--quick", action="store_true", help="small config only, 2 timed steps, 1 warm-up")
    ap.add_argument("--configs", default=None, help="comma list of small,vit-b (default both; quick: small)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per side (default 5, >= 5; quick 2)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    configs = (args.configs or ("small" if args.quick else "small,vit-b")).split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown config(s) {unknown}; choose from {sorted(CONFIGS)}")
    steps = args.steps or (2 if args.quick else 5)
    if not args.quick and steps < 5:
        ap.error("--steps: at least 5 for a measurement (median of >= 5)")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    path = Path(args.authors_code).expanduser().resolve()
    commit = authors_commit(path)
    try:
        mods, shims = import_authors(path)
    except AuthorsCodeError as e:
        print(f"peer_step: cannot use the authors' code at {path} (commit {commit}): {e}", file=sys.stderr)
        sys.exit(2)
    print(f"authors' code: {path} (commit {commit}); shims: " + "; ".join(shims))
    rows = []
    with tempfile.TemporaryDirectory(prefix="peer_step_") as tmp:
        for name in configs:
            try:
                rows.append(measure(CONFIGS[name], mods, Path(tmp), steps, args.warmup))
            except AuthorsCodeError as e:
                print(f"peer_step: cannot build the authors' model ({name}): {e}", file=sys.stderr)
                sys.exit(2)
    ratios = [ratio_line(f"peer_step_{r['config'].replace('-', '')}_ours_over_theirs", r["ratio"], TARGET,
                         higher_is_better=False) for r in rows]
    save("peer_step", {"authors_code": str(path), "authors_commit": commit, "shims": shims, "steps": steps,
                       "warmup": args.warmup, "threads": torch.get_num_threads(), "rows": rows,
                       "tokenizer": "DistilBERT uncased WordPiece from MiniLM's vocab.txt (same tokenizer both sides, "
                                    "inside both timed steps)"},
         ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()

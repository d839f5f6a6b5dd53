"""``--init imagemae PATH``: start the video encoder from an image MAE / timm ViT checkpoint.

Accepted files: safetensors, or a torch file read with ``weights_only=True`` (no code runs). Layouts:
the MAE release (``{"model": {...}}``), timm state dicts (``vit_base_patch16_224.mae``), with or
without a ``module.`` / ``encoder.`` prefix. The 2-D patch kernel ``[D,3,16,16]`` is inflated to
``[D,3,2,16,16]`` by repeating it over time, as the authors do (no division by the temporal size).
Spatial positions are resized when the grid differs; ``temporal_embed`` stays zero. Every key of the
file that is not used, and every model key left untouched, is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import CheckpointError, MissingPathError
from ..nn.video_vit import VideoViT

PREFIXES = ("module.", "model.", "encoder.", "backbone.", "visual.")
DROP = ("decoder", "mask_token", "head.", "fc_norm.")   # MAE decoder / classifier parts: unused by design


@dataclass
class InitReport:
    path: Path
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)    # model keys not found in the file
    unused: list[str] = field(default_factory=list)     # file keys not used

    def summary(self) -> str:
        lines = [f"init from {self.path}: {len(self.loaded)} tensors loaded"]
        if self.missing:
            lines.append(f"  model keys left at their init ({len(self.missing)}): {', '.join(self.missing[:8])}"
                         + (" ..." if len(self.missing) > 8 else ""))
        if self.unused:
            lines.append(f"  file keys not used ({len(self.unused)}): {', '.join(self.unused[:8])}"
                         + (" ..." if len(self.unused) > 8 else ""))
        return "\n".join(lines)


def read_state(path: Path | str) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise MissingPathError(path, "ImageMAE checkpoint", hint="give a local .safetensors/.pth file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # unsafe pickles and corrupt files end up here
        raise CheckpointError(f"{path}: cannot read as safetensors or a weights-only torch file ({e})",
                              hint="convert it to safetensors; pickled objects other than tensors are refused") from None
    for key in ("model", "state_dict", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: no state dict found")
    out = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        name = k
        changed = True
        while changed:
            changed = False
            for p in PREFIXES:
                if name.startswith(p):
                    name, changed = name[len(p):], True
        out[name] = v
    return out


def load_imagemae(model: VideoViT, path: Path | str) -> InitReport:
    if not isinstance(model, VideoViT):
        raise CheckpointError("--init imagemae needs the video ViT encoder (objectives tvts/base/sort/videomae)")
    src = read_state(path)
    report = InitReport(Path(path))
    own = model.state_dict()
    new = {}
    for k, v in src.items():
        if k.startswith(DROP):
            report.unused.append(k)
            continue
        if k == "patch_embed.proj.weight" and v.ndim == 4:
            pt = own[k].shape[2]
            v = v.unsqueeze(2).repeat(1, 1, pt, 1, 1)          # inflate over time, no division
        elif k == "pos_embed":
            v = _resize_pos(v, own[k].shape[1] - 1)
        elif k in ("norm.weight", "norm.bias") and k not in own:
            report.unused.append(k)
            continue
        if k in own and own[k].shape == v.shape:
            new[k] = v.to(own[k].dtype)
            report.loaded.append(k)
        else:
            report.unused.append(k)
    if not report.loaded:
        raise CheckpointError(f"{path}: no tensor matches the video ViT (e.g. blocks.0.attn.qkv.weight)",
                              hint="is this a ViT checkpoint of the same width as the preset?")
    model.load_state_dict(new, strict=False)
    report.missing = [k for k in own if k not in new]
    return report


def _resize_pos(pos: torch.Tensor, n_spatial: int) -> torch.Tensor:
    """``[1, 1+S', D]`` -> ``[1, 1+S, D]`` (square grids), CLS row kept."""
    if pos.shape[1] - 1 == n_spatial:
        return pos
    cls, grid = pos[:, :1], pos[:, 1:]
    s_old = int(round(grid.shape[1] ** 0.5))
    s_new = int(round(n_spatial ** 0.5))
    g = grid.reshape(1, s_old, s_old, -1).permute(0, 3, 1, 2)
    g = F.interpolate(g.float(), size=(s_new, s_new), mode="bicubic", align_corners=False)
    return torch.cat([cls, g.permute(0, 2, 3, 1).reshape(1, s_new * s_new, -1).to(pos.dtype)], dim=1)

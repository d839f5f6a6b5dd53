"""User models: ``--model path/to/file.py:factory`` and the ``tvts_bench.models`` entry-point group.

A factory is called with the keyword arguments it accepts among ``checkpoint`` (the ``--checkpoint``
path or None) and ``device``, and with ``accept_unused`` (``--accept-unused-tensors``) only when it
names that parameter explicitly. It returns one of:

- a ``VideoAdapter`` (used as is);
- ``(module, preprocess)``: an ``nn.Module`` mapping ``[B, C, T, H, W]`` -> ``[B, D]`` and a
  ``Preprocess``;
- a dict ``{"module": ..., "preprocess": ..., optional "feature": str, "trained_on": [..],
  "name": str, "text": nn.Module (list[str] -> [N, D']), "video_proj": nn.Module}``;
- an ``nn.Module`` with a ``preprocess`` attribute.

Running a user's factory runs the user's own code, by their explicit request; their weights should
still be read through ``tvts_bench.zoo.safe_load`` (see docs/examples/user_model.py). A returned
adapter whose ``import_report`` lists unused tensors is refused like any importer's
(``registry.load_model``), unless ``accept_unused``.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

from torch import nn

from ..errors import ConfigError, MissingPathError
from .adapters import ModuleAdapter, infer_feature_dim
from .base import Preprocess, VideoAdapter
from .card import ModelCard, PreprocessSpec, WeightsSpec

ENTRY_POINT_GROUP = "tvts_bench.models"


def split_factory_spec(spec: str) -> tuple[Path, str] | None:
    """``path/to/file.py:factory`` -> (path, factory name); None if ``spec`` is not of that form."""
    head, sep, tail = spec.rpartition(":")
    if not sep or not head.endswith(".py") or not tail.isidentifier():
        return None
    return Path(head).expanduser(), tail


def load_factory_from_file(path: Path, name: str) -> Callable[..., Any]:
    if not path.is_file():
        raise MissingPathError(path, "model file", hint="--model path/to/file.py:factory")
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"tvts_bench_user_{stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot import as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    factory = getattr(module, name, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ConfigError(f"{path}: no callable {name!r} in the file",
                          hint=f"callables defined there: {', '.join(found) or 'none'}")
    return factory


def entry_point_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def load_entry_point(name: str) -> Callable[..., Any] | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    return None


def _card_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.") or "user-model"
    return name if name[0].isalnum() else f"m{name}"


def user_card(name: str, spec: str, preprocess: Preprocess, *, feature: str = "as the factory defines",
              trained_on: list[str] | None = None, text: bool = False,
              description: str | None = None) -> ModelCard:
    return ModelCard(
        name=_card_name(name), family="user", description=description or f"user model {spec}",
        weights=WeightsSpec(source="local", path=spec, format="none",
                            hint="the factory provides its own weights"),
        preprocess=PreprocessSpec.from_preprocess(preprocess), feature=feature,
        trained_on=list(trained_on or []), text_tower=text)


def call_factory(factory: Callable[..., Any], spec: str, name: str, *, checkpoint: str | None,
                 device: str, accept_unused: bool = False) -> VideoAdapter:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in (("checkpoint", checkpoint), ("device", device))
              if accepts_any or k in params}
    # Only to a factory that names it: a **kwargs factory may forward its keywords to code that
    # does not know this one.
    if "accept_unused" in params:
        kwargs["accept_unused"] = accept_unused
    result = factory(**kwargs)
    return wrap_result(result, spec, name)


def wrap_result(result: Any, spec: str, name: str) -> VideoAdapter:
    if isinstance(result, VideoAdapter):
        if not getattr(result, "name", None):
            result.name = _card_name(name)
        return result
    extra: dict[str, Any] = {}
    if isinstance(result, tuple) and len(result) == 2:
        module, preprocess = result
    elif isinstance(result, dict):
        extra = dict(result)
        module, preprocess = extra.pop("module", None), extra.pop("preprocess", None)
    elif isinstance(result, nn.Module):
        module, preprocess = result, getattr(result, "preprocess", None)
    else:
        raise ConfigError(f"model factory {spec} returned {type(result).__name__}",
                          hint="return a VideoAdapter, (nn.Module, Preprocess), a dict with 'module' "
                               "and 'preprocess', or an nn.Module with a .preprocess attribute")
    if not isinstance(module, nn.Module):
        raise ConfigError(f"model factory {spec}: 'module' must be a torch nn.Module, got "
                          f"{type(module).__name__}")
    if not isinstance(preprocess, Preprocess):
        raise ConfigError(f"model factory {spec}: 'preprocess' must be a tvts_bench.zoo.base.Preprocess, "
                          f"got {type(preprocess).__name__}")
    text = extra.get("text")
    card = user_card(str(extra.get("name") or name), spec, preprocess,
                     feature=str(extra.get("feature", getattr(module, "feature_desc", None)
                                           or "as the factory defines")),
                     trained_on=list(extra.get("trained_on", [])), text=text is not None)
    return ModuleAdapter(card=card, video=module, preprocess=preprocess,
                         feature_dim=infer_feature_dim(module, preprocess), checkpoint=spec,
                         text=text, video_proj=extra.get("video_proj"))


# -- registration -------------------------------------------------------------------------------------

_EXAMPLE_FACTORY = '''
import torch
from torch import nn
from tvts_bench.zoo.base import Preprocess


class Pool(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 5)

    def forward(self, video):
        return self.fc(video.mean(dim=(2, 3, 4)))


def make(checkpoint=None):
    torch.manual_seed(0)
    return Pool(), Preprocess(num_frames=2, size=16, short_side=16)
'''


def example(tmp: Path) -> list:
    """A factory file (``file.py:make``): the user family never loads by card name."""
    from .families import Example

    (tmp / "user_model.py").write_text(_EXAMPLE_FACTORY)
    return [Example(f"{tmp / 'user_model.py'}:make", None, 5, 2, 16, what="file.py:factory")]


def _register():
    from .families import FamilySpec, register_family

    return register_family(FamilySpec(
        name="user", summary="user models: --model path/to/file.py:factory or a tvts_bench.models entry "
                             "point (never loaded by card name)",
        load=None, loads_by_name=False, example=example))


FAMILY = _register()

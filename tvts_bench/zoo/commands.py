"""``tvts-bench check-model MODEL [--checkpoint PATH]``: load a model and check it on a few clips."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import click
import torch

from ..cli_options import data_root_option, home_option, world_preset_option
from .importing import ACCEPT_UNUSED_FLAG

SAMPLE_TEXTS = ["a person opens a door", "someone pours water into a cup", "a dog runs on grass"]


@dataclass
class Check:
    name: str
    ok: bool | None           # None: not applicable
    detail: str


@dataclass
class CheckResult:
    adapter: object
    clips_source: str
    checks: list[Check] = field(default_factory=list)
    load_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)


def _world_available(preset: str | None) -> bool:
    from ..home import default_world_preset, world_dir

    root = world_dir(preset or default_world_preset())
    try:
        from ..world import is_complete

        return bool(is_complete(root))
    except ImportError:
        return (root / "world.json").is_file()


def _data_configured(data_root: str | None) -> bool:
    if data_root or os.environ.get("TVTS_BENCH_DATA_SSV2") or os.environ.get("TVTS_BENCH_DATA_ROOT"):
        return True
    try:
        from ..home import _config_roots

        return "ssv2" in _config_roots(None)
    except Exception:
        return False


def sample_clips(adapter, n: int, data_root: str | None, world_preset: str | None) -> tuple[torch.Tensor, str]:
    """``n`` clips ``[n, C, T, H, W]`` from SSv2 (configured root or the built-in world), prepared with
    the adapter's own preprocessing; random clips only when no data is here yet (and says so)."""
    pre = adapter.preprocess
    if _data_configured(data_root) or _world_available(world_preset):
        from ..data.loader import ClipDataset
        from ..data.readers import read_dataset
        from ..home import resolve_data

        loc = resolve_data("ssv2", data_root, world_preset=world_preset)
        index = read_dataset("ssv2", loc.root)
        records = [r for split in ("validation", "train") for r in index.splits.get(split, [])]
        dataset = ClipDataset(records[: max(n * 3, n)], pre, train=False)
        videos, errors = [], []
        for i in range(len(dataset)):
            item = dataset[i]
            if item["ok"]:
                videos.append(item["video"][0])
            else:
                errors.append(item["error"])
            if len(videos) == n:
                break
        if videos:
            where = "built-in world" if loc.builtin else "data root"
            return torch.stack(videos), f"{len(videos)} SSv2 clips from the {where} ({loc.root})"
        detail = f" ({errors[0]})" if errors else ""
        source_note = f"no decodable SSv2 clip under {loc.root}{detail}"
    else:
        source_note = "the built-in world is not generated yet (run `tvts-bench world`)"
    gen = torch.Generator().manual_seed(0)
    clips = torch.randn(n, 3, pre.num_frames, pre.size, pre.size, generator=gen)
    return clips, f"RANDOM clips: {source_note}"


def run_checks(adapter, clips: torch.Tensor, clips_source: str) -> CheckResult:
    result = CheckResult(adapter, clips_source)
    add = result.checks.append
    out1 = adapter.encode_video(clips)
    b, d = clips.shape[0], adapter.feature_dim
    add(Check("output shape", tuple(out1.shape) == (b, d), f"{tuple(out1.shape)} (expected {(b, d)})"))
    add(Check("finite", bool(torch.isfinite(out1).all()),
              "all values finite" if torch.isfinite(out1).all() else "NaN or inf in the features"))
    out2 = adapter.encode_video(clips)
    same = out1.shape == out2.shape and torch.equal(out1, out2)
    diff = (out1 - out2).abs().max().item() if out1.shape == out2.shape else float("nan")
    add(Check("deterministic (eval)", same, "two passes identical" if same else f"max diff {diff:.3g}"))
    report = getattr(adapter, "import_report", None)
    if report is None:
        checkpoint = getattr(adapter, "checkpoint", None)
        add(Check("checkpoint tensors used", None,
                  "random initialisation" if checkpoint is None else "no import report (user model)"))
    else:
        detail = report.summary()
        if report.unused:
            more = " ..." if len(report.unused) > 6 else ""
            detail += (f"; unused: {', '.join(report.unused[:6])}{more} (`tvts-bench run` refuses this "
                       f"checkpoint unless {ACCEPT_UNUSED_FLAG})")
        if report.missing:
            detail += "; missing: " + ", ".join(report.missing[:6])
        add(Check("checkpoint tensors used", report.all_used, detail))
    if adapter.has_text:
        text = adapter.encode_text(SAMPLE_TEXTS)
        joint = adapter.encode_video_joint(clips)
        ok = (text.shape[0] == len(SAMPLE_TEXTS) and text.shape[-1] == joint.shape[-1]
              and bool(torch.isfinite(text).all()) and bool(torch.isfinite(joint).all()))
        add(Check("text tower", ok, f"text {tuple(text.shape)}, joint video {tuple(joint.shape)}"))
    else:
        add(Check("text tower", None, "none (video only)"))
    return result


def _print(result: CheckResult, console) -> None:
    from rich.markup import escape
    from rich.table import Table

    a = result.adapter
    info = Table(show_header=False, box=None, pad_edge=False)
    card = getattr(a, "card", None)
    rows = [
        ("model", f"{a.name} ({a.family})"),
        ("weights", str(getattr(a, "checkpoint", None) or "random initialisation")),
        ("weights hash", a.weights_hash()),
        ("parameters", f"{a.num_params():,}"),
        ("feature", f"{a.feature_dim}-d, {a.feature_desc or '-'}"),
        ("preprocess", f"{a.preprocess.num_frames} frames, {a.preprocess.size}px crop of short side "
                       f"{a.preprocess.short_side}, mean {tuple(round(x, 4) for x in a.preprocess.mean)}"),
        ("trained on", ", ".join(card.trained_on) if card and card.trained_on else "-"),
        ("clips", result.clips_source),
        ("load time", f"{result.load_seconds:.1f} s"),
    ]
    report = getattr(a, "import_report", None)
    for note in list(getattr(a, "notes", [])) + (list(report.notes) if report is not None else []):
        rows.append(("note", note))
    for k, v in rows:
        style = "bold yellow" if k == "clips" and v.startswith("RANDOM") else ""
        info.add_row(f"[bold]{k}[/]", f"[{style}]{escape(v)}[/]" if style else escape(v))
    console.print(info)
    table = Table(title="checks")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for c in result.checks:
        mark = "[green]pass[/]" if c.ok else ("[dim]n/a[/]" if c.ok is None else "[red]FAIL[/]")
        table.add_row(c.name, mark, escape(c.detail))
    console.print(table)
    console.print("[bold green]all checks passed[/]" if result.ok else "[bold red]some checks failed[/]")


def _print_keys(adapter, console) -> None:
    from rich.markup import escape

    report = getattr(adapter, "import_report", None)
    if report is None:
        console.print("no import report for this model")
        return
    console.print(f"[bold]keys of {escape(report.source)}[/] (format {escape(report.format)})")
    for key in report.used:
        console.print(f"  used     {escape(key)}")
    for key, why in sorted(report.ignored.items()):
        console.print(f"  ignored  {escape(key)}  [dim]({escape(why)})[/]")
    for key in report.unused:
        console.print(f"  [red]unused[/]   {escape(key)}")
    for key in report.missing:
        console.print(f"  [red]missing[/]  {escape(key)}")


@click.command("check-model")
@click.argument("model")
@click.option("--checkpoint", default=None, type=click.Path(), help="Weights to load into MODEL's card "
              "(a checkpoint folder or file in the family's formats).")
@click.option("--clips", "num_clips", default=4, show_default=True, type=click.IntRange(1, 64),
              help="How many clips to run through the model.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--show-keys", is_flag=True, help="List every checkpoint tensor: used, ignored (and why), "
              "unused, missing.")
@data_root_option
@world_preset_option
@home_option
def check_model(model: str, checkpoint: str | None, num_clips: int, device: str, show_keys: bool,
                data_root: str | None, world_preset: str | None) -> None:
    """Load MODEL (a card name, a checkpoint path, or path/to/file.py:factory), run it on a few
    built-in clips, and check output shape, finiteness, determinism and that every checkpoint tensor
    was used. Exits with status 1 when a check fails (unused checkpoint tensors are a failed check)."""
    from rich.console import Console

    from ..runtime import check_device
    from .registry import load_model

    check_device(device)
    console = Console(highlight=False)
    t0 = time.perf_counter()
    with console.status(f"loading {model} ..."):
        # Accept unused tensors here so they can be listed; the "checkpoint tensors used" check then
        # fails and the command exits 1 (`run` refuses such a file without the flag).
        adapter = load_model(model, checkpoint=checkpoint, device=device, accept_unused=True)
    load_seconds = time.perf_counter() - t0
    with console.status("decoding clips ..."):
        clips, source = sample_clips(adapter, num_clips, data_root, world_preset)
    with console.status("running checks ..."):
        result = run_checks(adapter, clips, source)
    result.load_seconds = load_seconds
    _print(result, console)
    if show_keys:
        _print_keys(adapter, console)
    if not result.ok:
        raise click.exceptions.Exit(1)


__all__ = ["check_model", "run_checks", "sample_clips"]

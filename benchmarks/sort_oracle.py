"""Can the sort module learn the pretext when the video side is perfect? (where the sort plateau comes from)

TVTS pretraining on the demo corpus leaves the sort loss at ln 4 (README, "Pretraining at CPU scale").
Two parts could be at fault: the text side plus the sort module (frozen MiniLM transcript features, the
paper's 2-block module with its K-way head), or the video encoder's features. This script removes the
second: each of the K windows of a pretraining sample is described by its scene ground truth (the
kind, colour and shape of every event that overlaps the window, as a multi-hot vector, re-planned from
the world's generator, nothing decoded), turned into one token by a linear map, plus a learned slot
embedding (the clock the encoder's temporal embedding provides). The sort module, the text encoder,
the window draw and the optimiser are the `small` preset's, so the only difference from
`tvts-bench pretrain --objective sort` is perfect per-window perception.

Rows: ``truth`` (as above) and ``no-video`` (the same with every truth vector zeroed: what a collapsed
encoder gives; it must stay at the 1/24 chance). Validation: held-out videos of the corpus (the
world's val split), several window draws each.

    .venv/bin/python benchmarks/sort_oracle.py [--preset demo] [--steps 200] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import _common  # noqa: F401
from _common import ratio_line, results_dir_arg, save


def window_truth(scene, start: float, end: float) -> set[str]:
    """Tokens of the events that overlap ``(start, end)``: kind, the actor's colour and shape, and the
    three together."""
    from tvts_bench.world.events import event_key

    tokens: set[str] = set()
    for ev in scene.events:
        if ev.start < end and ev.end > start:
            obj = scene.objects[ev.actor]
            key = event_key(ev)
            tokens |= {f"kind:{key}", f"colour:{obj.colour}", f"shape:{obj.shape}",
                       f"event:{key}:{obj.colour}:{obj.shape}"}
    return tokens


def draw_samples(preset, videos: range, draws: int, rng: np.random.Generator) -> list[tuple]:
    """``(texts in fed order, order, truth token sets of the K windows in time order)`` per sample."""
    from tvts_bench.pretrain.windows import sample_windows
    from tvts_bench.world.formats.yttemporal import story

    samples = []
    for k in videos:
        scene, utterances = story(preset, 0, k)
        words = tuple((w, t) for u in utterances for w, t in zip(u.words, u.times))
        for _ in range(draws):
            ws = sample_windows(words, scene.duration, rng, k=4)
            if ws is not None:
                samples.append((ws.shuffled, ws.order, [window_truth(scene, s, e) for s, e in ws.windows]))
    return samples


def encode(samples: list[tuple], vocab: dict[str, int], text_encoder, zero_truth: bool):
    import torch

    n = len(samples)
    truth = torch.zeros(n, 4, len(vocab))
    if not zero_truth:
        for i, (_, _, windows) in enumerate(samples):
            for t, tokens in enumerate(windows):
                for tok in tokens:
                    if tok in vocab:          # a token never seen in training carries no learned weight
                        truth[i, t, vocab[tok]] = 1.0
    flat = [text for s in samples for text in s[0]]
    with torch.no_grad():
        feats = torch.cat([text_encoder(flat[j:j + 256]) for j in range(0, len(flat), 256)])
    order = torch.tensor([list(s[1]) for s in samples], dtype=torch.long)
    return truth, feats.view(n, 4, -1), order


def train_and_score(train, val, steps: int, checkpoints: tuple[int, ...], seed: int) -> dict[int, dict]:
    import torch
    from torch import nn

    from tvts_bench.nn.sort_module import SortModule, SortModuleConfig, sort_correct, sort_loss
    from tvts_bench.pretrain.presets import get_preset
    from tvts_bench.pretrain.trainer import lr_factor, make_optimizer

    preset = get_preset("small")
    torch.manual_seed(seed)
    d = preset.video.embed_dim
    truth_tr, text_tr, order_tr = train
    module = nn.ModuleDict({
        "video_in": nn.Linear(truth_tr.shape[-1], d),
        "sort": SortModule(SortModuleConfig(dim=d, text_dim=text_tr.shape[-1], num_heads=preset.sort_heads,
                                            depth=preset.sort_depth, num_texts=4, head="kway")),
    })
    slot = nn.Parameter(torch.randn(4, d) * 0.02)
    module.register_parameter("slot", slot)
    opt = make_optimizer(module, preset.lr, preset.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    scores: dict[int, dict] = {}

    def forward(truth, text):
        return module["sort"](module["video_in"](truth) + slot, text)

    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = preset.lr * lr_factor(step - 1, steps, preset.schedule, preset.warmup_steps)
        ix = torch.randint(0, len(order_tr), (preset.batch_size,), generator=gen)
        loss = sort_loss(forward(truth_tr[ix], text_tr[ix]), order_tr[ix], "kway")
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(module.parameters(), preset.clip_grad or 1.0)
        opt.step()
        if step in checkpoints:
            with torch.no_grad():
                logits = forward(val[0], val[1])
                scores[step] = {"val_sort_acc": float(sort_correct(logits, val[2], "kway").float().mean()),
                                "val_sort_loss": float(sort_loss(logits, val[2], "kway")),
                                "train_sort_loss": float(loss)}
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="demo", help="world preset whose pretraining corpus is used")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--train-draws", type=int, default=8, help="window draws per training video")
    ap.add_argument("--val-draws", type=int, default=8, help="window draws per held-out video")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny world, 20 steps")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()
    import torch

    from tvts_bench.nn.text_encoder import TextEncoder
    from tvts_bench.pretrain.presets import get_preset
    from tvts_bench.world import PRESETS

    world = PRESETS["tiny" if args.quick else args.preset]
    steps = 20 if args.quick else args.steps
    checkpoints = tuple(sorted({s for s in (steps // 3, 60, steps) if 0 < s <= steps}))
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    train = draw_samples(world, range(world.yt_train), args.train_draws, rng)
    val = draw_samples(world, range(world.yt_train, world.yt_train + world.yt_val), args.val_draws, rng)
    vocab: dict[str, int] = {}
    for _, _, windows in train:
        for tokens in windows:
            for tok in sorted(tokens):
                vocab.setdefault(tok, len(vocab))
    text_encoder = TextEncoder.from_config(get_preset("small").text).eval()
    chance = 1 / math.factorial(4)
    figures = {"preset": world.name, "steps": steps, "train_samples": len(train), "val_samples": len(val),
               "truth_vocabulary": len(vocab), "chance": chance}
    lines = []
    for row, zero in (("truth", False), ("no-video", True)):
        scores = train_and_score(encode(train, vocab, text_encoder, zero), encode(val, vocab, text_encoder, zero),
                                 steps, checkpoints, args.seed)
        for step, s in scores.items():
            print(f"{row:9s} step {step:4d}: val sort acc {s['val_sort_acc']:.3f}, val sort loss "
                  f"{s['val_sort_loss']:.3f}, train sort loss {s['train_sort_loss']:.3f}", flush=True)
            figures[f"{row}_step{step}"] = s
    figures["seconds"] = round(time.time() - t0, 1)
    final = figures[f"truth_step{steps}"]["val_sort_acc"]
    lines.append(ratio_line("oracle val sort acc / 0.25", final / 0.25, 1.0))
    lines.append(ratio_line("no-video val sort acc / chance", figures[f"no-video_step{steps}"]["val_sort_acc"] / chance,
                            1.0, band=(0.0, 2.5)))
    save("sort_oracle", figures, lines, quick=args.quick, out_dir=results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()

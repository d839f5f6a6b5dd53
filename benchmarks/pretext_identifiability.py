"""How often is the transcript-sorting pretext solvable at all on the built-in corpus?

Draws pretraining samples exactly as ``tvts-bench pretrain`` does (``pretrain.windows.sample_windows``
on the same timed words, K = 4 windows of l in [3, 5] s with 1 s gaps) and checks them against the
scene ground truth that generated each video (the world's planner is re-run, nothing is decoded):

- ``narrated``: share of windows whose words come from an utterance about an event (not chatter);
- ``all_narrated``: share of samples whose K windows each narrate an event;
- ``distinct``: share of samples whose K windows narrate pairwise different events (kind, direction and
  the actor's colour and shape): otherwise two transcripts are interchangeable and the order cannot be
  told from the text;
- ``visible``: share of windows whose narrated events change something during the window;
- ``frames_per_window``: frames of the M-frame clip that land in each window (the model sees the
  window through these frames only);
- ``identifiable``: samples that are all-narrated, distinct, and whose every window has a visible change
  and at least one sampled frame before and after it changes.

    .venv/bin/python benchmarks/pretext_identifiability.py [--preset demo] [--samples 2000] [--frames 8]
"""

from __future__ import annotations

import argparse

import numpy as np

import _common  # noqa: F401
from _common import results_dir_arg, save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--frames", type=int, default=8, help="frames of the pretraining clip (small preset: 8)")
    ap.add_argument("--quick", action="store_true", help="tiny preset, 200 samples")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()
    from tvts_bench.pretrain.windows import sample_windows
    from tvts_bench.world import PRESETS
    from tvts_bench.world.formats.yttemporal import story
    from tvts_bench.world.events import event_key

    preset = PRESETS["tiny" if args.quick else args.preset]
    samples = 200 if args.quick else args.samples
    rng = np.random.default_rng(0)
    n_videos = preset.yt_train
    stories = [story(preset, 0, k) for k in range(n_videos)]
    counts = {"windows": 0, "narrated": 0, "visible": 0, "samples": 0, "all_narrated": 0, "distinct": 0,
              "identifiable": 0, "no_sample": 0}
    frames_in_window: list[int] = []
    for _ in range(samples):
        scene, utterances = stories[int(rng.integers(n_videos))]
        words = tuple((w, t) for u in utterances for w, t in zip(u.words, u.times))
        ws = sample_windows(words, scene.duration, rng, k=4, shuffle=False)
        if ws is None:
            counts["no_sample"] += 1
            continue
        counts["samples"] += 1
        # the clip: M frames spread evenly over [S_1, E_K] (TSN centre frames)
        edges = np.linspace(ws.start, ws.end, args.frames + 1)
        frame_times = (edges[:-1] + edges[1:]) / 2
        described, ok = [], True
        for s, e in ws.windows:
            counts["windows"] += 1
            events = {u.event for u in utterances for t in u.times if s < t < e and u.event is not None}
            inside = int(((frame_times > s) & (frame_times < e)).sum())
            frames_in_window.append(inside)
            if events:
                counts["narrated"] += 1
            keys = {(event_key(scene.events[i]), scene.objects[scene.events[i].actor].colour,
                     scene.objects[scene.events[i].actor].shape) for i in events}
            described.append(frozenset(keys))
            changes = [c for i in events for c in scene.events[i].changes if c.v1 != c.v0 or c.prop == "hop"]
            visible = any(c.t0 < e and c.t1 > s for c in changes)
            counts["visible"] += int(visible)
            seen_change = any((frame_times < c.t1).any() and (frame_times > c.t0).any() for c in changes)
            ok = ok and bool(events) and visible and seen_change
        all_narrated = all(described)
        distinct = all_narrated and len(set(described)) == len(described)
        counts["all_narrated"] += int(all_narrated)
        counts["distinct"] += int(distinct)
        counts["identifiable"] += int(ok and distinct)
    n, w = max(1, counts["samples"]), max(1, counts["windows"])
    figures = {"preset": preset.name, "videos": n_videos, "frames": args.frames, **counts,
               "share_narrated_windows": counts["narrated"] / w, "share_visible_windows": counts["visible"] / w,
               "share_all_narrated": counts["all_narrated"] / n, "share_distinct": counts["distinct"] / n,
               "share_identifiable": counts["identifiable"] / n,
               "frames_per_window_mean": float(np.mean(frames_in_window)) if frames_in_window else 0.0}
    for key, value in figures.items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    save("pretext_identifiability", figures, [], quick=args.quick, out_dir=results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()

"""One writer per dataset format. Each ``build(preset, seed) -> DatasetPlan`` lays out exactly the
files of the real dataset (docs/datasets.md)."""

from __future__ import annotations

from . import cc3m, didemo, hmdb51, k400, lsmdc, msrvtt, msvd, ssv2, ucf101, webvid, yttemporal

BUILDERS = {
    "yttemporal": yttemporal.build,
    "ssv2": ssv2.build,
    "k400": k400.build,
    "ucf101": ucf101.build,
    "hmdb51": hmdb51.build,
    "msrvtt": msrvtt.build,
    "didemo": didemo.build,
    "msvd": msvd.build,
    "lsmdc": lsmdc.build,
    "webvid": webvid.build,  # caption corpora of the optional second pretraining stage
    "cc3m": cc3m.build,
}

"""World sizes, in one place. Every count the world writes comes from one of these presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError


@dataclass(frozen=True)
class WorldPreset:
    name: str
    size: int  # frame side in pixels (square frames)
    fps: int
    workers: int  # processes rendering and encoding videos
    clip_seconds: tuple[float, float]  # classification clips (SSV2, K400, UCF101, HMDB51)
    # yttemporal: narrated pretraining videos
    yt_train: int
    yt_val: int
    yt_seconds: tuple[float, float]
    yt_per_subset: int  # videos per subset_<k> folder
    # classification stand-ins: classes and clips
    ssv2_classes: int
    ssv2_train_per_class: int
    ssv2_val_per_class: int
    k400_classes: int
    k400_train_per_class: int
    k400_val_per_class: int
    ucf_classes: int
    ucf_groups: int  # g01..gNN; split k tests on the k-th third of the groups
    ucf_clips_per_group: int
    hmdb_classes: int
    hmdb_clips_per_class: int
    # retrieval stand-ins: videos per split
    msrvtt_train: int
    msrvtt_test: int
    msrvtt_captions: int  # captions per video
    didemo_train: int
    didemo_val: int
    didemo_test: int
    didemo_chunks: tuple[int, int]  # video length in 5-s chunks
    msvd_train: int
    msvd_val: int
    msvd_test: int
    msvd_captions: int
    lsmdc_train: int
    lsmdc_val: int
    lsmdc_test: int
    retrieval_seconds: tuple[float, float]  # MSR-VTT / MSVD / LSMDC / WebVid clip length
    # caption corpora of the optional second pretraining stage
    webvid_train: int
    webvid_val: int
    cc3m_train: int  # still images (JPEG) with one caption each
    cc3m_val: int

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, WorldPreset] = {
    "tiny": WorldPreset(
        name="tiny", size=64, fps=8, workers=1, clip_seconds=(2.0, 2.5),
        yt_train=10, yt_val=2, yt_seconds=(20.0, 25.0), yt_per_subset=8,
        ssv2_classes=4, ssv2_train_per_class=3, ssv2_val_per_class=2,
        k400_classes=4, k400_train_per_class=3, k400_val_per_class=2,
        ucf_classes=4, ucf_groups=3, ucf_clips_per_group=2,
        hmdb_classes=4, hmdb_clips_per_class=6,
        msrvtt_train=8, msrvtt_test=6, msrvtt_captions=4,
        didemo_train=4, didemo_val=2, didemo_test=2, didemo_chunks=(3, 4),
        msvd_train=6, msvd_val=2, msvd_test=4, msvd_captions=4,
        lsmdc_train=6, lsmdc_val=2, lsmdc_test=4,
        retrieval_seconds=(5.0, 6.0),
        webvid_train=6, webvid_val=2, cc3m_train=10, cc3m_val=4,
    ),
    "demo": WorldPreset(
        name="demo", size=112, fps=8, workers=2, clip_seconds=(2.5, 3.5),
        yt_train=270, yt_val=30, yt_seconds=(20.0, 60.0), yt_per_subset=100,
        ssv2_classes=6, ssv2_train_per_class=64, ssv2_val_per_class=16,
        k400_classes=10, k400_train_per_class=48, k400_val_per_class=8,
        ucf_classes=10, ucf_groups=6, ucf_clips_per_group=4,
        hmdb_classes=10, hmdb_clips_per_class=48,
        msrvtt_train=150, msrvtt_test=50, msrvtt_captions=10,
        didemo_train=80, didemo_val=20, didemo_test=20, didemo_chunks=(5, 6),
        msvd_train=100, msvd_val=10, msvd_test=40, msvd_captions=8,
        lsmdc_train=100, lsmdc_val=20, lsmdc_test=30,
        retrieval_seconds=(6.0, 9.0),
        webvid_train=200, webvid_val=20, cc3m_train=500, cc3m_val=50,
    ),
    "large": WorldPreset(
        name="large", size=112, fps=8, workers=2, clip_seconds=(2.5, 3.5),
        yt_train=1080, yt_val=120, yt_seconds=(20.0, 60.0), yt_per_subset=200,
        ssv2_classes=6, ssv2_train_per_class=256, ssv2_val_per_class=64,
        k400_classes=10, k400_train_per_class=192, k400_val_per_class=32,
        ucf_classes=10, ucf_groups=12, ucf_clips_per_group=8,
        hmdb_classes=10, hmdb_clips_per_class=96,
        msrvtt_train=600, msrvtt_test=200, msrvtt_captions=10,
        didemo_train=320, didemo_val=80, didemo_test=80, didemo_chunks=(5, 6),
        msvd_train=400, msvd_val=40, msvd_test=160, msvd_captions=8,
        lsmdc_train=400, lsmdc_val=80, lsmdc_test=120,
        retrieval_seconds=(6.0, 9.0),
        webvid_train=800, webvid_val=80, cc3m_train=2000, cc3m_val=200,
    ),
}


def named_preset(preset: str | WorldPreset) -> WorldPreset:
    """A preset by name (a ConfigError naming the presets for an unknown one), or the preset given."""
    if isinstance(preset, WorldPreset):
        return preset
    if preset not in PRESETS:
        raise ConfigError(f"unknown world preset {preset!r}", hint=f"choose one of: {', '.join(PRESETS)}")
    return PRESETS[preset]


def preset_sizes(preset: str | WorldPreset, prefix: str) -> dict:
    """One dataset's counts in a preset: the fields ``<prefix>_*``, without the prefix (a DatasetSpec's
    ``sizes`` names the prefix: "ucf" gives {"classes": ..., "groups": ..., "clips_per_group": ...})."""
    chosen = named_preset(preset)
    start = f"{prefix}_"
    return {f.name[len(start):]: getattr(chosen, f.name) for f in fields(chosen) if f.name.startswith(start)}

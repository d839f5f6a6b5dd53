"""HuggingFace folders (``hf`` family): TimeSformer, ViViT, X-CLIP, SigLIP against transformers.

Each tiny model is built by transformers with random weights (norms and biases too), saved with
``save_pretrained`` (plus a byte-level tokenizer for the text models), loaded back through
``load_model(folder)`` (format detected from config.json) and compared with the in-memory transformers
model that wrote the folder, through the public API each model documents for its features.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tvts_bench.errors import CheckpointError
from tvts_bench.zoo.clip import tiny_clip_tokenizer
from tvts_bench.zoo.registry import detect_format, load_model

TOL = 1e-4
FRAMES, SIZE = 4, 32
SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
MAX_DIFF: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _no_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)


def _randomize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2
                    + (1.0 if p.ndim == 1 and ("norm" in name.lower()) and name.endswith("weight") else 0.0))
    return model.eval()


def _video(frames=FRAMES, seed=0):
    return torch.randn(2, 3, frames, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _close(name, got, ref):
    diff = (got - ref).abs().max().item()
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= TOL, f"{name}: max abs difference {diff:.3g}"


def _pooled(out):
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def test_timesformer_classifier_folder(tmp_path):
    from transformers import TimesformerConfig, TimesformerForVideoClassification

    torch.manual_seed(0)
    model = _randomize(TimesformerForVideoClassification(TimesformerConfig(
        image_size=SIZE, patch_size=16, num_frames=FRAMES, num_labels=5, **SMALL)), 1)
    model.save_pretrained(tmp_path / "tsf")
    assert detect_format(tmp_path / "tsf") == "hf-timesformer"
    adapter = load_model(str(tmp_path / "tsf"))
    x = _video()
    with torch.no_grad():
        feature = adapter.encode_video(x)
        _close("hf TimeSformer: final-normed CLS", feature,
               model.timesformer(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state[:, 0])
        _close("hf TimeSformer: classifier(feature) vs logits", model.classifier(feature),
               model(pixel_values=x.permute(0, 2, 1, 3, 4)).logits)
    assert set(adapter.import_report.ignored) == {"classifier.weight", "classifier.bias"}
    assert adapter.import_report.all_used and adapter.family == "hf"


def test_vivit_folders_with_pooler_and_processor(tmp_path):
    from transformers import VivitConfig, VivitForVideoClassification, VivitImageProcessor, VivitModel

    cfg = VivitConfig(image_size=SIZE, num_frames=FRAMES, tubelet_size=[2, 16, 16], num_labels=3, **SMALL)
    torch.manual_seed(0)
    bare = _randomize(VivitModel(cfg), 2)
    bare.save_pretrained(tmp_path / "vivit")
    VivitImageProcessor().save_pretrained(tmp_path / "vivit")        # shortest_edge 256, crop 224, offset
    cls = _randomize(VivitForVideoClassification(cfg), 3)
    cls.save_pretrained(tmp_path / "vivit-cls")
    x = _video(seed=1)
    adapter = load_model(str(tmp_path / "vivit"))
    with torch.no_grad():
        _close("hf ViViT: final-normed CLS", adapter.encode_video(x),
               bare(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state[:, 0])
    assert all(k.startswith("pooler.") for k in adapter.import_report.ignored)
    pre = adapter.preprocess
    assert pre.mean == pytest.approx((0.75,) * 3) and pre.std == pytest.approx((0.25,) * 3)
    assert (pre.size, pre.short_side) == (SIZE, round(256 * SIZE / 224))
    adapter = load_model(str(tmp_path / "vivit-cls"))
    with torch.no_grad():
        feature = adapter.encode_video(x)
        _close("hf ViViT classifier: classifier(feature) vs logits", cls.classifier(feature),
               cls(pixel_values=x.permute(0, 2, 1, 3, 4)).logits)


def test_xclip_video_and_text_towers(tmp_path):
    from transformers import XCLIPConfig, XCLIPModel

    folder = tmp_path / "xclip"
    tok, vocab = tiny_clip_tokenizer(folder)
    eos = vocab["<|endoftext|>"]
    text = dict(vocab_size=len(vocab), max_position_embeddings=24, bos_token_id=vocab["<|startoftext|>"],
                eos_token_id=eos, pad_token_id=eos, **SMALL)
    vision = dict(image_size=SIZE, patch_size=16, num_frames=FRAMES, mit_hidden_size=16, mit_intermediate_size=32,
                  mit_num_hidden_layers=1, mit_num_attention_heads=2, **SMALL)
    torch.manual_seed(0)
    model = _randomize(XCLIPModel(XCLIPConfig(text_config=text, vision_config=vision, projection_dim=16,
                                              prompt_layers=1, prompt_num_attention_heads=2)), 4)
    model.save_pretrained(folder)
    adapter = load_model(str(folder))
    x, texts = _video(seed=2), ["a person opens a door", "pouring water"]
    with torch.no_grad():
        _close("hf X-CLIP: get_video_features", adapter.encode_video(x),
               _pooled(model.get_video_features(pixel_values=x.permute(0, 2, 1, 3, 4))))
        tokens = tok(texts, padding=True, return_tensors="pt")
        _close("hf X-CLIP: get_text_features", adapter.encode_text(texts),
               _pooled(model.get_text_features(input_ids=tokens["input_ids"],
                                               attention_mask=tokens["attention_mask"])))
    report = adapter.import_report
    assert report.all_used and any(k.startswith("prompts_generator.") for k in report.ignored)
    assert "logit_scale" in report.ignored


def test_siglip_frames_and_text_with_max_length_padding(tmp_path):
    from transformers import SiglipConfig, SiglipModel

    folder = tmp_path / "siglip"
    tok, vocab = tiny_clip_tokenizer(folder)
    eos = vocab["<|endoftext|>"]
    torch.manual_seed(0)
    model = _randomize(SiglipModel(SiglipConfig(
        text_config=dict(vocab_size=len(vocab), max_position_embeddings=16, pad_token_id=eos, eos_token_id=eos,
                         **SMALL),
        vision_config=dict(image_size=SIZE, patch_size=16, **SMALL))), 5)
    model.save_pretrained(folder)
    adapter = load_model(str(folder))
    assert adapter.preprocess.num_frames == 8                   # the template card's frames (image model)
    x, texts = _video(frames=8, seed=3), ["a cat jumps", "someone cooks pasta in a kitchen"]
    with torch.no_grad():
        frames = x.permute(0, 2, 1, 3, 4).reshape(-1, 3, SIZE, SIZE)
        per_frame = _pooled(model.get_image_features(pixel_values=frames)).view(2, 8, -1)
        _close("hf SigLIP: frame-averaged get_image_features", adapter.encode_video(x), per_frame.mean(dim=1))
        _close("hf SigLIP: joint video (mean of normalised frames)", adapter.encode_video_joint(x),
               torch.nn.functional.normalize(per_frame, dim=-1).mean(dim=1))
        ids = tok(texts, padding="max_length", max_length=16, truncation=True, return_tensors="pt")["input_ids"]
        _close("hf SigLIP: get_text_features (max_length padding)", adapter.encode_text(texts),
               _pooled(model.get_text_features(input_ids=ids, attention_mask=torch.ones_like(ids))))
    assert set(adapter.import_report.ignored) == {"logit_scale", "logit_bias"}


def test_unknown_model_type_lists_the_readable_ones_and_extra_tensors_are_refused(tmp_path):
    from safetensors.torch import load_file, save_file
    from transformers import TimesformerConfig, TimesformerModel

    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError) as err:
        load_model(str(tmp_path / "bert"))
    for model_type in ("timesformer", "vivit", "xclip", "siglip", "videomae", "clip"):
        assert model_type in err.value.hint
    TimesformerModel(TimesformerConfig(image_size=SIZE, patch_size=16, num_frames=FRAMES, **SMALL)).save_pretrained(
        tmp_path / "tsf")
    weights = Path(tmp_path / "tsf" / "model.safetensors")
    state = load_file(weights)
    state["encoder.layer.0.stray.weight"] = torch.zeros(2)
    save_file(state, weights, metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"encoder\.layer\.0\.stray\.weight"):
        load_model(str(tmp_path / "tsf"))

"""Importers: HF VideoMAE / CLIP folders match transformers; original VideoMAE and the authors' TVTS
layouts round-trip to identical outputs; a missing q_bias and a malicious pickle are refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from tvts_bench.errors import CheckpointError
from tvts_bench.zoo.registry import load_cards, load_model

ATOL = 1e-5


def _clip_batch(frames: int = 4, size: int = 32, b: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, 3, frames, size, size, generator=torch.Generator().manual_seed(seed))


def _randomize(module: torch.nn.Module, seed: int) -> None:
    """Non-trivial values everywhere (biases and norms too), so a dropped tensor changes outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + (1.0 if p.ndim == 1 and p.shape[0] > 0 else 0))


# -- HuggingFace VideoMAE --------------------------------------------------------------------------

def _videomae_config(**kw):
    from transformers import VideoMAEConfig

    base = dict(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=64,
                num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, layer_norm_eps=1e-6)
    base.update(kw)
    return VideoMAEConfig(**base)


@pytest.fixture(scope="module")
def hf_videomae(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    from transformers import VideoMAEModel

    torch.manual_seed(0)
    model = VideoMAEModel(_videomae_config(use_mean_pooling=False)).eval()
    _randomize(model, 1)
    out = tmp_path_factory.mktemp("hf") / "videomae-small"
    model.save_pretrained(out)
    return out, model


def test_hf_videomae_folder_matches_transformers(hf_videomae):
    folder, model = hf_videomae
    adapter = load_model(str(folder))
    x = _clip_batch()
    with torch.no_grad():
        ref = model(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state.mean(dim=1)
    got = adapter.encode_video(x)
    assert got.shape == (2, 64) and adapter.feature_dim == 64
    torch.testing.assert_close(got, ref, atol=ATOL, rtol=0)
    assert adapter.import_report.all_used
    assert (adapter.preprocess.num_frames, adapter.preprocess.size) == (4, 32)
    assert adapter.name not in load_cards()         # a path never takes a card's result name


def test_hf_videomae_classifier_uses_fc_norm(tmp_path):
    from transformers import VideoMAEForVideoClassification

    torch.manual_seed(0)
    model = VideoMAEForVideoClassification(_videomae_config(use_mean_pooling=True, num_labels=3)).eval()
    _randomize(model, 2)
    model.save_pretrained(tmp_path / "cls")
    adapter = load_model(str(tmp_path / "cls"))
    x = _clip_batch(seed=1)
    with torch.no_grad():
        tokens = model.videomae(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state
        ref = model.fc_norm(tokens.mean(dim=1))
    torch.testing.assert_close(adapter.encode_video(x), ref, atol=ATOL, rtol=0)
    report = adapter.import_report
    assert set(report.ignored) == {"classifier.weight", "classifier.bias"} and not report.unused


# -- original VideoMAE .pth ------------------------------------------------------------------------

def _to_original(hf_state: dict[str, torch.Tensor], prefix: str, d: int, layers: int) -> dict:
    """HF VideoMAEModel names -> the original VideoMAE layout, written out independently here."""
    out = {f"{prefix}patch_embed.proj.weight": hf_state["embeddings.patch_embeddings.projection.weight"],
           f"{prefix}patch_embed.proj.bias": hf_state["embeddings.patch_embeddings.projection.bias"]}
    for i in range(layers):
        h, o = f"encoder.layer.{i}.", f"{prefix}blocks.{i}."
        a = h + "attention.attention."
        out[o + "attn.qkv.weight"] = torch.cat([hf_state[a + "query.weight"], hf_state[a + "key.weight"],
                                                hf_state[a + "value.weight"]])
        out[o + "attn.q_bias"] = hf_state[a + "query.bias"]
        out[o + "attn.v_bias"] = hf_state[a + "value.bias"]
        for src, dst in (("layernorm_before", "norm1"), ("attention.output.dense", "attn.proj"),
                         ("layernorm_after", "norm2"), ("intermediate.dense", "mlp.fc1"),
                         ("output.dense", "mlp.fc2")):
            out[f"{o}{dst}.weight"] = hf_state[f"{h}{src}.weight"]
            out[f"{o}{dst}.bias"] = hf_state[f"{h}{src}.bias"]
    return out


@pytest.fixture(scope="module")
def small_videomae_card():
    card = load_cards()["videomae-vitb-k400"]
    return card.model_copy(update={"config": {"num_frames": 4, "image_size": 32, "num_heads": 4}})


def test_original_videomae_pretrain_roundtrip(tmp_path, hf_videomae, small_videomae_card):
    from tvts_bench.zoo.videomae import load_videomae

    _, model = hf_videomae                      # use_mean_pooling=False: has the final layernorm
    state = _to_original(model.state_dict(), "encoder.", 64, 2)
    state["encoder.norm.weight"] = model.layernorm.weight.detach().clone()
    state["encoder.norm.bias"] = model.layernorm.bias.detach().clone()
    state["decoder.blocks.0.mlp.fc1.weight"] = torch.randn(8, 4)     # the pretraining decoder
    state["encoder_to_decoder.weight"] = torch.randn(4, 64)
    state["mask_token"] = torch.randn(1, 1, 4)
    torch.save({"model": state, "epoch": 799}, tmp_path / "checkpoint-799.pth")
    adapter = load_videomae(small_videomae_card, tmp_path / "checkpoint-799.pth")
    x = _clip_batch(seed=2)
    with torch.no_grad():
        ref = model(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state.mean(dim=1)
    torch.testing.assert_close(adapter.encode_video(x), ref, atol=ATOL, rtol=0)
    report = adapter.import_report
    assert not report.unused and not report.missing
    assert {k for k, why in report.ignored.items() if why == "pretraining decoder"} == {
        "decoder.blocks.0.mlp.fc1.weight", "encoder_to_decoder.weight", "mask_token"}


def test_original_videomae_finetuned_roundtrip(tmp_path, small_videomae_card):
    from transformers import VideoMAEModel

    from tvts_bench.zoo.videomae import load_videomae

    torch.manual_seed(3)
    model = VideoMAEModel(_videomae_config(use_mean_pooling=True)).eval()
    _randomize(model, 4)
    fc_norm = torch.nn.LayerNorm(64, eps=1e-6)
    _randomize(fc_norm, 5)
    state = _to_original(model.state_dict(), "", 64, 2)
    state.update({"fc_norm.weight": fc_norm.weight.detach(), "fc_norm.bias": fc_norm.bias.detach(),
                  "head.weight": torch.randn(7, 64), "head.bias": torch.randn(7)})
    torch.save({"module": state}, tmp_path / "finetuned.pth")
    adapter = load_videomae(small_videomae_card, tmp_path / "finetuned.pth")
    x = _clip_batch(seed=3)
    with torch.no_grad():
        ref = fc_norm(model(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state.mean(dim=1))
    torch.testing.assert_close(adapter.encode_video(x), ref, atol=ATOL, rtol=0)
    assert adapter.import_report.all_used
    assert set(adapter.import_report.ignored) == {"head.weight", "head.bias"}


def test_missing_q_bias_fails_loudly(tmp_path, hf_videomae, small_videomae_card):
    from tvts_bench.zoo.videomae import load_videomae

    _, model = hf_videomae
    state = _to_original(model.state_dict(), "encoder.", 64, 2)
    state["encoder.norm.weight"] = model.layernorm.weight.detach()
    state["encoder.norm.bias"] = model.layernorm.bias.detach()
    del state["encoder.blocks.1.attn.q_bias"]
    torch.save({"model": state}, tmp_path / "no_qbias.pth")
    with pytest.raises(CheckpointError, match=r"encoder\.blocks\.1\.attn\.q_bias.*absent"):
        load_videomae(small_videomae_card, tmp_path / "no_qbias.pth")


# -- HuggingFace CLIP ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hf_clip(tmp_path_factory):
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=32,
                bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                pad_token_id=vocab["<|endoftext|>"])
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                  image_size=32, patch_size=16)
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval()
    out = tmp_path_factory.mktemp("hf") / "clip-small"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out, model, tok


def _features(out) -> torch.Tensor:
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def test_hf_clip_folder_matches_transformers(hf_clip):
    folder, model, tok = hf_clip
    adapter = load_model(str(folder))
    x = _clip_batch(seed=4)
    texts = ["a cat jumps", "someone opens a door"]
    with torch.no_grad():
        frames = x.permute(0, 2, 1, 3, 4).reshape(-1, 3, 32, 32)
        per_frame = _features(model.get_image_features(pixel_values=frames)).view(2, 4, -1)
        ref_video = per_frame.mean(dim=1)
        ref_joint = torch.nn.functional.normalize(per_frame, dim=-1).mean(dim=1)
        ref_text = _features(model.get_text_features(**tok(texts, padding=True, return_tensors="pt")))
    torch.testing.assert_close(adapter.encode_video(x), ref_video, atol=ATOL, rtol=0)
    torch.testing.assert_close(adapter.encode_video_joint(x), ref_joint, atol=ATOL, rtol=0)
    assert adapter.has_text
    torch.testing.assert_close(adapter.encode_text(texts), ref_text, atol=ATOL, rtol=0)
    assert adapter.import_report.all_used and adapter.feature_dim == 16


# -- the authors' TVTS checkpoint ------------------------------------------------------------------

def _tiny_vit():
    from tvts_bench.nn.video_vit import VideoViT, VideoViTConfig

    torch.manual_seed(0)
    # width 384 (ViT-S): the importer takes the head count (6) from the standard table by width
    vit = VideoViT(VideoViTConfig(img_size=32, num_frames=4, patch_size=(2, 16, 16), embed_dim=384,
                                  depth=2, num_heads=6)).eval()
    _randomize(vit, 6)
    return vit


def _authors_file(path: Path, vit, config) -> None:
    state = {f"module.video_model.{k}": v for k, v in vit.state_dict().items()}
    state["module.pred_model.type_embed"] = torch.randn(2, 384)
    state["module.text_model.embeddings.word_embeddings.weight"] = torch.randn(10, 384)
    state["module.txt_proj.1.weight"] = torch.randn(16, 384)
    state["module.vid_proj.0.weight"] = torch.randn(16, 384)
    torch.save({"arch": "TVTS", "epoch": 20, "state_dict": state, "optimizer": {},
                "monitor_best": 0.0, "config": config}, path)


def _check_authors(adapter, vit) -> None:
    x = _clip_batch(seed=5)
    with torch.no_grad():
        ref = vit(x)
    torch.testing.assert_close(adapter.encode_video(x), ref, atol=ATOL, rtol=0)
    report = adapter.import_report
    assert report.all_used and not adapter.has_text
    assert report.ignored["module.pred_model.type_embed"].startswith("sort module")
    assert "module.txt_proj.1.weight" in report.ignored


def test_authors_tvts_plain_config_roundtrip(tmp_path):
    vit = _tiny_vit()
    _authors_file(tmp_path / "tvts.pth", vit, {"arch": {"type": "TVTS", "args": {}}})
    adapter = load_model("tvts-authors-vitb", checkpoint=tmp_path / "tvts.pth")
    _check_authors(adapter, vit)
    assert adapter.feature_dim == 384 and adapter.preprocess.num_frames == 4


_CONFIG_MODULE = '''
from pathlib import Path
class ConfigParser:
    """Stands in for the authors' parse_config.ConfigParser; runs code if it is ever executed."""
    def __init__(self, config, marker):
        self._config = config
        self.marker = marker
        self.save_dir = Path("/tmp/saved")
    def __setstate__(self, state):
        Path(state["marker"]).write_text("executed")
        self.__dict__.update(state)
'''


def test_authors_tvts_custom_config_class_is_never_executed(tmp_path, monkeypatch):
    (tmp_path / "parse_config_fake.py").write_text(_CONFIG_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import parse_config_fake

    marker = tmp_path / "executed.txt"
    vit = _tiny_vit()
    cfg = parse_config_fake.ConfigParser({"arch": {"type": "TVTS"}}, str(marker))
    _authors_file(tmp_path / "tvts_custom.pth", vit, cfg)
    del sys.modules["parse_config_fake"]        # the class stays importable: it must not be used
    adapter = load_model(str(tmp_path / "tvts_custom.pth"))     # format detected from the file
    _check_authors(adapter, vit)
    assert not marker.exists()
    assert "parse_config_fake" not in sys.modules
    assert any("parse_config_fake.ConfigParser" in n for n in adapter.import_report.notes)


class _Malicious:
    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned.txt"
    vit = _tiny_vit()
    _authors_file(tmp_path / "evil.pth", vit, _Malicious(str(target)))
    with pytest.raises(CheckpointError, match="Nothing was executed"):
        load_model("tvts-authors-vitb", checkpoint=tmp_path / "evil.pth")   # restricted unpickler
    with pytest.raises(CheckpointError, match="Nothing was executed"):
        load_model(str(tmp_path / "evil.pth"))                               # format detection
    from tvts_bench.zoo.safe_load import load_weight_file

    with pytest.raises(CheckpointError, match="refusing"):
        load_weight_file(tmp_path / "evil.pth")                              # weights_only
    assert not target.exists()
    torch.save({"model": _Malicious(str(target))}, tmp_path / "evil_videomae.pth")
    with pytest.raises(CheckpointError, match="refusing"):
        load_model("videomae-vitb-k400", checkpoint=tmp_path / "evil_videomae.pth")
    assert not target.exists()


def test_hf_folder_weights_missing_tensor_fails(tmp_path, hf_videomae):
    from safetensors.torch import load_file, save_file

    folder, _ = hf_videomae
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((folder / "config.json").read_text())
    state = load_file(str(folder / "model.safetensors"))
    # transformers saves the value bias as v_bias (older layout) or value.bias: drop either
    keys = [k for k in state if k.startswith("encoder.layer.0.attention.attention.")
            and k.endswith(("v_bias", "value.bias"))]
    assert len(keys) == 1
    del state[keys[0]]
    save_file(state, str(broken / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"value\.bias.*absent"):
        load_model(str(broken))
    assert json.loads((broken / "config.json").read_text())["model_type"] == "videomae"


def test_authors_tvts_text_tower_with_local_distilbert(tmp_path, monkeypatch):
    """With a local DistilBERT folder the authors' text tower and projections load and match."""
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertModel

    from tvts_bench.nn.text_encoder import minilm_path

    folder = tmp_path / "distilbert"
    tok = AutoTokenizer.from_pretrained(str(minilm_path()))
    tok.save_pretrained(folder)
    torch.manual_seed(1)
    bert = DistilBertModel(DistilBertConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2,
                                            hidden_dim=64, max_position_embeddings=64)).eval()
    bert.config.save_pretrained(folder)
    vit = _tiny_vit()
    vid_proj, txt_proj = torch.nn.Linear(384, 16), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(32, 16))
    state = {f"module.video_model.{k}": v for k, v in vit.state_dict().items()}
    state.update({f"module.text_model.{k}": v for k, v in bert.state_dict().items()})
    state.update({f"module.vid_proj.0.{k}": v for k, v in vid_proj.state_dict().items()})
    state.update({f"module.txt_proj.{k}": v for k, v in txt_proj.state_dict().items()})
    state["module.pred_model.head.weight"] = torch.randn(4, 384)
    torch.save({"state_dict": state, "config": {"arch": {"type": "TVTS"}}}, tmp_path / "tvts.pth")

    monkeypatch.setenv("TVTS_BENCH_TEXT_MODEL", str(folder))
    adapter = load_model("tvts", checkpoint=tmp_path / "tvts.pth")    # built-in card + authors' file
    assert adapter.name == "tvts-tvts" and adapter.has_text
    assert adapter.card.trained_on == ["yttemporal", "imagenet1k"]    # the authors' data, not ours
    texts = ["a man opens the fridge", "pouring milk"]
    x = _clip_batch(seed=6)
    with torch.no_grad():
        tokens = tok(texts, padding=True, truncation=True, max_length=50, return_tensors="pt")
        ref_text = txt_proj(bert(input_ids=tokens["input_ids"],
                                 attention_mask=tokens["attention_mask"]).last_hidden_state[:, 0])
        ref_video = vid_proj(vit(x))
    torch.testing.assert_close(adapter.encode_text(texts), ref_text, atol=ATOL, rtol=0)
    torch.testing.assert_close(adapter.encode_video_joint(x), ref_video, atol=ATOL, rtol=0)
    report = adapter.import_report
    assert report.all_used and list(report.ignored) == ["module.pred_model.head.weight"]


def test_restricted_unpickler_refuses_to_rewire_allowed_functions():
    """BUILD on an allowed function (setting its __defaults__) is refused, and nothing changes."""
    import io
    import pickle

    from tvts_bench.zoo.safe_load import RestrictedUnpickler, UnsafePickleError

    payload = (pickle.PROTO + b"\x02" + pickle.GLOBAL + b"torch._utils\n_rebuild_tensor_v2\n"
               + pickle.NONE + pickle.EMPTY_DICT + pickle.SHORT_BINUNICODE + b"\x0c__defaults__"
               + pickle.NONE + pickle.SETITEM + pickle.TUPLE2 + pickle.BUILD + pickle.STOP)
    before = torch._utils._rebuild_tensor_v2.__defaults__
    with pytest.raises(UnsafePickleError, match="asks to modify"):
        RestrictedUnpickler(io.BytesIO(payload)).load()
    assert torch._utils._rebuild_tensor_v2.__defaults__ == before


def test_hf_videomae_pretraining_folder_drops_decoder(tmp_path):
    """A VideoMAEForPreTraining folder (e.g. MCG-NJU/videomae-base): encoder used, decoder ignored."""
    from transformers import VideoMAEForPreTraining

    torch.manual_seed(0)
    model = VideoMAEForPreTraining(_videomae_config(use_mean_pooling=False, decoder_hidden_size=32,
                                                    decoder_num_hidden_layers=1,
                                                    decoder_num_attention_heads=2,
                                                    decoder_intermediate_size=64)).eval()
    _randomize(model, 7)
    model.save_pretrained(tmp_path / "pre")
    adapter = load_model(str(tmp_path / "pre"))
    x = _clip_batch(seed=7)
    with torch.no_grad():
        ref = model.videomae(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state.mean(dim=1)
    torch.testing.assert_close(adapter.encode_video(x), ref, atol=ATOL, rtol=0)
    report = adapter.import_report
    assert not report.unused and not report.missing
    assert any(k.startswith("decoder.") for k in report.ignored) and "encoder_to_decoder.weight" in report.ignored

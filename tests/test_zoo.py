"""Model cards, the registry (card names, paths, user factories, entry points), project checkpoints,
missing-weights errors and the check-model command."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tvts_bench.errors import CheckpointError, ConfigError
from tvts_bench.zoo.registry import list_models, load_cards, load_model

REPO = Path(__file__).resolve().parents[1]
BUILTIN = {"tvts", "tvts-base", "videomae", "clip", "scratch"}
EXTERNAL = {"tvts-authors-vitb", "videomae-vitb-k400", "clip-vitb16"}


@pytest.fixture()
def empty_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TVTS_BENCH_HOME", str(home))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)
    for name in ("TVTS_BENCH_DATA_SSV2", "TVTS_BENCH_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return home


# -- cards -----------------------------------------------------------------------------------------

def test_builtin_cards_validate_and_describe_their_data(empty_home):
    cards = load_cards()
    assert BUILTIN | EXTERNAL <= set(cards)
    for name in BUILTIN - {"scratch"}:
        assert cards[name].weights.source == "builtin-run" and cards[name].weights.run == name
        assert cards[name].trained_on == ["yttemporal"]
    assert cards["scratch"].weights.source == "random" and cards["scratch"].trained_on == []
    assert cards["videomae-vitb-k400"].trained_on == ["k400"]
    assert cards["tvts"].paper_row and cards["tvts"].text_tower
    assert cards["clip-vitb16"].preprocess.mean[0] == pytest.approx(0.48145466)
    assert all(c.source_file and Path(c.source_file).stem == c.name for c in cards.values())
    listing = {row.card.name: row for row in list_models()}
    assert listing["scratch"].available and not listing["tvts"].available
    assert any("runs/tvts" in where for where in listing["tvts"].looked)


def test_broken_card_names_file_and_field(tmp_path):
    good = (REPO / "models" / "scratch.yaml").read_text()
    bad = tmp_path / "cards"
    bad.mkdir()
    (bad / "scratch.yaml").write_text(good.replace("frames: 8", "frames: many"))
    with pytest.raises(ConfigError) as err:
        load_cards([bad])
    assert str(bad / "scratch.yaml") in err.value.message and "preprocess.frames" in err.value.message

    (bad / "scratch.yaml").write_text(good.replace("source: random", "source: builtin-run"))
    with pytest.raises(ConfigError, match=r"scratch\.yaml.*'weights'.*needs 'run'"):
        load_cards([bad])

    (bad / "scratch.yaml").write_text(good + "\nunexpected_key: 1\n")
    with pytest.raises(ConfigError, match="unexpected_key"):
        load_cards([bad])

    (bad / "scratch.yaml").write_text("name: scratch\nfamily: [unclosed\n")
    with pytest.raises(ConfigError, match=r"scratch\.yaml, line \d+: not valid YAML"):
        load_cards([bad])


def test_user_cards_in_home_and_duplicates(empty_home):
    cards_dir = empty_home / "models"
    cards_dir.mkdir(parents=True)
    text = (REPO / "models" / "scratch.yaml").read_text() + "config: {preset: tiny}\n"
    for seed in (0, 1):
        (cards_dir / f"tiny-{seed}.yaml").write_text(
            text.replace("name: scratch", f"name: tiny-{seed}").replace("seed: 0", f"seed: {seed}"))
    a, b = load_model("tiny-0"), load_model("tiny-1")
    assert a.feature_dim == 64 and a.preprocess.size == 32       # the tiny preset's encoder
    assert a.weights_hash() != b.weights_hash()
    again = load_model("tiny-0")
    assert again.weights_hash() == a.weights_hash()             # seeded: reproducible
    x = torch.randn(1, 3, 4, 32, 32)
    assert torch.equal(a.encode_video(x), again.encode_video(x))
    (cards_dir / "scratch.yaml").write_text(text)
    with pytest.raises(ConfigError, match="already defined"):
        load_cards()


# -- weights not here ------------------------------------------------------------------------------

def test_missing_weights_say_where_and_how(empty_home):
    with pytest.raises(CheckpointError) as err:
        load_model("tvts-base")
    assert str(empty_home / "runs" / "tvts-base") in err.value.message
    assert "pretrain --objective base" in err.value.hint
    (empty_home / "runs" / "tvts-base-tiny" / "checkpoints").mkdir(parents=True)
    with pytest.raises(CheckpointError) as err:
        load_model("tvts-base")
    assert "other runs here: tvts-base-tiny" in err.value.hint      # e.g. `pretrain --preset tiny`
    with pytest.raises(CheckpointError) as err:
        load_model("clip-vitb16")
    assert str(empty_home / "weights" / "clip-vitb16") in err.value.message
    assert "--checkpoint" in err.value.hint
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        load_model("no-such-model")


# -- this project's checkpoints --------------------------------------------------------------------

def _save_run(home: Path, objective: str, run: str) -> torch.nn.Module:
    from tvts_bench.nn.model import PretrainModel
    from tvts_bench.pretrain.checkpoint import save_checkpoint
    from tvts_bench.pretrain.presets import get_preset, model_config

    preset = get_preset("tiny")
    cfg = model_config(preset, objective, text_source="random-tiny")
    torch.manual_seed(0)
    model = PretrainModel(cfg).eval()
    save_checkpoint(home / "runs" / run, 10, model,
                    {"objective": objective, "model": cfg.as_dict(),
                     "preprocess": preset.preprocess().as_dict()}, {})
    return model


def test_project_runs_load_by_card_name(empty_home):
    from safetensors.torch import load_file

    from tvts_bench.hashing import state_dict_hash

    x = torch.randn(2, 3, 4, 32, 32)
    model = _save_run(empty_home, "tvts", "tvts")
    adapter = load_model("tvts")
    with torch.no_grad():
        torch.testing.assert_close(adapter.encode_video(x), model.video_model(x), atol=1e-6, rtol=0)
        torch.testing.assert_close(adapter.encode_text(["a cup"]), model.encode_text(["a cup"]),
                                   atol=1e-6, rtol=0)
        torch.testing.assert_close(adapter.encode_video_joint(x), model.vid_proj(model.video_model(x)),
                                   atol=1e-6, rtol=0)
    report = adapter.import_report
    assert report.all_used and any(k.startswith("pred_model.") for k in report.ignored)
    ckpt = Path(adapter.checkpoint)
    assert ckpt.name == "step-00000010"
    assert adapter.weights_hash() == state_dict_hash(load_file(str(ckpt / "model.safetensors")))
    assert adapter.model_info()["trained_on"] == ["yttemporal"]
    assert any(p.requires_grad for p in adapter.video_backbone().parameters())   # fine-tunable
    scratch = load_model("scratch")              # random init of the same architecture as the run
    assert scratch.preprocess == adapter.preprocess and scratch.feature_dim == adapter.feature_dim
    assert scratch.weights_hash() != adapter.weights_hash()

    mae = _save_run(empty_home, "videomae", "videomae")
    adapter = load_model("videomae")
    torch.testing.assert_close(adapter.encode_video(x), mae.video_model(x).detach(), atol=1e-6, rtol=0)
    assert not adapter.has_text and adapter.import_report.all_used
    assert any(k.startswith("decoder.") for k in adapter.import_report.ignored)
    # the same checkpoint by path takes a name that is not a card's
    assert load_model("videomae", checkpoint=empty_home / "runs" / "videomae").name == "videomae"
    by_path = load_model(str(empty_home / "runs" / "videomae"))
    assert by_path.name == "videomae-local" and by_path.weights_hash() == adapter.weights_hash()


# -- user models -----------------------------------------------------------------------------------

_FACTORY = '''
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

def noisy():
    class Noisy(Pool):
        def forward(self, video):
            return super().forward(video) + torch.rand(video.shape[0], 5)
    return Noisy(), Preprocess(num_frames=2, size=16, short_side=16)
'''


def test_user_factory_file_and_entry_point(tmp_path, empty_home, monkeypatch):
    (tmp_path / "mymodel.py").write_text(_FACTORY)
    adapter = load_model(f"{tmp_path / 'mymodel.py'}:make")
    assert adapter.family == "user" and adapter.feature_dim == 5
    assert adapter.encode_video(torch.randn(3, 3, 2, 16, 16)).shape == (3, 5)

    example = load_model(f"{REPO / 'docs' / 'examples' / 'user_model.py'}:tiny_3d_cnn")
    assert example.name == "tiny-3d-cnn" and example.feature_dim == 64
    assert example.encode_video(torch.randn(1, 3, 8, 64, 64)).shape == (1, 64)

    with pytest.raises(ConfigError, match="no callable 'nope'.*"):
        load_model(f"{tmp_path / 'mymodel.py'}:nope")

    class FakeEntryPoint:
        name = "my-pool"

        def load(self):
            from tvts_bench.zoo import user as user_mod

            return user_mod.load_factory_from_file(tmp_path / "mymodel.py", "make")

    import tvts_bench.zoo.user as user

    monkeypatch.setattr(user, "entry_points", lambda group: [FakeEntryPoint()]
                        if group == user.ENTRY_POINT_GROUP else [])
    assert load_model("my-pool").feature_dim == 5


# -- check-model -----------------------------------------------------------------------------------

def _check(args: list[str]):
    from tvts_bench.zoo.commands import check_model

    return CliRunner().invoke(check_model, args, catch_exceptions=False)


def test_check_model_on_hf_folder_passes(tmp_path, empty_home):
    from transformers import VideoMAEConfig, VideoMAEModel

    torch.manual_seed(0)
    VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2,
                                 hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64)).save_pretrained(tmp_path / "vmae")
    result = _check([str(tmp_path / "vmae"), "--clips", "2", "--show-keys"])
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.output and "RANDOM clips" in result.output
    assert "FAIL" not in result.output and "checkpoint tensors used" in result.output
    assert "used     encoder.layer.0.attention.attention.query.weight" in result.output


def test_check_model_flags_nondeterminism(tmp_path, empty_home):
    (tmp_path / "mymodel.py").write_text(_FACTORY)
    result = _check([f"{tmp_path / 'mymodel.py'}:noisy", "--clips", "2"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "some checks failed" in result.output


def test_check_model_on_builtin_world_clips(bench_home):
    _save_run(bench_home, "videomae", "videomae")
    result = _check(["videomae", "--clips", "2"])
    assert result.exit_code == 0, result.output
    assert "SSv2 clips from the built-in world" in result.output and "RANDOM" not in result.output


def test_project_checkpoint_with_an_unknown_tensor_is_refused(empty_home):
    """No tensor is left unused in silence: the extra key is named (the pretraining package loads
    project checkpoints strictly, before the zoo's own account of the keys)."""
    from safetensors.torch import load_file, save_file

    _save_run(empty_home, "tvts", "tvts")
    ckpt = empty_home / "runs" / "tvts" / "checkpoints" / "step-00000010"
    state = load_file(str(ckpt / "model.safetensors"))
    state["video_model.mystery"] = torch.zeros(3)
    save_file(state, str(ckpt / "model.safetensors"))
    with pytest.raises(CheckpointError, match="video_model.mystery"):
        load_model("tvts")


def test_check_model_exits_nonzero_when_a_tensor_is_unused(tmp_path, empty_home):
    from safetensors.torch import load_file, save_file
    from transformers import VideoMAEConfig, VideoMAEModel

    VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2,
                                 hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64)).save_pretrained(tmp_path / "vmae")
    state = load_file(str(tmp_path / "vmae" / "model.safetensors"))
    state["encoder.layer.0.extra.weight"] = torch.zeros(2)
    save_file(state, str(tmp_path / "vmae" / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"encoder\.layer\.0\.extra\.weight"):
        load_model(str(tmp_path / "vmae"))                  # what `tvts-bench run` does by default
    result = _check([str(tmp_path / "vmae"), "--clips", "2"])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "encoder.layer.0.extra.weight" in result.output
    assert "--accept-unused-tensors" in result.output

"""``Preprocess`` and the normalisation constants live in the data layer (which applies them); the
model zoo re-exports them, so user code importing them from ``tvts_bench.zoo.base`` keeps working."""

from __future__ import annotations

import pickle
import subprocess
import sys


def test_zoo_base_re_exports_the_data_layers_preprocess_and_constants():
    from tvts_bench.data import preprocess as data_pre
    from tvts_bench.zoo import base

    for name in ("Preprocess", "IMAGENET_MEAN", "IMAGENET_STD", "CLIP_MEAN", "CLIP_STD"):
        assert getattr(base, name) is getattr(data_pre, name), name
    pre = base.Preprocess(num_frames=8, size=64, short_side=72)
    assert pre == data_pre.Preprocess(8, 64, 72, data_pre.IMAGENET_MEAN, data_pre.IMAGENET_STD)
    assert pre.as_dict() == {"num_frames": 8, "size": 64, "short_side": 72,
                             "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    assert pickle.loads(pickle.dumps(pre)) == pre


def test_the_data_layer_loads_without_the_model_zoo():
    code = ("import sys\n"
            "import tvts_bench.data.loader, tvts_bench.data.transforms, tvts_bench.data.preprocess\n"
            "print(sorted(m for m in sys.modules if m.startswith('tvts_bench.zoo')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

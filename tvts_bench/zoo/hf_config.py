"""The one reader of a model folder's ``config.json`` (and its processor settings) for the zoo.

Detection (``families.Probe``), the families' folder checks and loaders (``videomae``, ``clip``, ``hf``,
``frozen``'s text folder) and this project's own checkpoints (``project``) all read the file here:
``read_config_json`` (plain JSON: torch- and transformers-free, never raises), ``model_type``,
``load_config`` (the transformers config object; an unreadable one is a ``CheckpointError`` naming the
file) and ``read_processor_config`` (``preprocessor_config.json``; invalid JSON is an error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import CheckpointError

CONFIG = "config.json"
# where a HuggingFace folder keeps its processor settings, newest name first
PROCESSOR_FILES = ("video_preprocessor_config.json", "preprocessor_config.json")


def read_config_json(folder: Path | str) -> dict | None:
    """``folder/config.json`` as a dict: None when ``folder`` is not a folder with one, {} when it is
    unreadable or not a JSON object."""
    folder = Path(folder)
    path = folder / CONFIG
    if not (folder.is_dir() and path.is_file()):
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def model_type(folder: Path | str) -> str | None:
    """The ``model_type`` of ``folder``'s config.json, or None (no file, unreadable, no such string)."""
    value = (read_config_json(folder) or {}).get("model_type")
    return value if isinstance(value, str) else None


def load_config(folder: Path | str, config_class: Any = None, what: str = "") -> Any:
    """transformers' config object of ``folder`` (``config_class``, default ``AutoConfig``), read
    locally; an unreadable one is a ``CheckpointError`` ("not a readable {what}config")."""
    if config_class is None:
        from transformers import AutoConfig as config_class
    folder = Path(folder)
    try:
        return config_class.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{folder / CONFIG}: not a readable {what + ' ' if what else ''}config ({e})") from None


def read_processor_config(folder: Path | str, names: tuple[str, ...] = PROCESSOR_FILES) -> dict:
    """The first of ``names`` in ``folder`` as a dict ({} when none is there); invalid JSON is an error."""
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    return {}

"""User-facing errors.

Every error a user can cause (bad path, malformed annotation, wrong checkpoint) is raised as a
``TvtsBenchError``. The CLI prints its message and a hint and exits with status 2 instead of showing
a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class TvtsBenchError(Exception):
    """An error caused by the user's input or environment, with a message that says what to do."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class MissingPathError(TvtsBenchError):
    def __init__(self, path: Path | str, what: str, *, hint: str | None = None):
        super().__init__(f"{what} not found: {path}", hint=hint)
        self.path = Path(path)


class DataFormatError(TvtsBenchError):
    """A malformed annotation file. Names the file, and the line (1-based) or key where known."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None,
                 key: str | None = None, hint: str | None = None):
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if key is not None:
            where += f", key {key!r}"
        super().__init__(f"{where}: {problem}", hint=hint)
        self.path = Path(path)
        self.line = line
        self.key = key


class VideoDecodeError(TvtsBenchError):
    """A video that cannot be opened or decoded. Loaders count and skip these; they never stop a run."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"cannot decode video {path}: {problem}")
        self.path = Path(path)


class CheckpointError(TvtsBenchError):
    """A checkpoint that is missing, unsafe to load, or does not match the model."""


class ConfigError(TvtsBenchError):
    """An invalid model card, task card, preset or option."""


class NonFiniteError(TvtsBenchError):
    """NaN or inf in features, logits or similarities: a score computed from them would be arbitrary
    (NaN compares false with everything), so the task fails instead of reporting a number."""

    def __init__(self, what: str, count: int, total: int, rows: list[str], *, context: str = ""):
        shown = ", ".join(rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
        prefix = f"{context}: " if context else ""
        super().__init__(f"{prefix}{count} of {total} rows of {what} hold NaN or inf ({shown})",
                         hint="the model produced non-finite outputs; check its weights (check-model) and "
                              "its preprocessing; no result was written for this task")
        self.what, self.count, self.total, self.rows = what, count, total, rows

    def within(self, context: str) -> "NonFiniteError":
        """The same error with ``context`` (model and task) in front."""
        return NonFiniteError(self.what, self.count, self.total, self.rows, context=context)

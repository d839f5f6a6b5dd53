"""tvts-bench: TVTS pretraining and a transfer benchmark for video encoders."""

__version__ = "0.1.0"

"""TVTS pretraining: transcript windows, the clip dataset, objectives, trainer, checkpoints, DDP."""

"""One writer per dataset format. Each ``build(preset, seed) -> DatasetPlan`` lays out exactly the
files of the real dataset (docs/datasets.md). A dataset's ``DatasetSpec`` (``data/readers/<name>.py``)
names its writer; the world planner (``world/__init__.py``) collects them from there."""

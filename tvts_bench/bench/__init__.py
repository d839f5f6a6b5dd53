"""Evaluation: task cards and registry, protocols, metrics, feature cache, results, runner."""

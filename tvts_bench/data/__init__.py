"""Data layer: readers of the real dataset formats, manifests, decoding, sampling, loaders."""

"""state_dict_hash reads every tensor, 0-d ones (BatchNorm's num_batches_tracked) included."""

import torch
from torch import nn

from tvts_bench.hashing import state_dict_hash


def test_zero_dim_tensors_hash_and_count():
    net = nn.Sequential(nn.Conv1d(1, 2, 1), nn.BatchNorm1d(2))
    before = state_dict_hash(net.state_dict())
    net[1].num_batches_tracked += 1
    assert state_dict_hash(net.state_dict()) != before


def test_one_dim_hash_is_unchanged_by_the_reshape():
    # the bytes of a contiguous tensor are the same before and after reshape(-1)
    state = {"w": torch.arange(6, dtype=torch.float32).view(2, 3)}
    assert state_dict_hash(state) == state_dict_hash({"w": torch.arange(6, dtype=torch.float32).view(2, 3)})
    assert state_dict_hash(state) != state_dict_hash({"w": torch.arange(6, dtype=torch.float32).view(3, 2)})

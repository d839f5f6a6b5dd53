"""The one epoch sampler: pretraining's and the clip loaders' batch orders are pinned to their documented
rules (existing runs must keep their batches, pretraining resume must stay bit-exact), and a mid-epoch
start yields exactly the tail of the epoch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tvts_bench.data.loader import make_loader
from tvts_bench.data.sampler import ClipSampler, EpochBatches, EpochSampler
from tvts_bench.pretrain.dataset import EpochBatches as ReexportedEpochBatches

# The permutation seeds existing runs were made with: literals here, so changing a stream fails a test.
PRETRAIN_SEED_WORD = 0x6570
CLIP_SEED_WORD = 0xC11D


def expected_pretrain_batches(n, batch, world, rank, start, seed, epoch):
    """Pretraining's rule, written out: permutation of (seed, epoch, 0x6570); global batch j = slots
    [j*B*W, (j+1)*B*W); rank r takes the r-th block of B; the incomplete last global batch is dropped;
    keys (epoch, index)."""
    perm = np.random.default_rng([seed, epoch, PRETRAIN_SEED_WORD]).permutation(n).tolist()
    out = []
    for j in range(start, n // (batch * world)):
        global_batch = perm[j * batch * world:(j + 1) * batch * world]
        out.append([(epoch, i) for i in global_batch[rank * batch:(rank + 1) * batch]])
    return out


def expected_clip_keys(n, world, rank, seed, epoch, shuffle, pad):
    """The clip loaders' rule, written out: permutation of (seed, epoch, 0xC11D) or 0..n-1; padded by
    wrapping to a multiple of W; rank r takes positions r, r+W, ...; keys (index, epoch)."""
    order = np.random.default_rng([seed, epoch, CLIP_SEED_WORD]).permutation(n).tolist() if shuffle \
        else list(range(n))
    while pad and order and len(order) % world:
        order.append(order[len(order) - n])
    return [(i, epoch) for i in order[rank::world]]


@pytest.mark.parametrize("n, batch, world, rank, start", [
    (20, 3, 1, 0, 0), (20, 3, 1, 0, 4), (20, 3, 2, 1, 0), (23, 2, 3, 2, 1), (50, 4, 4, 3, 2),
    (101, 8, 2, 0, 5), (7, 2, 4, 1, 0), (12, 3, 2, 0, 2), (12, 3, 2, 1, 9)])
def test_pretraining_batches_follow_the_documented_rule(n, batch, world, rank, start):
    for seed, epoch in [(0, 0), (1, 2), (7, 5)]:
        want = expected_pretrain_batches(n, batch, world, rank, start, seed, epoch)
        got = EpochBatches(n, batch, seed, epoch, start=start, rank=rank, world_size=world)
        assert list(got) == want and len(got) == len(want)
    assert ReexportedEpochBatches is EpochBatches


def test_batch_orders_of_existing_runs_are_pinned():
    # Literal orders recorded from the samplers before they were merged (numpy 2.4 PCG64 streams).
    assert list(EpochBatches(10, 2, 0, 0)) == [[(0, 3), (0, 9)], [(0, 1), (0, 4)], [(0, 8), (0, 2)],
                                                [(0, 6), (0, 5)], [(0, 7), (0, 0)]]
    assert list(EpochBatches(12, 2, 1, 1, rank=1, world_size=2)) == [[(1, 6), (1, 10)], [(1, 2), (1, 5)],
                                                                      [(1, 4), (1, 1)]]
    assert list(EpochBatches(10, 2, 0, 0, shuffle=False)) == [[(0, 2 * j), (0, 2 * j + 1)] for j in range(5)]
    clips = ClipSampler(7, shuffle=True, seed=0, rank=1, num_replicas=2, pad=True)
    clips.set_epoch(1)
    assert list(clips) == [(3, 1), (2, 1), (6, 1), (5, 1)]


@pytest.mark.parametrize("n, world", [(10, 3), (9, 3), (2, 4), (17, 1), (0, 2)])
@pytest.mark.parametrize("shuffle, pad", [(False, False), (True, False), (True, True)])
def test_clip_keys_follow_the_documented_rule(n, world, shuffle, pad):
    for rank in range(world):
        sampler = ClipSampler(n, shuffle=shuffle, seed=3, rank=rank, num_replicas=world, pad=pad)
        sampler.set_epoch(4)
        want = expected_clip_keys(n, world, rank, 3, 4, shuffle, pad)
        assert list(sampler) == want and len(sampler) == len(want)


ALL_OPTIONS = list(itertools.product(["block", "stride"], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("layout, shuffle, pad, drop_last", ALL_OPTIONS)
def test_a_mid_epoch_start_yields_exactly_the_tail_of_the_epoch(layout, shuffle, pad, drop_last):
    for n, batch, world in [(23, 2, 3), (20, 3, 2), (9, 4, 1), (5, 2, 4)]:
        for rank in range(world):
            def sampler(start):
                return EpochSampler(n, batch_size=batch, seed=5, epoch=1, start=start, rank=rank, world_size=world,
                                    shuffle=shuffle, stream=0x1234, layout=layout, pad=pad, drop_last=drop_last)
            full = list(sampler(0).batches())
            for start in range(len(full) + 2):
                tail = sampler(start)
                assert list(tail.batches()) == full[start:]
                assert len(tail) == sum(map(len, full[start:])) == len(list(tail))


@pytest.mark.parametrize("layout, shuffle, pad, drop_last", ALL_OPTIONS)
def test_ranks_split_each_global_batch(layout, shuffle, pad, drop_last):
    n, batch, world = 23, 2, 3
    common = dict(batch_size=batch, seed=2, epoch=3, shuffle=shuffle, stream=0x1234, layout=layout, pad=pad,
                  drop_last=drop_last)
    single = list(EpochSampler(n, **{**common, "batch_size": batch * world}).batches())
    shards = [list(EpochSampler(n, rank=r, world_size=world, **common).batches()) for r in range(world)]
    if drop_last or pad:
        assert len({len(s) for s in shards}) == 1                  # every rank runs the same number of steps
    if not pad:
        # Without padding the union over ranks of global batch j is the single-process batch j.
        for j, whole in enumerate(single):
            parts = [s[j] for s in shards if j < len(s)]
            assert sorted(k for p in parts for k in p) == sorted(whole)
        seen = sorted(i for s in shards for b in s for i, _ in b)
        assert seen == (sorted(i for b in single for i, _ in b))
        if not drop_last:
            assert seen == list(range(n))                           # each key exactly once
    else:
        seen = {i for s in shards for b in s for i, _ in b}
        assert seen == set(range(n)) or (drop_last and seen < set(range(n)))


def test_options_are_checked():
    with pytest.raises(ValueError):
        EpochSampler(4, stream=1, rank=2, world_size=2)
    with pytest.raises(ValueError):
        EpochSampler(4, stream=1, layout="zigzag")
    with pytest.raises(ValueError):
        EpochSampler(4, stream=1, key_order="index")
    with pytest.raises(ValueError):
        EpochSampler(4, stream=1, start=-1)


def test_make_loader_drop_last_gives_every_rank_the_same_steps_without_padding(monkeypatch):
    from tvts_bench.data import loader as loader_mod

    steps = []
    for rank in range(3):
        monkeypatch.setattr(loader_mod, "_dist_world", lambda rank=rank: (rank, 3))
        dl = make_loader(list(range(10)), batch_size=2, pad=False, drop_last=True)   # the sampler reads len()
        batches = list(dl.batch_sampler)
        steps.append(len(batches))
        assert len(dl) == len(batches)
        assert batches == [[(rank, 0), (rank + 3, 0)]]           # the one full global batch: keys 0..5
    assert steps == [1, 1, 1]


def test_a_mid_epoch_start_applies_to_its_own_epoch_only():
    from tvts_bench.data.sampler import EpochSampler

    resumed = EpochSampler(20, batch_size=2, seed=3, epoch=1, start=4, stream=7)
    full = EpochSampler(20, batch_size=2, seed=3, epoch=1, stream=7)
    assert list(resumed) == list(full)[8:]
    resumed.set_epoch(1)                     # the same epoch again: still resumed
    assert list(resumed) == list(full)[8:]
    resumed.set_epoch(2)
    full.set_epoch(2)
    assert list(resumed) == list(full) and len(list(full)) == 20

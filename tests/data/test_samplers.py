import itertools
from collections import Counter

import pytest

from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.data.samplers import DefaultSampler, InfiniteSampler


def shards(cls, size, world, **kwargs):
    return [cls(range(size), rank=rank, world_size=world, **kwargs) for rank in range(world)]


@pytest.mark.parametrize("size,world", [(10, 1), (10, 3), (12, 4), (2, 3)])
def test_default_sampler_round_up_covers_every_sample_with_equal_shares(size, world):
    samplers = shards(DefaultSampler, size, world, seed=7)
    epochs = [list(s) for s in samplers]
    assert len({len(e) for e in epochs}) == 1
    assert all(len(e) == len(s) == -(-size // world) for e, s in zip(epochs, samplers))
    counts = Counter(itertools.chain.from_iterable(epochs))
    assert set(counts) == set(range(size))
    assert sum(counts.values()) - size == -(-size // world) * world - size  # only the padding repeats


@pytest.mark.parametrize("size,world", [(10, 3), (7, 7), (5, 2)])
def test_default_sampler_without_round_up_gives_disjoint_shards_once_each(size, world):
    epochs = [list(s) for s in shards(DefaultSampler, size, world, seed=3, round_up=False)]
    flat = list(itertools.chain.from_iterable(epochs))
    assert sorted(flat) == list(range(size))


def test_default_sampler_order_depends_on_seed_and_epoch_only():
    a, b, c = DefaultSampler(range(50), seed=1), DefaultSampler(range(50), seed=1), DefaultSampler(range(50), seed=2)
    assert list(a) == list(b) != list(c)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(a) == list(range(50))
    b.set_epoch(1)
    assert list(a) == list(b)


def test_default_sampler_without_shuffle_is_strided_in_order():
    assert list(DefaultSampler(range(10), shuffle=False, rank=1, world_size=3)) == [1, 4, 7, 0]
    assert list(DefaultSampler(range(10), shuffle=False, round_up=False, rank=1, world_size=3)) == [1, 4, 7]


@pytest.mark.parametrize("rank", [0, 2])
def test_default_sampler_seek_equals_skipping_a_fresh_iterator(rank):
    sampler = DefaultSampler(range(101), seed=5, rank=rank, world_size=3)
    sampler.set_epoch(4)
    full = list(sampler)
    for n in [0, 1, 17, len(full) - 1, len(full)]:
        sampler.seek(n)
        assert list(sampler) == full[n:]
        assert list(sampler) == full  # a seek only affects the next iteration
    with pytest.raises(ValueError, match="only 34 indices"):
        sampler.seek(35)
    with pytest.raises(ValueError):
        sampler.seek(-1)


def test_default_sampler_state_dict_restores_order():
    sampler = DefaultSampler(range(30), seed=None)
    sampler.set_epoch(3)
    restored = DefaultSampler(range(30), seed=None)
    restored.load_state_dict(sampler.state_dict())
    assert list(restored) == list(sampler)


@pytest.mark.parametrize("round_up", [True, False])
def test_infinite_sampler_epochs_are_sharded_permutations(round_up):
    size, world = 23, 4
    samplers = shards(InfiniteSampler, size, world, seed=11, round_up=round_up)
    for epoch in range(3):
        chunk = [list(itertools.islice(iter(s), epoch * len(s), (epoch + 1) * len(s))) for s in samplers]
        flat = list(itertools.chain.from_iterable(chunk))
        assert set(flat) == set(range(size))
        assert len(flat) == (24 if round_up else 23)
    s0 = samplers[0]
    stream = list(itertools.islice(iter(s0), 3 * len(s0)))
    assert stream[:len(s0)] != stream[len(s0):2 * len(s0)]  # a new permutation per epoch


@pytest.mark.parametrize("n", [0, 1, 24, 25, 26, 999, 10**6])
def test_infinite_sampler_seek_equals_skipping_a_fresh_iterator(n):
    sampler = InfiniteSampler(range(1000), seed=3, rank=1, world_size=2)
    expected = list(itertools.islice(iter(sampler), n, n + 40))
    sampler.seek(n)
    assert list(itertools.islice(iter(sampler), 40)) == expected
    assert list(itertools.islice(iter(sampler), 3)) == list(itertools.islice(iter(sampler), 3))  # seek was one-shot


def test_infinite_sampler_seek_far_does_not_walk_the_stream():
    sampler = InfiniteSampler(range(10), seed=3, rank=0, world_size=3)
    n = 10**15 + 2  # unreachable by stepping: only a direct jump finishes
    sampler.seek(n)
    got = list(itertools.islice(iter(sampler), 6))
    epoch, offset = divmod(n, len(sampler))
    expected = (list(sampler.epoch_order(epoch)) + list(sampler.epoch_order(epoch + 1)))[offset:offset + 6]
    assert got == expected


def test_samplers_are_registered_and_validate():
    sampler = build(dict(type="InfiniteSampler", shuffle=False), "sampler", dataset=range(4), seed=0)
    assert list(itertools.islice(iter(sampler), 6)) == [0, 1, 2, 3, 0, 1]
    with pytest.raises(ConfigError, match="fewer than the 3 ranks"):
        InfiniteSampler(range(2), round_up=False, rank=2, world_size=3)
    with pytest.raises(ConfigError, match="seed"):
        DefaultSampler(range(2), seed="x")
    with pytest.raises(ConfigError, match="no length"):
        DefaultSampler(iter(range(3)))

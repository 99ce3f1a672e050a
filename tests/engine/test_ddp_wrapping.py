"""DDP wrapping of trainable children (core/distributed/ddp.py) on a real one-rank gloo group."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.distributed as dist

from mgx.core.distributed.ddp import plain_children, wrap_trainable_children


class TwoNets(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
        self.frozen = torch.nn.Linear(4, 4).requires_grad_(False)


@pytest.fixture
def one_rank_group():
    store = dist.HashStore()
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_wrapping_uses_the_supported_ddp_api_and_warns_nothing(one_rank_group):
    model = TwoNets()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        originals = wrap_trainable_children(model, torch.device("cpu"))
    deprecations = [str(w.message) for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))]
    assert deprecations == []
    assert set(originals) == {"generator"}
    wrapper = model.generator
    assert isinstance(wrapper, torch.nn.parallel.DistributedDataParallel)
    # buffers stay per rank during training (no broadcast at each forward)
    assert getattr(wrapper, "forward_sync_buffers", getattr(wrapper, "broadcast_buffers", None)) is False
    wrapper(torch.randn(3, 4)).sum().backward()
    with plain_children(model, originals) as plain:
        assert not any(key.startswith("generator.module.") for key in plain.state_dict())
    assert model.generator is wrapper


def test_buffer_broadcast_asked_by_model_wrapper_cfg_uses_the_supported_api_too(one_rank_group):
    model = TwoNets()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrap_trainable_children(model, torch.device("cpu"), broadcast_buffers=True)
    assert [w for w in caught if issubclass(w.category, FutureWarning)] == []
    assert getattr(model.generator, "forward_sync_buffers", getattr(model.generator, "broadcast_buffers", None)) is True

"""The data and model plugins on a real (gloo) process group of two ranks.

One spawn for every check, since starting the workers (a torch import each) is
what costs time here.
"""
import itertools
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.plugins import PluginManager
from mgx.core.registry import build

WORLD = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank, port, queue):
    from torch.nn.parallel import DistributedDataParallel

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        PluginManager(["mgx.plugins.data", "mgx.plugins.models"]).activate()
        # Samplers take rank/world size from the group; seed=None is drawn on rank 0 and shared.
        default = build(dict(type="DefaultSampler", seed=None), "sampler", dataset=range(11))
        infinite = build(dict(type="InfiniteSampler", seed=None), "sampler", dataset=range(11))
        orders = (list(default), list(itertools.islice(iter(infinite), len(infinite))))

        # DCGAN with each child DDP-wrapped, as the engine does.
        torch.manual_seed(0)
        model = build(dict(type="DCGAN", latent_dim=8, image_size=8, base_channels=8), "model")
        adam = dict(optimizer=dict(type="Adam", lr=2e-4, betas=(0.5, 0.999)))
        optim = build_optim_wrappers(dict(generator=adam, discriminator=adam), model, device=torch.device("cpu"),
                                     amp=False)
        model.generator = DistributedDataParallel(model.generator)
        model.discriminator = DistributedDataParallel(model.discriminator)
        torch.manual_seed(100 + rank)  # different data and noise per rank
        for _ in range(3):
            model.train_step({"inputs": torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)}, optim)
        # numpy arrays travel by value; tensors would need this process alive to share memory
        queue.put((rank, orders, [p.detach().numpy().copy() for p in model.parameters()]))
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(240)
def test_samplers_shard_and_dcgan_stays_in_sync_over_a_process_group():
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = _free_port()
    processes = [context.Process(target=_worker, args=(rank, port, queue)) for rank in range(WORLD)]
    for process in processes:
        process.start()
    results = {rank: (orders, params) for rank, orders, params in (queue.get(timeout=200) for _ in processes)}
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    for which in (0, 1):  # DefaultSampler, then one epoch of InfiniteSampler
        first, second = results[0][0][which], results[1][0][which]
        assert len(first) == len(second) == 6
        assert set(first) | set(second) == set(range(11))
        assert len(set(first) & set(second)) == 1  # only the one padding index repeats
    params0, params1 = results[0][1], results[1][1]
    assert len(params0) == len(params1) > 0
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(params0, params1))

"""The restoration family on a real (gloo) process group of two ranks, children DDP-wrapped as the engine
does: BaseEditModel with the global batch split over ranks steps like one process with the whole batch;
ESRGAN (BatchNorm in its discriminator, so per-rank statistics) keeps both ranks' weights identical."""
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD = 2
UNIT = dict(type="DataPreprocessor", mean=[0., 0., 0.], std=[255., 255., 255.])
EDSR = dict(type="BaseEditModel", pixel_loss=dict(type="L1Loss"), data_preprocessor=UNIT,
            generator=dict(type="EDSRNet", in_channels=3, out_channels=3, mid_channels=8, num_blocks=1,
                           upscale_factor=2))
ESRGAN = dict(type="ESRGAN", data_preprocessor=UNIT, pixel_loss=dict(type="L1Loss"),
              generator=dict(type="RRDBNet", in_channels=3, out_channels=3, mid_channels=8, num_blocks=1,
                             growth_channels=4, upscale_factor=4),
              discriminator=dict(type="ModifiedVGG", in_channels=3, mid_channels=4, input_size=32),
              gan_loss=dict(type="GANLoss", gan_type="vanilla", loss_weight=5e-3), train_cfg=dict(disc_steps=2))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _batches(scale, steps, size=4):
    gen = torch.Generator().manual_seed(11)
    gt = torch.randint(0, 256, (steps, size, 3, 32, 32), dtype=torch.uint8, generator=gen)
    lq = torch.nn.functional.avg_pool2d(gt.flatten(0, 1).float(), scale).round().to(torch.uint8)
    return [{"gt_img": gt[i], "lq_img": lq.view(steps, size, 3, 32 // scale, 32 // scale)[i]} for i in range(steps)]


def _train(cfg, batches, ddp, rank=0):
    from torch.nn.parallel import DistributedDataParallel

    from mgx.core.engine.optim import build_optim_wrappers
    from mgx.core.registry import build

    torch.manual_seed(0)  # same initial weights everywhere
    model = build(cfg, "model")
    names = ["generator", "discriminator"] if cfg["type"] == "ESRGAN" else ["generator"]
    optim = build_optim_wrappers({n: dict(optimizer=dict(type="Adam", lr=1e-3)) for n in names}, model,
                                 device=torch.device("cpu"), amp=False)
    if ddp:
        for name in names:
            setattr(model, name, DistributedDataParallel(getattr(model, name), broadcast_buffers=False))
    for batch in batches:
        if ddp:  # rank-strided share of the global batch, as the samplers shard it
            batch = {key: value[rank::WORLD] for key, value in batch.items()}
        model.train_step(batch, optim)
    module = {name: getattr(model, name) for name in names}
    return {f"{name}.{key}": value.detach().numpy().copy()
            for name, part in module.items()
            for key, value in (part.module if ddp else part).state_dict().items() if value.is_floating_point()}


def _worker(rank, port, queue):
    from mgx.core.plugins import PluginManager

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        PluginManager(["mgx.plugins.data", "mgx.plugins.models"]).activate()
        edsr = _train(EDSR, _batches(2, 3), ddp=True, rank=rank)
        torch.manual_seed(100 + rank)  # nothing else may differ between ranks' results
        esrgan = _train(ESRGAN, _batches(4, 3), ddp=True, rank=rank)
        single = _train(EDSR, _batches(2, 3), ddp=False) if rank == 0 else None
        queue.put((rank, edsr, esrgan, single))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two spawned ranks importing torch: ~20 s on a busy 2-core machine
@pytest.mark.timeout(300)
def test_ddp_two_ranks_equal_one_process_and_stay_in_sync():
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = _free_port()
    processes = [context.Process(target=_worker, args=(rank, port, queue)) for rank in range(WORLD)]
    for process in processes:
        process.start()
    results = {rank: (edsr, esrgan, single) for rank, edsr, esrgan, single in (queue.get(timeout=280) for _ in processes)}
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    (edsr0, esrgan0, single), (edsr1, esrgan1, _) = results[0], results[1]
    assert edsr0.keys() == single.keys() and len(single) > 4
    for key in single:
        np.testing.assert_allclose(edsr0[key], single[key], rtol=1e-4, atol=1e-6, err_msg=key)
        np.testing.assert_array_equal(edsr0[key], edsr1[key], err_msg=key)
    assert esrgan0.keys() == esrgan1.keys()
    for key in esrgan0:
        if "running_" not in key:  # BatchNorm running statistics are per rank (as with MMagic's DDP)
            np.testing.assert_allclose(esrgan0[key], esrgan1[key], rtol=0, atol=1e-6, err_msg=key)

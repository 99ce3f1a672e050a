import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.optim import build_optim_wrappers
from mgx.core.registry import build

CPU = torch.device("cpu")


def restoration_batch(num=8, size=24):
    """Smooth random images (gt) and their DegradeForRestoration copies (lq), packed and collated."""
    pipeline = [build(dict(type="DegradeForRestoration", scale=3), "transform"), build(dict(type="PackInputs"), "transform")]
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(num):
        coarse = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        gt = build(dict(type="Resize", scale=(size, size), interpolation="bicubic"), "transform")({"img": coarse})["img"]
        sample = {"gt": gt}
        for step in pipeline:
            sample = step(sample)
        samples.append(sample)
    return torch.utils.data.default_collate(samples)


def test_srcnn_training_reduces_the_loss():
    model = build(dict(type="SRCNN", hidden=(16, 8)), "model")
    optim = build_optim_wrappers(dict(generator=dict(optimizer=dict(type="Adam", lr=2e-3))), model, device=CPU,
                                 amp=False)
    batch = restoration_batch()
    losses = [float(model.train_step(batch, optim)["loss_pix"]) for _ in range(60)]
    assert losses[-1] < 0.5 * losses[0]


def test_srcnn_val_step_outputs_and_size_handling():
    model = build(dict(type="SRCNN", hidden=(8, 4), loss="mse"), "model").eval()
    batch = restoration_batch(num=3)
    out = model.val_step(batch)
    assert out["pred_img"].shape == (3, 3, 24, 24) and out["pred_img"].dtype == torch.float32
    assert 0 <= out["pred_img"].min() and out["pred_img"].max() <= 255
    assert out["gt_img"] is batch["gt_img"] and batch["gt_img"].dtype == torch.uint8
    small = dict(batch, lq_img=batch["lq_img"][..., ::2, ::2].contiguous())  # lq at half size: upsampled first
    assert model.val_step(small)["pred_img"].shape == (3, 3, 24, 24)
    single = build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1)), model, device=CPU, amp=False)
    assert torch.isfinite(model.train().train_step(batch, single)["loss_pix"])  # one unnamed optimizer works too


def test_srcnn_config_errors():
    with pytest.raises(ConfigError, match="one more entry"):
        build(dict(type="SRCNN", hidden=(8,), kernel_sizes=(9, 1, 5)), "model")
    with pytest.raises(ConfigError, match="odd"):
        build(dict(type="SRCNN", kernel_sizes=(9, 2, 5)), "model")

"""``compile`` and ``channels_last``: state-dict keys unchanged, numbers those of the default
format, and runs with both switches on resume bit-exactly against themselves.

torch.compile's default backend (inductor) needs a C++ compiler and minutes on 2 busy cores, so
these tests compile with the ``eager``/``aot_eager`` backends: dynamo traces and (aot_eager)
autograd is split into forward/backward graphs as with inductor; only the code generation differs.
benchmarks/gpu_check.py times inductor itself.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from engine_helpers import run_mgx, write_tiny_config
from mgx.core.config.loader import Config
from mgx.core.engine.data import to_device
from mgx.core.engine.ema import ExponentialMovingAverage
from mgx.core.engine.speed import accelerate, check_speed_keys
from mgx.core.errors import ConfigError

LOG = logging.getLogger("test_speed")


class TwoNets(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 3, 3, padding=1))
        self.discriminator = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(64, 1))
        self.frozen = nn.Conv2d(3, 3, 1).requires_grad_(False)


def _cfg(**keys) -> Config:
    return Config(keys, filename="speed.py")


def test_channels_last_gives_the_default_numbers_in_float64() -> None:
    torch.manual_seed(0)
    default = TwoNets().double()
    fast = TwoNets().double()
    fast.load_state_dict(default.state_dict())
    accelerate(fast, None, _cfg(channels_last=True), LOG)
    assert fast.generator[0].weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    batch = to_device({"inputs": images, "label": torch.ones(2, 1, 1, 1, dtype=torch.long)}, "cpu",
                      memory_format=torch.channels_last)
    assert batch["inputs"].is_contiguous(memory_format=torch.channels_last)
    assert batch["label"].is_contiguous()  # integer tensors keep their format
    losses = []
    for model, inputs in ((default, images), (fast, batch["inputs"])):
        loss = model.discriminator(model.generator(inputs)).square().mean()
        loss.backward()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-12, atol=1e-12)
    for (name, a), b in zip(default.named_parameters(), fast.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12, msg=name)


def test_compile_is_per_network_in_place_and_the_ema_copy_runs_its_own_weights() -> None:
    torch.manual_seed(0)
    model = TwoNets()
    keys = list(model.state_dict())
    ema = ExponentialMovingAverage(model, momentum=0.5)
    acceleration = accelerate(model, ema, _cfg(compile=dict(backend="eager")), LOG)
    assert acceleration.compiled == ["generator", "discriminator"]  # the frozen one is not a trained network
    assert list(model.state_dict()) == keys and list(ema.state_dict()) == keys
    with torch.no_grad():
        for parameter in ema.module.parameters():
            parameter.zero_()
    images = torch.randn(1, 3, 8, 8)
    assert model.generator._compiled_call_impl is not None and ema.module.generator._compiled_call_impl is not None
    assert torch.count_nonzero(ema.module.generator(images)) == 0  # not the online weights
    assert torch.count_nonzero(model.generator(images)) > 0


@pytest.mark.parametrize("keys, message", [
    (dict(compile="yes"), "compile='yes'"), (dict(compile=dict(backnd="eager")), "backnd"),
    (dict(channels_last=1), "channels_last=1")])
def test_bad_values_are_config_errors(keys: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_speed_keys(_cfg(**keys))


@pytest.mark.timeout(300)
def test_compiled_channels_last_run_resumes_bit_exactly(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, max_iters=4, val_interval=100, ckpt_interval=1,
                               extra="compile = dict(backend='aot_eager')\nchannels_last = True\n")
    straight = tmp_path / "straight"
    result = run_mgx("run", "train", str(config), "--work-dir", str(straight), "--deterministic", "--no-track",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "compile: first step took" in result.stderr
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copy(straight / "iter_2.pth", resumed / "iter_2.pth")
    result = run_mgx("run", "train", str(config), "--work-dir", str(resumed), "--deterministic", "--no-track",
                     "--resume", str(resumed / "iter_2.pth"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected, final = (torch.load(folder / "iter_4.pth", map_location="cpu", weights_only=True)
                       for folder in (straight, resumed))
    for part in ("model", "ema", "optimizers"):
        assert set(final[part]) == set(expected[part])
    for name, tensor in expected["model"].items():
        assert torch.equal(final["model"][name], tensor), name
    for name, tensor in expected["ema"].items():
        assert torch.equal(final["ema"][name], tensor), name


def test_calls_differentiated_twice_run_eagerly_under_compile() -> None:
    from mgx.core.engine.speed import eager_networks

    torch.manual_seed(0)
    model = TwoNets()
    accelerate(model, None, _cfg(compile=dict(backend="aot_eager")), LOG)
    real = torch.randn(2, 3, 8, 8).requires_grad_()  # R1: the gradient w.r.t. a leaf input
    (grad,) = torch.autograd.grad(model.discriminator(real).sum(), real, create_graph=True)
    grad.square().sum().backward()  # no double backward through a compiled graph
    latent = torch.randn(2, 3, 8, 8, requires_grad=True) * 2  # path length: w.r.t. an inner tensor
    with eager_networks():
        (grad,) = torch.autograd.grad(model.generator(latent).sum(), latent, create_graph=True)
    grad.square().sum().backward()
    assert model.generator[0].weight.grad is not None and model.generator[2].weight.grad is not None

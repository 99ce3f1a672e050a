"""Disco diffusion: the secondary model under MMagic's keys and parameter count, the CLIP distance against
its angle form in float64, the guidance's RMS clamp, and MMagic's 256 px disco config (copied unchanged
into tests/mmagic/configs/) sampling its prompt grid through ``mgx run test`` (no checkpoint: the stand-in
pretrained_cfgs files, a tiny random CLIP)."""
from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("diffusers")

from gan_zoo_helpers import CONFIGS, run_ok  # noqa: E402

from mgx.plugins.models.disco_diffusion import SecondaryDiffusionImageNet2  # noqa: E402
from mgx.plugins.models.disco_diffusion.guider import spherical_dist_loss  # noqa: E402


def test_secondary_model_keys_count_and_outputs():
    model = SecondaryDiffusionImageNet2()
    keys = set(model.state_dict())
    # MMagic's nesting: net = [conv, conv, skip(main=[down, conv, conv, skip(...), conv, conv, up]), conv, conv2d]
    assert {"timestep_embed.weight", "net.0.0.weight", "net.1.0.bias", "net.2.main.1.0.weight",
            "net.2.main.3.main.3.main.3.main.3.main.1.0.weight", "net.2.main.5.0.weight", "net.3.0.weight",
            "net.4.weight", "net.4.bias"} <= keys
    assert sum(p.numel() for p in model.parameters()) == 13_841_547
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([0.3, 0.7])
    out = model(x, t)
    cos, sin = torch.cos(t * math.pi / 2)[:, None, None, None], torch.sin(t * math.pi / 2)[:, None, None, None]
    assert torch.allclose(out["pred"], x * cos - out["v"] * sin) and torch.allclose(out["eps"], x * sin + out["v"] * cos)


def test_spherical_distance_is_half_the_squared_angle():
    x, y = torch.randn(5, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    angle = torch.acos(torch.nn.functional.cosine_similarity(x, y, dim=-1))
    assert torch.allclose(spherical_dist_loss(x, y), angle.square() / 2, atol=1e-12)


def test_disco_config_samples_its_prompt_grid_without_a_checkpoint(tmp_path, monkeypatch):
    from mgx.benchmarks.zoo_data.guided import disco_diffusion_options
    from mgx.core.config import load_config, to_plain

    config = CONFIGS / "disco_diffusion" / "disco-diffusion_adm-u-finetuned_imagenet-256x256.py"
    options = disco_diffusion_options(to_plain(load_config(str(config))), tmp_path / "weights")
    run_ok(["run", "test", str(config), "--work-dir", str(tmp_path / "test"), "--no-track", "--cfg-options",
            *options], tmp_path, monkeypatch)
    assert [p.parent.name for p in (tmp_path / "test").glob("samples/*/iter_*.png")] == ["a_photo_of_a_red_circle"]

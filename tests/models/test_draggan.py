"""DragGAN's configs (MMagic 1.2.0 ``configs/draggan``: StyleGAN2 generators for its published
checkpoints): the arguments they set (``fixed_noise``, ``update_mean_latent_with_ema``, ``bgr2rgb``)
with MMagic's semantics, the forward options its point-dragging demo reads (``return_features``,
``feat_idx``, ``return_latent_only``), and the three configs' generators built at full size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.config import load_config, to_plain
from mgx.core.registry import build
from mgx.plugins.models.stylegan2.checkpoint import network_weights
from mgx.plugins.models.stylegan2.generator import StyleGANv2Generator

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs" / "draggan"


def _tiny(**kwargs) -> StyleGANv2Generator:
    return StyleGANv2Generator(16, style_channels=8, num_mlps=2, channel_max=8, **kwargs)


@pytest.mark.parametrize("size", [256, 512, 1024])
def test_draggan_configs_build_their_generators(size):
    cfg = to_plain(load_config(str(CONFIGS / f"stylegan2_{size}x{size}.py")))
    generator = cfg["model"]["generator"]
    assert generator["fixed_noise"] and generator["update_mean_latent_with_ema"] and not generator["bgr2rgb"]
    with torch.device("meta"):
        gen = build(generator, "model")
    assert gen.out_size == size and gen.first_noise_fixed
    assert tuple(gen.state_dict()["w_avg"].shape) == (512,)  # MMagic's buffer name: its checkpoints carry it


def test_fixed_noise_draws_the_first_layer_noise_from_seed_1024():
    torch.manual_seed(3)
    gen = _tiny(fixed_noise=True).eval()
    gen.conv1.noise_injector.weight.data.fill_(1.0)  # (initialised to 0: the noise would not show)
    z = torch.randn(2, 8)
    seeded = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(1024))
    fixed = gen(z, return_noise=True, return_features=True, feat_idx=0)["feats"]
    given = gen(z, injected_noise=[seeded] + [None] * (gen.num_injected_noises - 1), return_latents=True,
                return_features=True, feat_idx=0)["feats"]
    assert torch.equal(fixed, given)  # feats[0]: the 4×4 layer's output, after its noise
    plain = _tiny().eval()
    plain.load_state_dict(gen.state_dict())
    first = plain(z, return_noise=True, return_features=True, feat_idx=0)["feats"]
    assert not torch.equal(first, plain(z, return_noise=True, return_features=True, feat_idx=0)["feats"])
    latent = gen(z, return_latent_only=True)
    assert latent.shape == (2, gen.num_latents, 8)


def test_mean_latent_moves_by_ema_only_when_asked():
    gen = _tiny(update_mean_latent_with_ema=True, w_avg_beta=0.75).double().train()
    z = torch.randn(3, 8, dtype=torch.float64)
    gen(z)
    assert torch.count_nonzero(gen.w_avg) == 0  # MMagic's default update_ws=False
    before = gen.w_avg.numpy().copy()
    gen(z, update_ws=True)
    w = gen.style_mapping(z).detach().numpy()
    expected = w.mean(axis=0) + 0.75 * (before - w.mean(axis=0))  # lerp(mean w, w_avg, beta)
    np.testing.assert_allclose(gen.w_avg.numpy(), expected, rtol=1e-12, atol=1e-15)
    assert torch.equal(gen.get_mean_latent()[0], gen.w_avg)
    gen.eval()
    gen(z, update_ws=True)
    np.testing.assert_allclose(gen.w_avg.numpy(), expected, rtol=1e-12, atol=1e-15)  # not in eval mode


def test_mmagic_generator_state_with_w_avg_loads():
    gen = _tiny(update_mean_latent_with_ema=True, fixed_noise=True)
    state = {f"{k}_orig" if k.endswith(".weight") and "style_mapping" in k else k: v.clone()
             for k, v in gen.state_dict().items()}
    state["w_avg"] = torch.arange(8.0)
    fresh = _tiny(update_mean_latent_with_ema=True, fixed_noise=True)
    fresh.load_state_dict(network_weights(state), strict=True)
    assert torch.equal(fresh.w_avg, torch.arange(8.0))

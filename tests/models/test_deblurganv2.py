"""DeblurGANv2 (MMagic 1.2.0's ``deblurganv2``): networks against MMagic's definitions (parameter counts,
state-dict keys), ``AdvLoss`` against float64 re-computations, the backbone warm-up, an MMagic
checkpoint through ``load_from``, and the MobileNet config trained 2 iterations + tested via the CLI."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.models.losses.adv_loss import AdvLoss
from mgx.benchmarks.zoo_data import Sizes, prepare_trial
from mgx.core.config import load_config
from gan_zoo_helpers import run_ok

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs"

# Computed by reading MMagic 1.2.0's deblurganv2_{generator,discriminator,util}.py for the two published
# configs (FPNInception 128/256, FPNMobileNet 64/128, DoubleGan d_layers=3, instance norm): parameter
# totals, number of state-dict entries, and sha256[:16] of the sorted '\n'-joined keys.
MMAGIC = {
    "FPNInception": (60_929_291, 2384, "09446505de49df9d"),
    "FPNMobileNet": (3_312_707, 622, "2d8545257e962c9a"),
    "DoubleGan": (13_919_106, 48, "2fdc56420b6f834d"),
}


def _signature(module: torch.nn.Module) -> tuple[int, int, str]:
    keys = sorted(module.state_dict())
    return (sum(p.numel() for p in module.parameters()), len(keys),
            hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16])


def test_networks_match_mmagic_published_configs():
    with torch.device("meta"):  # the full-width networks, without spending seconds on their initialisation
        inception = build(dict(type="DeblurGanV2Generator", backbone="FPNInception", norm_layer="instance",
                               num_filter=128, num_filter_fpn=256, pretrained=None), "model")
        mobilenet = build(dict(type="DeblurGanV2Generator", backbone="FPNMobileNet", num_filter=64,
                               num_filter_fpn=128), "model")
        double = build(dict(type="DeblurGanV2Discriminator", backbone="DoubleGan", norm_layer="instance",
                            d_layers=3), "model")
    assert _signature(inception) == MMAGIC["FPNInception"]
    assert _signature(mobilenet) == MMAGIC["FPNMobileNet"]
    assert _signature(double) == MMAGIC["DoubleGan"]
    # the backbone starts frozen (MMagic's warm-up) and is saved under both of its names, as MMagic's is
    assert not any(p.requires_grad for p in inception.fpn.inception.parameters())
    assert "fpn.enc4.0.19.conv2d.weight" in inception.state_dict()
    assert "fpn.inception.repeat_1.19.conv2d.weight" in inception.state_dict()


def _tiny_model(**overrides) -> torch.nn.Module:
    cfg = dict(type="DeblurGanV2",
               generator=dict(type="DeblurGanV2Generator", backbone="FPNMobileNet", num_filter=8, num_filter_fpn=16),
               discriminator=dict(type="DeblurGanV2Discriminator", backbone="DoubleGan", d_layers=2),
               pixel_loss=dict(type="PerceptualLoss", layer_weights={"14": 1}, criterion="mse", pretrained=None),
               disc_loss=dict(type="AdvLoss", loss_type="ragan-ls"), warmup_num=2,
               data_preprocessor=dict(type="DataPreprocessor", mean=[127.5] * 3, std=[127.5] * 3))
    cfg.update(overrides)
    return build(cfg, "model")


def test_backbone_released_at_warmup_epoch_and_inference_pads_to_32():
    model = _tiny_model()
    backbone = model.generator.fpn.features
    model.before_train_epoch(1)
    assert not any(p.requires_grad for p in backbone.parameters())
    model.before_train_epoch(2)
    assert all(p.requires_grad for p in backbone.parameters())
    model.eval()
    out = model.val_step({"inputs": torch.randint(0, 256, (1, 3, 40, 52), dtype=torch.uint8)})
    assert out["pred_img"].shape == (1, 3, 40, 52)


def test_mmagic_checkpoint_keys_load():
    model = _tiny_model()
    mmagic_state = {k: v.clone() for k, v in model.state_dict().items() if k != "step_counter"}
    # MMagic saves its PerceptualLoss's VGG and has no persistent step counter
    mmagic_state["pixel_loss.vgg.vgg_layers.0.weight"] = torch.zeros(64, 3, 3, 3)
    mmagic_state["generator.final.weight"] = torch.full_like(mmagic_state["generator.final.weight"], 0.25)
    fresh = _tiny_model()
    fresh.load_state_dict(fresh.adapt_loaded_weights(mmagic_state), strict=True)
    assert torch.equal(fresh.generator.final.weight, mmagic_state["generator.final.weight"])
    assert int(fresh.step_counter) == 0


class _Critic(torch.nn.Module):
    """A fixed linear 'discriminator' (per-pixel weighted channel sum), cheap to recompute in float64."""

    def __init__(self, weights):
        super().__init__()
        self.weights = torch.tensor(weights, dtype=torch.float64).view(1, -1, 1, 1)

    def forward(self, x):
        return (x * self.weights).sum(dim=1, keepdim=True)


def test_relativistic_ls_loss_matches_float64_definition():
    torch.manual_seed(1)
    net = _Critic([0.5, -1.0, 2.0])
    loss = AdvLoss("ragan-ls")
    fakes = [torch.randn(2, 3, 4, 4, dtype=torch.float64) for _ in range(2)]
    reals = [torch.randn(2, 3, 4, 4, dtype=torch.float64) for _ in range(2)]
    d_values = [loss(net, fake, real, model="discriminator") for fake, real in zip(fakes, reals)]
    g_value = loss(net, fakes[1], reals[1], model="generator")
    score = [net(x).numpy() for x in fakes + reals]
    fake_scores, real_scores = score[:2], score[2:]
    # the pools hold every per-image prediction so far: after the second D step, both batches
    for step in range(2):
        m_fake = np.mean(np.concatenate(fake_scores[:step + 1]))
        m_real = np.mean(np.concatenate(real_scores[:step + 1]))
        expected = (np.mean((real_scores[step] - m_fake - 1) ** 2) + np.mean((fake_scores[step] - m_real + 1) ** 2)) / 2
        assert d_values[step].item() == pytest.approx(expected, rel=1e-12)
    expected_g = (np.mean((real_scores[1] - m_fake + 1) ** 2) + np.mean((fake_scores[1] - m_real - 1) ** 2)) / 2
    assert g_value.item() == pytest.approx(expected_g, rel=1e-12)
    vanilla = AdvLoss("gan")(net, fakes[0], reals[0], model="generator")
    expected_vanilla = np.mean(np.log1p(np.exp(-fake_scores[0])))  # BCE-with-logits towards 1
    assert vanilla.item() == pytest.approx(expected_vanilla, rel=1e-12)
    with pytest.raises(ConfigError, match="loss_type must be one of"):
        AdvLoss("hinge")


@pytest.mark.timeout(300)
def test_mobilenet_config_trains_from_an_mmagic_checkpoint_and_tests(tmp_path, monkeypatch):
    config = CONFIGS / "deblurganv2" / "deblurganv2_fpn-mobilenet_1xb1_gopro.py"
    published = tmp_path / "published.pth"  # the config's load_from, in MMagic's checkpoint layout
    model = _tiny_model(discriminator=dict(type="DeblurGanV2Discriminator", backbone="DoubleGan",
                                           norm_layer="instance", d_layers=2))
    torch.save({"meta": {}, "state_dict": {k: v for k, v in model.state_dict().items() if k != "step_counter"}},
               published)
    trial = prepare_trial(load_config(config), tmp_path, Sizes(crop=32, image=32, count=2))
    for name, value in {**trial.env, "MGX_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    options = [*trial.options, "model.generator.num_filter=8", "model.generator.num_filter_fpn=16",
               "model.discriminator.d_layers=2", f"load_from={published}", "train_dataloader.num_workers=0",
               "val_dataloader.num_workers=0", "test_dataloader.num_workers=0",
               "train_dataloader.dataset.pipeline.3.size=32", "val_dataloader.dataset.pipeline.3.size=32"]
    trained = run_ok(["run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--no-track",
                      "--cfg-options", *options], tmp_path, monkeypatch)
    for name in ("loss_d", "loss_g_content", "loss_g_adv"):
        assert name in trained.output, trained.output[-2000:]
    checkpoint = sorted((tmp_path / "work").glob("*.pth"))[-1]
    run_ok(["run", "test", str(config), str(checkpoint), "--work-dir", str(tmp_path / "t"), "--no-track",
            "--cfg-options", *options], tmp_path, monkeypatch)
    metrics = json.loads((tmp_path / "t" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(metrics["PSNR"]) and 0 < metrics["SSIM"] <= 1, metrics

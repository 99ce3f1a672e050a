"""Tiny networks, generators and data for the metric tests (built in-process, no downloads)."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from mgx.core.evaluation import Evaluator, MetricContext
from mgx.core.hookspecs import hookimpl
from mgx.core.plugins import PluginManager


class TinyFeatures(nn.Module):
    """A fixed random conv net: images [0,255] -> ``dim`` features and 10-way probabilities."""

    def __init__(self, dim: int = 16, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.conv = nn.Conv2d(3, dim, 3, stride=2)
        self.head = nn.Linear(dim, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.conv(images / 127.5 - 1.0))
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], 1)[:, : self.conv.out_channels]

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self(images)) * 3

    def class_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(images), dim=1)


class LogitsOnly(nn.Module):
    """TinyFeatures' logits as the 'feature' torchmetrics' InceptionScore expects."""

    def __init__(self, net: TinyFeatures) -> None:
        super().__init__()
        self.net = net

    def forward(self, images):
        return self.net.logits(images.float())


class TinyLPIPS(nn.Module):
    """An embedding whose squared distances behave like a perceptual distance."""

    def __init__(self) -> None:
        super().__init__()
        self.net = TinyFeatures(dim=8, seed=3)

    def forward(self, images):
        x = torch.tanh(self.net.conv(images / 127.5 - 1.0))
        return x.flatten(1) / math.sqrt(x.shape[2] * x.shape[3])


class TinyGenerator(nn.Module):
    """z (N×latent_dim) -> 3×size×size images in [-1, 1]; mapping/synthesis for PPL in W."""

    def __init__(self, latent_dim: int = 8, size: int = 32, seed: int = 1) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.latent_dim, self.size = latent_dim, size
        self.map = nn.Linear(latent_dim, latent_dim)
        self.to_img = nn.Linear(latent_dim, 3 * 8 * 8)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)

    def mapping(self, z):
        return torch.tanh(self.map(z))

    def synthesis(self, w):
        x = self.to_img(w).view(-1, 3, 8, 8)
        x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return torch.tanh(x)

    def sample(self, num=None, *, noise=None, sample_model="ema"):
        if noise is None:
            noise = torch.randn(num, self.latent_dim)
        return self.synthesis(self.mapping(noise))


class WaveGenerator(nn.Module):
    """A StyleGAN3-like toy: the image is a band-limited function of transformed coordinates,
    so it is exactly equivariant to the input transform (when ``equivariant``)."""

    def __init__(self, latent_dim: int = 6, size: int = 32, equivariant: bool = True) -> None:
        super().__init__()
        self.latent_dim, self.size, self.equivariant = latent_dim, size, equivariant

    def mapping(self, z):
        return z

    def synthesis(self, w, transform=None):
        m = torch.eye(3, dtype=torch.float64) if transform is None else transform.to(torch.float64)
        coords = (torch.arange(self.size, dtype=torch.float64) + 0.5) / self.size - 0.5
        gy, gx = torch.meshgrid(coords, coords, indexing="ij")
        pts = torch.stack([gx, gy, torch.ones_like(gx)], -1) @ m.T
        if not self.equivariant:  # pixel grid anchored: ignores half of the transform
            pts = pts * 0.5 + torch.stack([gx, gy, torch.ones_like(gx)], -1) * 0.5
        w = w.to(torch.float64)
        freqs = torch.tensor([[2.0, 1.0], [-1.0, 3.0], [1.5, -2.5]], dtype=torch.float64)
        chans = []
        for c in range(3):
            phase = 2 * math.pi * (pts[..., 0] * freqs[c, 0] + pts[..., 1] * freqs[c, 1])
            chans.append(torch.sin(phase + w[:, c, None, None]) * 0.8)
        return torch.stack(chans, 1).float()

    def sample(self, num=None, *, noise=None, sample_model="ema"):
        return self.synthesis(self.mapping(noise))


class NoSampleModel(nn.Module):
    latent_dim = 4


@hookimpl
def mgx_register_feature_extractors(register):
    register(TinyFeatures)
    register(TinyLPIPS)


def plugin_manager() -> PluginManager:
    """Built-in metrics + extractors and this module's tiny extractors, active for build()."""
    return PluginManager(default_plugins=["mgx.plugins.metrics", "mgx.plugins.feature_extractors",
                                          __name__, "third_party_state_metric"]).activate()


def real_images(n: int, size: int = 32, seed: int = 5) -> torch.Tensor:
    """uint8 N×3×size×size images with some structure (smooth blobs + noise)."""
    gen = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=gen)
    x = nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    x = x + 0.15 * torch.rand(n, 3, size, size, generator=gen)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def batches(images: torch.Tensor, batch_size: int, indices=None, **extra):
    """A list of dataset batches {'gt_img', 'sample_idx', ...} over ``indices`` (default all)."""
    indices = list(range(images.shape[0])) if indices is None else list(indices)
    out = []
    for start in range(0, len(indices), batch_size):
        idx = indices[start:start + batch_size]
        batch = {"gt_img": images[idx], "sample_idx": torch.tensor(idx)}
        for key, value in extra.items():
            batch[key] = value[idx]
        out.append(batch)
    return out


def make_context(model, tmp_path: Path, dataloader_cfg=None, seed: int = 0, batch_size: int = 16) -> MetricContext:
    return MetricContext(model=model, device=torch.device("cpu"), cache_dir=Path(tmp_path) / "cache",
                         work_dir=Path(tmp_path) / "work", dataloader_cfg=dataloader_cfg, seed=seed,
                         batch_size=batch_size)


def run_metrics(metric_cfgs, model, tmp_path, dataloader=None, dataloader_cfg=None, seed=0, batch_size=16,
                val_step=None):
    """Build metrics through the registry and run one evaluation with mgx's Evaluator."""
    plugin_manager()
    evaluator = Evaluator(metric_cfgs)
    ctx = make_context(model, tmp_path, dataloader_cfg, seed, batch_size)
    return evaluator.evaluate(ctx, dataloader, val_step, lambda b: b), evaluator, ctx

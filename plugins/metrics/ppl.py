"""Perceptual Path Length (PPL) of a generator, with an LPIPS embedding network."""
from __future__ import annotations

import numpy as np
import torch

from mgx.core import distributed
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation import GenerativeMetric, sample_seed, to_pixel_range
from mgx.core.engine.optim import autocast

from ._common import build_extractor, check_convention, check_extractor_arg, prepare_extractor
from .functional.ppl import (face_crop, lerp, mmagic_lpips_downsample, robust_mean, slerp,
                             stylegan_lpips_downsample)
from .model_capabilities import latent_dim_of, require_method


class PerceptualPathLength(GenerativeMetric):
    """Mean LPIPS distance/ε² between images at latent t and t+ε (1st–99th percentile kept).

    space='W': lerp between mapped latents (model.mapping / model.synthesis);
    space='Z': slerp between Gaussian latents fed to model.sample (rescaled to
    norm √latent_dim, so models that do not normalise z see typical latents).
    sampling='end' uses t=0, 'full' t~U(0,1). LPIPS network: ``feature_extractor``,
    else NVIDIA's vgg16.pt (return_lpips), else torchvision VGG16 + LPIPS v0.1 weights.

    ``convention='mmagic'`` (MMagic 1.2.0): ``lpips.LPIPS(net='vgg')``, i.e.
    torchvision VGG16 + LPIPS v0.1 weights (``LPIPSVGG``); above 256 px a
    bilinear resize to 256 × 256 instead of StyleGAN's area downsampling; Z-space
    slerp results fed at unit norm (not rescaled to √latent_dim).
    """

    default_prefix = "PPL"
    directions = {"ppl_score": "lower"}
    needs_fakes = False

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, fake_key: str | None = None,
                 real_key: str | None = None, need_cond_input: bool = False, sample_model: str = "ema",
                 prefix: str | None = None, crop: bool = True, epsilon: float = 1e-4, space: str = "W",
                 sampling: str = "end", latent_dim: int = 512, feature_extractor=None,
                 vgg16_script: str | None = None, convention: str = "official") -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key or "gt_img",
                         fake_key=fake_key, need_cond_input=need_cond_input, sample_model=sample_model,
                         prefix=prefix)
        if space not in ("W", "Z"):
            raise ConfigError(f"PerceptualPathLength: space must be 'W' or 'Z', got {space!r}")
        if sampling not in ("end", "full"):
            raise ConfigError(f"PerceptualPathLength: sampling must be 'end' or 'full', got {sampling!r}")
        check_extractor_arg("PerceptualPathLength", feature_extractor)
        self.convention = check_convention("PerceptualPathLength", convention)
        if convention == "mmagic" and vgg16_script:
            raise ConfigError("PerceptualPathLength: vgg16_script is NVIDIA's LPIPS network, which "
                              "convention='mmagic' does not use (MMagic uses lpips.LPIPS(net='vgg')): "
                              "remove vgg16_script or use convention='official'")
        self.crop, self.epsilon, self.space, self.sampling = crop, epsilon, space, sampling
        self.latent_dim, self.feature_extractor, self.vgg16_script = latent_dim, feature_extractor, vgg16_script
        self._lpips = None
        self.add_rows_state("_distances")

    def result_keys(self) -> list[str]:
        return ["ppl_score"]

    def model_requirements(self) -> dict[str, str]:
        if self.space == "W":
            return {"mapping": "maps z to w (space='W')", "synthesis": "renders w (space='W')"}
        return {"sample": "renders latent noise (space='Z')"}

    def prepare_resources(self) -> None:
        if self._lpips is None:
            self._lpips = self._make_lpips(None)

    def _make_lpips(self, ctx) -> torch.nn.Module:
        if self.convention == "mmagic":
            return build_extractor(self.feature_extractor, "LPIPSVGG")
        if self.feature_extractor is not None or self.vgg16_script:
            return build_extractor(self.feature_extractor, "NvidiaVGG16", vgg16_script=self.vgg16_script, lpips=True)
        try:
            return build_extractor(None, "NvidiaVGG16", lpips=True)
        except MgxError as script_error:
            try:
                return build_extractor(None, "LPIPSVGG")
            except MgxError as fallback_error:
                raise MgxError(f"PerceptualPathLength needs LPIPS-VGG weights. {script_error} "
                               f"Fallback also failed: {fallback_error}") from fallback_error

    def _latents(self, indices: list[int], dim: int, seed: int):
        z0, z1, t = [], [], []
        for index in indices:
            gen = torch.Generator().manual_seed(sample_seed(seed, index))
            pair = torch.randn(2, dim, generator=gen)
            z0.append(pair[0])
            z1.append(pair[1])
            t.append(torch.rand(1, generator=gen) if self.sampling == "full" else torch.zeros(1))
        return torch.stack(z0), torch.stack(z1), torch.stack(t)

    def _images(self, model, z0, z1, t):
        eps = self.epsilon
        if self.space == "Z":
            scale = 1.0 if self.convention == "mmagic" else z0.shape[1] ** 0.5
            zt = torch.cat([slerp(z0, z1, t) * scale, slerp(z0, z1, t + eps) * scale])
            if callable(getattr(model, "mapping", None)) and callable(getattr(model, "synthesis", None)):
                # synthesis' default injected noise is shared by both images of a pair (as MMagic's PPL shares it)
                return model.synthesis(model.mapping(zt))
            return model.sample(noise=zt)
        w0, w1 = model.mapping(z0), model.mapping(z1)
        shape = (-1,) + (1,) * (w0.dim() - 1)
        t = t.reshape(shape).to(w0)
        return model.synthesis(torch.cat([lerp(w0, w1, t), lerp(w0, w1, t + eps)]))

    def evaluate(self, ctx) -> None:
        """This rank's distances, kept by sample index; ``compute`` (after the sync) takes the mean."""
        model = ctx.model_for(self.sample_model)
        if self.space == "W":
            require_method(model, "mapping", "PerceptualPathLength(space='W')", "maps z to w")
            require_method(model, "synthesis", "PerceptualPathLength(space='W')", "renders w")
        else:
            require_method(model, "sample", "PerceptualPathLength(space='Z')", "renders latent noise")
        dim = latent_dim_of(model, self.latent_dim, "PerceptualPathLength")
        self.prepare_resources()
        lpips = prepare_extractor(self._lpips, ctx.device)
        mine = list(distributed.shard_indices(self.fake_nums))
        for start in range(0, len(mine), ctx.batch_size):
            indices = mine[start:start + ctx.batch_size]
            z0, z1, t = (x.to(ctx.device) for x in self._latents(indices, dim, ctx.seed))
            with torch.inference_mode(), autocast(torch.device(ctx.device), ctx.amp):
                images = to_pixel_range(self._images(model, z0, z1, t).float())
                if self.crop:
                    images = face_crop(images)
                images = (mmagic_lpips_downsample if self.convention == "mmagic" else stylegan_lpips_downsample)(images)
                emb = lpips(images).float()
            half = len(indices)
            dist = (emb[:half] - emb[half:]).square().flatten(1).sum(dim=1) / self.epsilon ** 2
            self._distances.add(dist[:, None].double(), torch.as_tensor(indices))
        return None

    def compute(self) -> dict[str, float]:
        if self._distances is None:
            raise MgxError("PerceptualPathLength received no samples on any process: check fake_nums")
        return {"ppl_score": robust_mean(self._distances[:, 0].numpy().astype(np.float64))}

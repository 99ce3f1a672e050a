"""Equivariance (EQ) of StyleGAN3-style generators: PSNR between transformed renders and transformed images."""
from __future__ import annotations

import math

import torch

from mgx.core import distributed
from mgx.core.errors import ConfigError
from mgx.core.evaluation import GenerativeMetric, sample_seed

from .functional.resample import fractional_translate, integer_translate
from ._common import check_convention
from .functional.rotation import filtered_rotation, pseudo_rotation, sg3_rotation
from .model_capabilities import latent_dim_of, require_method, require_transform_argument

_EQ_DEFAULTS = dict(compute_eqt_int=False, compute_eqt_frac=False, compute_eqr=False,
                    translate_max=0.125, rotate_max=1.0)


class Equivariance(GenerativeMetric):
    """eqt_int / eqt_frac / eqr in dB: 20·log10(2) − 10·log10(MSE) over all evaluated pixels.

    Needs ``model.mapping(z)`` and ``model.synthesis(w, transform=M)`` (see
    ``model_capabilities``). Per sample i a generator seeded by (seed, i)
    draws z and the transform, so the value is independent of the number of
    processes. References as StyleGAN3 (and MMagic) compute them: integer
    shifts exactly; fractional shifts with a Lanczos-3 resampler; rotations
    compare the sinc-filtered rotation of the original render with the
    pseudo-rotated (equally band-limited) rotated render (``functional.rotation``).

    ``convention='official'`` pools the squared errors and masks of all samples
    into one MSE (StyleGAN3). ``convention='mmagic'`` averages the MSE ratios
    of consecutive groups of ``batch_size`` samples (the val dataloader's batch
    size, MMagic's per-batch pairs) and converts that mean to dB.
    """

    default_prefix = "EQ"
    default_direction = "higher"  # dB: higher = more equivariant
    needs_fakes = False

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, fake_key: str | None = None,
                 real_key: str | None = None, need_cond_input: bool = False, sample_model: str = "ema",
                 sample_mode: str | None = None, prefix: str | None = None, eq_cfg: dict | None = None,
                 latent_dim: int | None = None, convention: str = "official") -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key or "gt_img",
                         fake_key=fake_key, need_cond_input=need_cond_input,
                         sample_model=sample_mode or sample_model, prefix=prefix)
        unknown = sorted(set(eq_cfg or {}) - set(_EQ_DEFAULTS))
        if unknown:
            raise ConfigError(f"Equivariance: unknown eq_cfg key(s) {unknown}; accepted: {sorted(_EQ_DEFAULTS)}")
        self.eq_cfg = {**_EQ_DEFAULTS, **(eq_cfg or {})}
        if not any(self.eq_cfg[k] for k in ("compute_eqt_int", "compute_eqt_frac", "compute_eqr")):
            raise ConfigError("Equivariance: enable at least one of eq_cfg compute_eqt_int, compute_eqt_frac, "
                              "compute_eqr")
        self.latent_dim = latent_dim
        self.convention = check_convention("Equivariance", convention)
        self.group_size = 1
        self.add_sum_state("_sums", (3, 2))  # per measure: [Σ squared error·mask, Σ mask]
        self.add_rows_state("_sample_sums")  # convention='mmagic': the same 3×2 sums per sample

    def result_keys(self) -> list[str]:
        return [key for key, flag in (("eqt_int", "compute_eqt_int"), ("eqt_frac", "compute_eqt_frac"),
                                      ("eqr", "compute_eqr")) if self.eq_cfg[flag]]

    def model_requirements(self) -> dict[str, str]:
        return {"mapping": "maps z to w", "synthesis": "renders w with an input transform (transform=M)"}

    def _one_sample(self, model, z: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        cfg = self.eq_cfg
        sums = torch.zeros(3, 2, dtype=torch.float64)
        w = model.mapping(z)
        eye = torch.eye(3)
        orig = model.synthesis(w, transform=eye.to(z)).double()
        size = orig.shape[3]
        if cfg["compute_eqt_int"]:
            t = (torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1) * cfg["translate_max"]
            t = (t * size).round() / size
            img = model.synthesis(w, transform=_translation(t).to(z)).double()
            ref, mask = integer_translate(orig, int(round(float(t[0]) * size)), int(round(float(t[1]) * size)))
            sums[0] += torch.stack([((img - ref).square() * mask).sum().cpu(), mask.sum().cpu()])
        if cfg["compute_eqt_frac"]:
            t = (torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1) * cfg["translate_max"]
            img = model.synthesis(w, transform=_translation(t).to(z)).double()
            ref, mask = fractional_translate(orig, float(t[0]) * size, float(t[1]) * orig.shape[2])
            sums[1] += torch.stack([((img - ref).square() * mask).sum().cpu(), mask.sum().cpu()])
        if cfg["compute_eqr"]:
            angle = float((torch.rand((), generator=gen, dtype=torch.float64) * 2 - 1) * cfg["rotate_max"] * math.pi)
            img = model.synthesis(w, transform=sg3_rotation(-angle).to(z)).double()
            ref, ref_mask = filtered_rotation(orig, angle)
            pseudo, pseudo_mask = pseudo_rotation(img, angle)
            mask = ref_mask * pseudo_mask
            sums[2] += torch.stack([((pseudo - ref).square() * mask).sum().cpu(), mask.sum().cpu()])
        return sums

    def evaluate(self, ctx) -> None:
        """This rank's samples into the sums; ``compute`` (after the sync) turns them into dB."""
        model = ctx.model_for(self.sample_model)
        require_method(model, "mapping", "Equivariance", "maps z to w")
        require_transform_argument(model, "Equivariance")
        dim = latent_dim_of(model, self.latent_dim, "Equivariance")
        self.group_size = max(1, int(ctx.batch_size))
        with torch.inference_mode():
            for index in distributed.shard_indices(self.fake_nums):
                gen = torch.Generator().manual_seed(sample_seed(ctx.seed, index))
                z = torch.randn(1, dim, generator=gen).to(ctx.device)
                sums = self._one_sample(model, z, gen)
                if self.convention == "mmagic":
                    self._sample_sums.add(sums.reshape(1, 6), torch.tensor([index]))
                else:
                    self._sums += sums
        return None

    def _mses(self) -> torch.Tensor:
        """Per measure the MSE: pooled (official) or the mean of per-group ratios (mmagic)."""
        if self.convention == "official":
            return self._sums[:, 0] / self._sums[:, 1].clamp(min=1)
        per_sample = self._sample_sums.reshape(-1, 3, 2)
        groups = torch.arange(per_sample.shape[0]) // self.group_size
        group_sums = torch.zeros(int(groups[-1]) + 1, 3, 2, dtype=torch.float64).index_add_(0, groups, per_sample)
        return (group_sums[..., 0] / group_sums[..., 1].clamp(min=1)).mean(dim=0)

    def compute(self) -> dict[str, float]:
        mses = self._mses()
        results = {}
        for row, (key, flag) in enumerate((("eqt_int", "compute_eqt_int"), ("eqt_frac", "compute_eqt_frac"),
                                           ("eqr", "compute_eqr"))):
            if self.eq_cfg[flag]:
                mse = float(mses[row])
                results[key] = 20 * math.log10(2) - 10 * math.log10(mse) if mse > 0 else float("inf")
        return results


def _translation(t: torch.Tensor) -> torch.Tensor:
    m = torch.eye(3)
    m[:2, 2] = -t.float()
    return m

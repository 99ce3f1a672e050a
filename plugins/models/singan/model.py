"""``SinGAN`` (Shaham et al. 2019) as MMagic 1.2.0 trains it: one image, a pyramid of its scales
(``SinGANDataset``), one generator/discriminator block per scale trained in turn.

The schedule (``P = iters_per_scale · discriminator_steps`` iterations per scale):

* iteration ``i`` trains scale ``i // P`` with the optimizers ``generator_<scale>`` /
  ``discriminator_<scale>`` (``SinGANOptimWrapperConstructor`` makes one per block); a scale starts
  from the previous scale's weights when their widths agree;
* every iteration: a WGAN-GP discriminator update (``D(fake) − D(real)`` plus
  ``0.1 · E(‖∇D(x̂)‖₂ − 1)²`` over channels, x̂ a random mix of real and fake); every
  ``discriminator_steps``-th: ``generator_steps`` generator updates with ``−D(G(z)) + 10 · MSE(recon, real)``;
* ``lr_scheduler_args`` (MultiStepLR milestones/gamma) restarts at each scale and counts generator
  phases; it is computed from the iteration, so a resume mid-scale continues it exactly;
* at the end of a scale the next scale's noise weight becomes ``noise_weight_init · RMSE`` of the
  upsampled reconstruction against the next real image.

The fixed noises (a Gaussian map at scale 0, zeros after), the noise weights and the current stage
are buffers, so checkpoints carry them; ``PickleDataHook`` also writes them as MMagic's pickle, which
``test_pkl_data`` reads back (with MMagic's published checkpoints, through ``load_from``).
"""
from __future__ import annotations

import bisect
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import frozen

REAL_PREFIX = "real_scale"


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"SinGAN: {name} must be a positive int, got {value!r}")
    return value


class SinGAN(nn.Module):
    """See the module docstring."""

    # MMagic's constructor of one optimizer per scale: build_optim_wrappers calls expand_optim_wrapper
    OPTIM_WRAPPER_CONSTRUCTORS = ("SinGANOptimWrapperConstructor",)

    def expand_optim_wrapper(self, cfg: dict) -> dict:
        """``SinGANOptimWrapperConstructor``: for each of ``generator`` / ``discriminator`` and each entry
        of its ``blocks`` (a scale), an optimizer ``<name>_<scale>`` over that block alone."""
        import copy
        import re

        who = "optim_wrapper (SinGANOptimWrapperConstructor)"
        cfg = copy.deepcopy(dict(cfg))
        cfg.pop("constructor", None)
        expanded = {}
        for name, wrapper_cfg in cfg.items():
            network = getattr(self, name, None)
            if not isinstance(wrapper_cfg, dict) or "optimizer" not in wrapper_cfg or not hasattr(network, "blocks"):
                raise ConfigError(f"{who}: takes generator=dict(optimizer=...) and discriminator=dict(optimizer=...) "
                                  f"(networks with a block per scale); got {name}={wrapper_cfg!r}")
            for index in range(len(network.blocks)):
                expanded[f"{name}_{index}"] = {**copy.deepcopy(wrapper_cfg), "modules": re.escape(f"{name}.blocks.{index}")}
        return expanded

    def __init__(self, generator: Any, discriminator: Any = None, data_preprocessor: dict | None = None,
                 generator_steps: int = 1, discriminator_steps: int = 1, num_scales: int | None = None,
                 iters_per_scale: int = 2000, noise_weight_init: float = 0.1,
                 lr_scheduler_args: dict | None = None, test_pkl_data: str | None = None,
                 ema_confg: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        if ema_confg:
            raise ConfigError(f"{who}: ema_confg (a generator average) is not supported for SinGAN; leave it out")
        if discriminator is None:
            raise ConfigError(f"{who}: discriminator=dict(type='SinGANMultiScaleDiscriminator', ...) is needed")
        self.generator = generator if isinstance(generator, nn.Module) else build(generator, "model")
        self.discriminator = discriminator if isinstance(discriminator, nn.Module) else build(discriminator, "model")
        self.generator_steps = _positive_int(generator_steps, "generator_steps")
        self.discriminator_steps = _positive_int(discriminator_steps, "discriminator_steps")
        self.iters_per_scale = _positive_int(iters_per_scale, "iters_per_scale")
        scales = {"generator": len(self.generator.blocks) - 1, "discriminator": len(self.discriminator.blocks) - 1}
        if num_scales is not None:
            scales.update(num_scales=num_scales)  # the model's own setting
        if len(set(scales.values())) != 1:
            raise ConfigError(f"{who}: num_scales differ: {scales}; set the same number in model.num_scales, "
                              f"generator.num_scales and discriminator.num_scales")
        self.num_scales = scales["generator"]
        self.noise_weight_init = float(noise_weight_init)
        self.milestones, self.gamma = self._lr_schedule(lr_scheduler_args)
        self.test_pkl_data = test_pkl_data
        self._configure_preprocessor(data_preprocessor)
        self.register_buffer("train_iter", torch.tensor(0, dtype=torch.long))
        self.register_buffer("curr_stage_value", torch.tensor(-1, dtype=torch.long))
        table = torch.zeros(self.num_scales + 1, dtype=torch.float64)
        table[0] = 1.0
        self.register_buffer("noise_weights_table", table)

    # -- configuration -------------------------------------------------------------

    @staticmethod
    def _lr_schedule(args: dict | None) -> tuple[list[int], float]:
        if not args:
            return [], 1.0
        unknown = sorted(set(args) - {"milestones", "gamma"})
        if unknown:
            raise ConfigError(f"SinGAN: lr_scheduler_args takes milestones and gamma (MultiStepLR), not {unknown}")
        milestones = args.get("milestones", [])
        if not isinstance(milestones, (list, tuple)) or not all(isinstance(m, int) for m in milestones):
            raise ConfigError(f"SinGAN: lr_scheduler_args.milestones must be a list of ints, got {milestones!r}")
        return sorted(milestones), float(args.get("gamma", 0.1))

    def _configure_preprocessor(self, cfg: dict | None) -> None:
        cfg = dict(cfg or {})
        kind = cfg.pop("type", "DataPreprocessor")
        if kind not in ("DataPreprocessor", "GenDataPreprocessor"):
            raise ConfigError(f"SinGAN: data_preprocessor.type must be 'DataPreprocessor', got {kind!r}")
        mean, std = cfg.pop("mean", 127.5), cfg.pop("std", 127.5)
        self.non_image_keys = set(cfg.pop("non_image_keys", None) or ["input_sample"])
        for key in ("bgr_to_rgb", "rgb_to_bgr", "pad_size_divisor", "output_channel_order"):
            cfg.pop(key, None)
        if cfg:
            raise ConfigError(f"SinGAN: unsupported data_preprocessor key(s) {sorted(cfg)}")
        for name, value in (("pixel_mean", mean), ("pixel_std", std)):
            values = torch.tensor([float(v) for v in (value if isinstance(value, (list, tuple)) else [value])])
            self.register_buffer(name, values.reshape(1, -1, 1, 1), persistent=False)

    # -- state ----------------------------------------------------------------------

    @property
    def curr_stage(self) -> int:
        return int(self.curr_stage_value)

    @property
    def noise_weights(self) -> list[float]:
        """The weights of the scales trained so far (MMagic's list)."""
        return self.noise_weights_table[: max(self.curr_stage, 0) + 1].tolist()

    @property
    def fixed_noises(self) -> list[torch.Tensor]:
        noises, index = [], 0
        while hasattr(self, f"fixed_noise_{index}"):
            noises.append(getattr(self, f"fixed_noise_{index}"))
            index += 1
        return noises

    def set_fixed_noises(self, noises: list[torch.Tensor]) -> None:
        for index in range(self.num_scales + 2):
            self._buffers.pop(f"fixed_noise_{index}", None)
        for index, noise in enumerate(noises):
            self.register_buffer(f"fixed_noise_{index}", noise.detach().clone())

    def construct_fixed_noises(self, reals: list[torch.Tensor]) -> list[torch.Tensor]:
        """MMagic's: a 1-channel Gaussian map at scale 0, zeros of the real image's shape after."""
        return [torch.randn(1, 1, *real.shape[-2:]).to(real) if index == 0 else torch.zeros_like(real[:1])
                for index, real in enumerate(reals)]

    # -- training ------------------------------------------------------------------

    def _inputs(self, batch: Any) -> tuple[list[torch.Tensor], torch.Tensor]:
        inputs = batch.get("inputs") if isinstance(batch, dict) else None
        if not isinstance(inputs, dict) or f"{REAL_PREFIX}0" not in inputs:
            found = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise MgxError(f"SinGAN.train_step needs batch['inputs'] with real_scale0, real_scale1, … and "
                           f"input_sample (SinGANDataset + PackInputs(keys=[...])); got {found}")
        device = self.pixel_mean.device
        reals, index = [], 0
        while f"{REAL_PREFIX}{index}" in inputs:
            real = inputs[f"{REAL_PREFIX}{index}"].to(device).float()
            if f"{REAL_PREFIX}{index}" not in self.non_image_keys:
                real = (real - self.pixel_mean) / self.pixel_std
            reals.append(real)
            index += 1
        sample = inputs.get("input_sample")
        sample = sample.to(device).float() if isinstance(sample, torch.Tensor) else torch.zeros_like(reals[0])
        return reals, sample

    def _stage_optims(self, optim: Any, stage: int) -> tuple[Any, Any]:
        names = (f"generator_{stage}", f"discriminator_{stage}")
        missing = [name for name in names if name not in optim]
        if missing:
            raise ConfigError(f"SinGAN: no optimizer {missing} for scale {stage}; use "
                              f"optim_wrapper=dict(constructor='SinGANOptimWrapperConstructor', generator=..., "
                              f"discriminator=...) (one optimizer per scale); have {list(optim)}")
        return optim[names[0]], optim[names[1]]

    def _set_learning_rates(self, optims: tuple[Any, Any], iteration: int, stage: int) -> None:
        """MultiStepLR restarted at the scale: stepped once per generator phase."""
        phases = (iteration - stage * self.iters_per_scale * self.discriminator_steps) // self.discriminator_steps
        factor = self.gamma ** bisect.bisect_right(self.milestones, phases)
        for wrapper in optims:
            for group in wrapper.optimizer.param_groups:
                group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor

    def _generate(self, sample: torch.Tensor, mode: str, stage: int) -> torch.Tensor:
        out = self.generator(sample, self.fixed_noises, self.noise_weights, rand_mode=mode, curr_scale=stage)
        return out["fake_img"] if isinstance(out, dict) else out

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, stage: int) -> torch.Tensor:
        """``E(‖∇ₓD(x̂)‖₂ − 1)²``, the norm over channels at each pixel, x̂ = α·real + (1 − α)·fake."""
        alpha = torch.rand(real.shape[0], 1, 1, 1).to(real)
        mixed = (alpha * real + (1.0 - alpha) * fake).detach().requires_grad_(True)
        score = self.discriminator(mixed, stage)
        (grad,) = torch.autograd.grad(score, mixed, grad_outputs=torch.ones_like(score), create_graph=True)
        return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()

    def train_step(self, batch: dict, optim: Any) -> dict[str, torch.Tensor]:
        iteration = int(self.train_iter)
        period = self.iters_per_scale * self.discriminator_steps
        stage = iteration // period
        reals, sample = self._inputs(batch)
        if stage > self.num_scales or stage >= len(reals):
            raise MgxError(f"SinGAN: iteration {iteration} would train scale {stage}, but the model has scales "
                           f"0..{self.num_scales} and the data real_scale0..{len(reals) - 1}; set "
                           f"train_cfg.max_iters <= (num_scales + 1) · iters_per_scale · discriminator_steps and "
                           f"PackInputs keys for every scale")
        if not self.fixed_noises:
            self.set_fixed_noises(self.construct_fixed_noises(reals))
        if iteration % period == 0:
            self.curr_stage_value.fill_(stage)
            _plain(self.generator).check_and_load_prev_weight(stage)
            _plain(self.discriminator).check_and_load_prev_weight(stage)
        gen_optim, disc_optim = self._stage_optims(optim, stage)
        self._set_learning_rates((gen_optim, disc_optim), iteration, stage)
        real = reals[stage]

        with disc_optim.optim_context(self.discriminator):
            with torch.no_grad():
                fake = self._generate(sample, "rand", stage)
            loss_fake = self.discriminator(fake, stage).mean()
            loss_real = -self.discriminator(real, stage).mean()
            loss_gp = 0.1 * self.gradient_penalty(real, fake, stage)
        disc_optim.update_params(loss_fake + loss_real + loss_gp)
        losses = dict(loss_disc_fake=loss_fake.detach(), loss_disc_real=loss_real.detach(), loss_gp=loss_gp.detach())

        if (iteration + 1) % self.discriminator_steps == 0:
            with frozen(self.discriminator):
                for _ in range(self.generator_steps):
                    with gen_optim.optim_context(self.generator):
                        loss_gen = -self.discriminator(self._generate(sample, "rand", stage), stage).mean()
                        loss_mse = 10 * F.mse_loss(self._generate(sample, "recon", stage), real)
                    gen_optim.update_params(loss_gen + loss_mse)
            losses.update(loss_gen=loss_gen.detach(), loss_mse=loss_mse.detach())

        if (iteration + 1) % period == 0 and stage < len(reals) - 1 and stage < self.num_scales:
            with torch.no_grad():
                recon = F.interpolate(self._generate(sample, "recon", stage), size=reals[stage + 1].shape[-2:])
                rmse = torch.sqrt(F.mse_loss(recon, reals[stage + 1]))
            self.noise_weights_table[stage + 1] = self.noise_weight_init * float(rmse)
        losses["curr_stage"] = torch.tensor(float(stage))
        self.train_iter += 1
        return losses

    # -- test-time sampling ------------------------------------------------------------

    def load_test_pkl(self) -> None:
        """MMagic's pickle (``PickleDataHook``): fixed_noises, noise_weights, curr_stage."""
        path = Path(str(self.test_pkl_data)).expanduser()
        if not path.is_file():
            raise ConfigError(f"SinGAN: test_pkl_data={str(path)!r} does not exist (the pickle PickleDataHook "
                              f"writes under work_dir/pickle/)")
        with open(path, "rb") as handle:
            data = pickle.load(handle)  # noqa: S301 - the user's own file, as in MMagic
        missing = sorted({"fixed_noises", "noise_weights", "curr_stage"} - set(data))
        if missing:
            raise ConfigError(f"SinGAN: {path} lacks {missing}")
        device = self.noise_weights_table.device
        self.set_fixed_noises([torch.as_tensor(np.asarray(n), dtype=torch.float32).to(device)
                               for n in data["fixed_noises"]])
        weights = [float(w) for w in data["noise_weights"]]
        self.noise_weights_table[: len(weights)] = torch.tensor(weights, dtype=torch.float64)
        self.curr_stage_value.fill_(int(data["curr_stage"]))

    def _ready_for_sampling(self) -> None:
        if self.test_pkl_data and (not self.fixed_noises or self.curr_stage < 0):
            self.load_test_pkl()
        if not self.fixed_noises or self.curr_stage < 0:
            raise MgxError("SinGAN: nothing trained yet (no fixed noises / stage): train first, or give "
                           "model.test_pkl_data (MMagic's pickle) with load_from")

    @torch.no_grad()
    def sample(self, num: int = 1, mode: str = "rand", curr_scale: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``num`` images in [-1, 1] at scale ``curr_scale`` (default: the last trained), one at a time
        as MMagic samples (its BatchNorm saw batches of one)."""
        self._ready_for_sampling()
        stage = self.curr_stage if curr_scale is None else int(curr_scale)
        images = [self.generator(None, self.fixed_noises, self.noise_weights_table.tolist(), rand_mode=mode,
                                 curr_scale=stage, generator=generator) for _ in range(num)]
        return torch.cat([image["fake_img"] if isinstance(image, dict) else image for image in images])

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        """What ``mgx run test`` saves (MMagic's inference_singan.py): random samples and the
        reconstruction at the last trained scale."""
        generator = torch.Generator().manual_seed(int(seed))
        return {"singan_random": self.sample(4, "rand", generator=generator).clamp(-1, 1),
                "singan_recon": self.sample(1, "recon").clamp(-1, 1)}

    def val_step(self, batch: Any) -> dict[str, torch.Tensor]:
        """``{'fake_img': random samples in [0, 255]}``, one per batch entry."""
        sized = [v for v in batch.values() if isinstance(v, torch.Tensor) and v.dim() > 0] \
            if isinstance(batch, dict) else []
        return {"fake_img": (self.sample(int(sized[0].shape[0]) if sized else 1) + 1) * 127.5}

    # -- checkpoints ---------------------------------------------------------------------

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """The fixed noises become buffers of the stored shapes (they follow the data pyramid); MMagic's
        checkpoints (generator/discriminator weights only) keep this model's counters, and the
        noises come from ``test_pkl_data``."""
        weights = {k: v for k, v in weights.items() if not k.startswith("data_preprocessor.")}
        noises = sorted((k for k in weights if k.startswith("fixed_noise_")), key=lambda k: int(k.rsplit("_", 1)[1]))
        if noises:
            self.set_fixed_noises([weights[k] for k in noises])
        for name in ("train_iter", "curr_stage_value", "noise_weights_table"):
            weights.setdefault(name, getattr(self, name).clone())
        return weights


def _plain(module: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (the network itself otherwise)."""
    return module.module if type(module).__name__ == "DistributedDataParallel" else module


__all__ = ["SinGAN"]

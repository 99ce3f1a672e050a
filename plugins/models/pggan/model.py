"""``ProgressiveGrowingGAN`` (alias ``PGGAN``): MMagic's progressive-growing GAN (Karras et al. 2018).

One ``train_step`` = one iteration of MMagic's: the scale and fade-in weight of the schedule
(``schedule.py``); real images resized to the scale (``interp_real``, default bilinear with
``align_corners=True``) when larger; a discriminator update with WGAN-GP's loss
``mean D(fake) − mean D(real) + 10 · E(‖∇D(x̂)‖₂ − 1)²`` (x̂ = α·real + (1−α)·fake, α ~ U(0, 1) per
sample, norm over C, H, W) plus the drift term ``0.001 · 0.5 · mean(D(fake)² + D(real)²)``; a generator
update with ``−mean D(G(z))``; the in-model EMA (``ema_config``); ``shown_nkimg`` += batch · world / 1000.

Each scale has its own optimizers, ``generator_<scale>`` and ``discriminator_<scale>``
(``optim_wrapper.constructor='PGGANOptimWrapperConstructor'``, see :meth:`expand_optim_wrapper`).

State (buffers, so a checkpoint resumes mid-transition bit-exactly): MMagic's ``shown_nkimg``,
``_curr_transition_weight``, ``_next_scale_int``, ``_curr_scale_int``, and mgx's ``_prev_stage`` and
``_stage_start_nkimg`` (MMagic keeps these two in Python attributes, lost on resume, which is why its
docs ask for ``prev_stage`` when resuming).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, frozen, module_device
from ..stylegan2.ema import AveragedGenerator
from .schedule import parse_scales, stage_of, transition_weight

INTERP_MODES = ("nearest", "bilinear", "bicubic", "area")


def _plain(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module) if type(module).__name__ == "DistributedDataParallel" else module


def _world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class ScaleSampler:
    """What metrics sample from: one generator at the model's current scale and fade-in weight."""

    def __init__(self, model: "ProgressiveGrowingGAN", generator: nn.Module) -> None:
        self.model, self.generator, self.latent_dim = model, generator, model.noise_size

    @torch.no_grad()
    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        device = module_device(self.model)
        if noise is None:
            if num is None or num < 1:
                raise MgxError(f"{type(self.model).__name__}.sample needs num ≥ 1 or noise, got num={num!r}")
            noise = torch.randn(num, self.latent_dim, device=device)
        images = self.generator(noise.to(device).reshape(noise.shape[0], self.latent_dim),
                                curr_scale=int(self.model._curr_scale_int),
                                transition_weight=float(self.model._curr_transition_weight))
        return self.model.data_preprocessor.destruct(images).div(127.5).sub(1.0).clamp(-1.0, 1.0)


class ProgressiveGrowingGAN(nn.Module):
    GENERATOR_TYPES: tuple[str, ...] = ("PGGANGenerator",)
    DISCRIMINATOR_TYPES: tuple[str, ...] = ("PGGANDiscriminator",)
    OPTIM_WRAPPER_CONSTRUCTORS = ("PGGANOptimWrapperConstructor",)

    def __init__(self, generator: dict, discriminator: dict, nkimgs_per_scale: dict,
                 data_preprocessor: dict | None = None, noise_size: int | None = None,
                 interp_real: dict | None = None, transition_kimgs: float = 600, prev_stage: int = 0,
                 ema_config: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.scales, self.nkimgs = parse_scales(nkimgs_per_scale, who)
        self.cum_nkimgs = [sum(self.nkimgs[:i + 1]) for i in range(len(self.nkimgs))]
        if isinstance(transition_kimgs, bool) or not isinstance(transition_kimgs, (int, float)) \
                or transition_kimgs <= 0:
            raise ConfigError(f"{who}: transition_kimgs must be a number > 0, got {transition_kimgs!r}")
        self.transition_kimgs = float(transition_kimgs)
        self.interp_real = self._interp_settings(interp_real, who)
        self._build_networks(generator, discriminator, noise_size, data_preprocessor, who)
        self.ema_start = 0
        self.generator_ema = None
        if ema_config:
            ema_config = dict(ema_config)
            self.ema_start = int(ema_config.pop("start_iter", 0))
            self.generator_ema = AveragedGenerator(self.generator, **ema_config)
        self.register_buffer("shown_nkimg", torch.tensor(0.0))
        self.register_buffer("_curr_transition_weight", torch.tensor(1.0))
        self.register_buffer("_next_scale_int", torch.tensor(self.scales[0], dtype=torch.int32))
        self.register_buffer("_curr_scale_int", torch.tensor(self.scales[-1], dtype=torch.int32))
        self.register_buffer("_prev_stage", torch.tensor(int(prev_stage), dtype=torch.long))
        self.register_buffer("_stage_start_nkimg", torch.tensor(0.0))
        self.register_buffer("train_iter", torch.tensor(0, dtype=torch.long))

    @staticmethod
    def _interp_settings(interp_real: dict | None, who: str) -> dict:
        settings = dict(mode="bilinear", align_corners=True) if interp_real is None else dict(interp_real)
        if settings.get("mode") not in INTERP_MODES or set(settings) - {"mode", "align_corners"}:
            raise ConfigError(f"{who}: interp_real must be dict(mode=one of {INTERP_MODES}, align_corners=...), "
                              f"got {interp_real!r}")
        return settings

    def _build_networks(self, generator, discriminator, noise_size, data_preprocessor, who: str) -> None:
        for name, cfg, types in (("generator", generator, self.GENERATOR_TYPES),
                                 ("discriminator", discriminator, self.DISCRIMINATOR_TYPES)):
            if not isinstance(cfg, dict) or cfg.get("type") not in types:
                raise ConfigError(f"{who}: {name} must be dict(type={types[0]!r}, ...), got {cfg!r}")
        generator = dict(generator)
        self._fill_generator_config(generator, noise_size, who)
        preprocessor = dict(data_preprocessor or dict(type="DataPreprocessor"))
        if preprocessor.get("type") != "DataPreprocessor":
            raise ConfigError(f"{who}: data_preprocessor must be dict(type='DataPreprocessor', ...), "
                              f"got {data_preprocessor!r}")
        self.data_preprocessor = build(preprocessor, "model")
        self.generator = build(generator, "model")
        self.discriminator = build(dict(discriminator), "model")
        top = self._network_scale()
        if self.scales[-1] > top:
            raise ConfigError(f"{who}: nkimgs_per_scale reaches {self.scales[-1]} px but the networks stop at "
                              f"{top} px; make the last scale ≤ generator/discriminator scale")
        self.noise_size = self.latent_dim = self.generator.noise_size

    def _fill_generator_config(self, generator: dict, noise_size, who: str) -> None:
        if noise_size is not None and generator.setdefault("noise_size", noise_size) != noise_size:
            raise ConfigError(f"{who}: noise_size={noise_size!r} but generator.noise_size="
                              f"{generator['noise_size']!r}; give one, or the same value")

    def _network_scale(self) -> int:
        scale, disc_scale = self.generator.out_scale, self.discriminator.in_scale
        if scale != disc_scale:
            raise ConfigError(f"{type(self).__name__}: generator.out_scale={scale} but discriminator.in_scale="
                              f"{disc_scale}; make them equal")
        return scale

    # -- optimizers ------------------------------------------------------------------------

    def expand_optim_wrapper(self, cfg: dict) -> dict:
        """MMagic's ``PGGANOptimWrapperConstructor``: for each scale and each of ``generator`` /
        ``discriminator``, an optimizer ``<name>_<scale>`` over that network, its ``lr`` from
        ``lr_schedule[name][str(scale)]`` (default the configured ``lr``). (MMagic's
        ``reset_optim_for_new_scale=False``, one optimizer shared by all scales, is not supported.)"""
        who = "optim_wrapper (PGGANOptimWrapperConstructor)"
        cfg = copy.deepcopy(dict(cfg))
        cfg.pop("constructor", None)
        if cfg.pop("paramwise_cfg", None) is not None:
            raise ConfigError(f"{who}: paramwise_cfg goes in each optimizer's dict (as in MMagic)")
        if not cfg.pop("reset_optim_for_new_scale", True):
            raise ConfigError(f"{who}: reset_optim_for_new_scale=False is not supported; each scale gets its "
                              f"own optimizers (MMagic's default)")
        lr_schedule = cfg.pop("lr_schedule", None) or {}
        if not isinstance(lr_schedule, dict) or set(lr_schedule) - set(cfg):
            raise ConfigError(f"{who}: lr_schedule must map {sorted(cfg)} to dict(scale -> lr), got {lr_schedule!r}")
        expanded = {}
        for name, sub in cfg.items():
            if name not in ("generator", "discriminator") or not isinstance(sub, dict) or "optimizer" not in sub:
                raise ConfigError(f"{who}: takes generator=dict(optimizer=...), discriminator=dict(optimizer=...), "
                                  f"lr_schedule and reset_optim_for_new_scale; got {name}={sub!r}")
            for scale in self.scales:
                entry = copy.deepcopy(sub)
                entry["optimizer"]["lr"] = lr_schedule.get(name, {}).get(str(scale), sub["optimizer"].get("lr"))
                expanded[f"{name}_{scale}"] = {**entry, "modules": name}
        return expanded

    # -- training --------------------------------------------------------------------------

    def _current_stage(self) -> tuple[int, int]:
        shown = float(self.shown_nkimg)
        stage = stage_of(shown, self.cum_nkimgs)
        self._curr_scale_int.copy_(self._next_scale_int)
        if stage != int(self._prev_stage):
            self._prev_stage.fill_(stage)
            self._stage_start_nkimg.fill_(shown)
        weight = transition_weight(stage, shown, float(self._stage_start_nkimg), self.transition_kimgs)
        self._curr_transition_weight.fill_(weight)
        return stage, self.scales[stage]

    def _real_at(self, batch: dict, scale: int, device) -> torch.Tensor:
        real = self.data_preprocessor(batch_images(batch, "inputs", f"{type(self).__name__}.train_step", device))
        if real.shape[2:] == (scale, scale):
            return real
        if real.shape[2] >= scale and real.shape[3] >= scale:
            return F.interpolate(real, size=(scale, scale), **self.interp_real)
        raise MgxError(f"{type(self).__name__}: real images are {tuple(real.shape[2:])}, smaller than the current "
                       f"scale {scale}; give images of at least the last scale of nkimgs_per_scale")

    def _networks_at(self, scale: int) -> dict:
        return dict(curr_scale=scale, transition_weight=self._curr_transition_weight)

    def disc_loss_terms(self, real: torch.Tensor, fake: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
        at = self._networks_at(scale)
        pred_fake, pred_real = self.discriminator(fake, **at).float(), self.discriminator(real, **at).float()
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
        mixed = (alpha * real + (1.0 - alpha) * fake).detach().requires_grad_(True)
        pred_mixed = self.discriminator(mixed, **at)
        (grad,) = torch.autograd.grad(pred_mixed, mixed, torch.ones_like(pred_mixed), create_graph=True)
        penalty = (grad.float().reshape(real.shape[0], -1).norm(2, dim=1) - 1.0).square().mean()
        return {"loss_disc_fake": pred_fake.mean(), "loss_disc_real": -pred_real.mean(), "loss_gp": 10 * penalty,
                "loss_disc_shift": (0.001 * 0.5 * (pred_fake.square() + pred_real.square())).mean()}

    def gen_loss(self, fake: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
        return {"loss_gen": -self.discriminator(fake, **self._networks_at(scale)).float().mean()}

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor | float]:
        device = module_device(self)
        stage, scale = self._current_stage()
        real = self._real_at(batch, scale, device)
        num = real.shape[0]
        disc_optim, gen_optim = optim[f"discriminator_{scale}"], optim[f"generator_{scale}"]
        with disc_optim.optim_context(self.discriminator):
            with torch.no_grad():
                fake = self.generator(torch.randn(num, self.noise_size, device=device), **self._networks_at(scale))
            terms = self.disc_loss_terms(real, fake, scale)
        disc_optim.update_params(sum(terms.values()))
        logs: dict = {name: value.detach() for name, value in terms.items()}
        with frozen(self.discriminator):
            with gen_optim.optim_context(self.generator):
                fake = self.generator(torch.randn(num, self.noise_size, device=device), **self._networks_at(scale))
                gen_terms = self.gen_loss(fake, scale)
            gen_optim.update_params(sum(gen_terms.values()))
        logs.update({name: value.detach() for name, value in gen_terms.items()})
        if self.generator_ema is not None:
            self.generator_ema.follow(_plain(self.generator), int(self.train_iter) + 1, self.ema_start)
        self.shown_nkimg += num * _world_size() / 1000.0
        if stage_of(float(self.shown_nkimg), self.cum_nkimgs) != stage:
            self._next_scale_int.mul_(2)
        self.train_iter += 1
        logs.update(shown_nkimg=float(self.shown_nkimg), curr_scale=float(scale),
                    transition_weight=float(self._curr_transition_weight))
        return logs

    # -- evaluation ------------------------------------------------------------------------

    def sampling_model(self, sample_model: str = "ema") -> ScaleSampler:
        if sample_model not in ("ema", "orig"):
            raise ConfigError(f"{type(self).__name__}: sample_model must be 'ema' or 'orig', got {sample_model!r}")
        use_ema = sample_model == "ema" and self.generator_ema is not None
        return ScaleSampler(self, self.generator_ema.module if use_ema else _plain(self.generator))

    @torch.no_grad()
    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None,
               sample_model: str = "ema") -> torch.Tensor:
        """Images in [-1, 1] at the current scale (``_curr_scale_int``) and fade-in weight."""
        return self.sampling_model(sample_model).sample(num, noise=noise)

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        sized = [value for value in batch.values() if isinstance(value, torch.Tensor) and value.dim() > 0] \
            if isinstance(batch, dict) else []
        if not sized:
            raise MgxError(f"{type(self).__name__}.val_step needs a batch with a tensor to take its size from")
        return {"fake_img": (self.sample(int(sized[0].shape[0])) + 1) * 127.5}

    # -- checkpoints -----------------------------------------------------------------------

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic's checkpoints have mgx's keys (its preprocessor's buffers aside) but lack ``_prev_stage``, ``_stage_start_nkimg`` and
        ``train_iter`` (mgx's resume state): the stage is taken from ``shown_nkimg`` and its start from the
        schedule's threshold (MMagic's own resume restarts the fade-in there too)."""
        own = self.state_dict()
        # MMagic's DataPreprocessor buffers (mean/std) are the config's, not learned: mgx's own are kept
        weights = {key: value for key, value in weights.items()
                   if not key.startswith("data_preprocessor.") or key in own}
        if "_prev_stage" not in weights and "shown_nkimg" in weights:
            shown = float(weights["shown_nkimg"])
            stage = stage_of(shown, self.cum_nkimgs)
            weights["_prev_stage"] = torch.tensor(stage, dtype=torch.long)
            weights["_stage_start_nkimg"] = torch.tensor(self.cum_nkimgs[stage - 1] if stage else 0.0)
        weights.setdefault("train_iter", torch.tensor(0, dtype=torch.long))
        if self.generator_ema is not None and not any(key.startswith("generator_ema.") for key in weights):
            for key, value in list(weights.items()):
                if key.startswith("generator."):
                    weights["generator_ema.module." + key[len("generator."):]] = value.clone()
        if self.generator_ema is not None:
            weights.setdefault("generator_ema.steps", torch.tensor(0, dtype=torch.long))
        return weights


__all__ = ["ProgressiveGrowingGAN", "ScaleSampler"]

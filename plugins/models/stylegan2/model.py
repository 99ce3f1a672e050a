"""``StyleGAN2``: MMagic's model (config keys, losses, regularizers, in-model EMA).

One ``train_step`` = one iteration of MMagic's ``StyleGAN2.train_step``:

* discriminator update with the non-saturating logistic loss
  ``softplus(D(fake)) + softplus(-D(real))``, plus lazy R1 every ``r1_interval``
  iterations: ``r1_loss_weight · E‖∇ₓD(x)‖²`` on the reals (``norm_mode='pixel'``:
  per-pixel squared norm over channels, averaged over pixels; ``'HWC'``: summed over
  C, H, W);
* every ``discriminator_steps`` iterations, ``generator_steps`` generator updates with
  ``softplus(-D(G(z)))`` plus, every ``g_reg_interval`` iterations, path-length
  regularization ``g_reg_weight · E(‖J_wᵀ y‖ − a)²`` on ``N // pl_batch_shrink``
  samples, ``a`` the running mean (decay 0.01) kept in the ``mean_path_length``
  buffer (so it is in every checkpoint) and averaged over processes;
* style mixing with probability ``mix_prob`` (two latents switched at a random layer);
* the in-model EMA (``ema_config``) after each generator phase.

Randomness is drawn per sample from a seed of (run seed, iteration, purpose,
``sample_idx``), so N processes with batch B step exactly like one process with
batch N·B (rank-strided shards), and a resume continues bit-exactly.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.engine.speed import eager_networks
from mgx.core.registry import build

from ..common import frozen, module_device
from .checkpoint import convert_mmagic_state_dict, is_mmagic_state
from .ema import AveragedGenerator
from .sampling import GeneratorView

GENERATOR_TYPES = ("StyleGANv2Generator", "StyleGAN2Generator")
DISCRIMINATOR_TYPES = ("StyleGAN2Discriminator", "StyleGANv2Discriminator", "ADAStyleGAN2Discriminator")
LOSS_DEFAULTS = dict(r1_loss_weight=80.0, r1_interval=16, norm_mode="pixel", g_reg_interval=4, g_reg_weight=8.0,
                     pl_batch_shrink=2, pl_decay=0.01, r1_use_apex_amp=False, g_reg_use_apex_amp=False,
                     scale_r1_loss=False)
_PURPOSE_DISC, _PURPOSE_GEN, _PURPOSE_PL = 1, 2, 3


def _build(cfg, types: tuple[str, ...], what: str) -> nn.Module:
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict):
        raise ConfigError(f"StyleGAN2: {what} must be a dict(type={types[0]!r}, ...), got {type(cfg).__name__}")
    cfg = dict(cfg)
    kind = cfg.setdefault("type", types[0])
    if kind not in types:
        raise ConfigError(f"StyleGAN2: {what}.type must be one of {types}, got {kind!r}")
    # through the registry (the plugin registers the classes under these names): arguments are
    # checked against the signature and named as the config checks name them
    return build(cfg, "model")


def _channel_stats(value, channels: int, name: str) -> torch.Tensor:
    values = [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if len(values) not in (1, channels):
        raise ConfigError(f"StyleGAN2: data_preprocessor.{name} needs 1 or {channels} values, got {value!r}")
    return torch.tensor(values).reshape(1, -1, 1, 1)


def _mix_seed(*parts: int) -> int:
    # An odd-multiplier polynomial hash: distinct (seed, iteration, purpose, index) tuples get unrelated streams.
    value = 0x9E3779B97F4A7C15
    for part in parts:
        value = (value * 0x100000001B3 + int(part) + 0x632BE59BD9B4E019) % (2 ** 63 - 1)
    return value


class StyleGAN2(nn.Module):
    def __init__(self, generator: dict, discriminator: dict | None = None, data_preprocessor: dict | None = None,
                 generator_steps: int = 1, discriminator_steps: int = 1, ema_config: dict | None = None,
                 loss_config: dict | None = None) -> None:
        super().__init__()
        self.generator = _build(generator, GENERATOR_TYPES, "generator")
        if discriminator is None:
            raise ConfigError("StyleGAN2: discriminator=dict(type='StyleGAN2Discriminator', in_size=...) is needed")
        self.discriminator = _build(discriminator, DISCRIMINATOR_TYPES, "discriminator")
        for name, value in (("generator_steps", generator_steps), ("discriminator_steps", discriminator_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"StyleGAN2: {name} must be a positive int, got {value!r}")
        self.generator_steps, self.discriminator_steps = generator_steps, discriminator_steps
        self._configure_preprocessor(data_preprocessor)
        self._configure_losses(loss_config)
        self.latent_dim = self.generator.noise_size
        self.ema_start = 0
        if ema_config:
            ema_config = dict(ema_config)
            self.ema_start = int(ema_config.pop("start_iter", 0))
            self.generator_ema = AveragedGenerator(self.generator, **ema_config)
        else:
            self.generator_ema = None
        self.register_buffer("mean_path_length", torch.tensor(0.0))
        self.register_buffer("train_iter", torch.tensor(0, dtype=torch.long))
        # the run's seed (set before the model is built), for per-sample training noise
        self.register_buffer("noise_seed", torch.tensor(torch.initial_seed() % (2 ** 63 - 1), dtype=torch.long))

    # -- configuration -------------------------------------------------------------

    def _configure_preprocessor(self, cfg: dict | None) -> None:
        cfg = dict(cfg or {})
        kind = cfg.pop("type", "DataPreprocessor")
        if kind not in ("DataPreprocessor", "GenDataPreprocessor"):
            raise ConfigError(f"StyleGAN2: data_preprocessor.type must be 'DataPreprocessor', got {kind!r}")
        mean, std = cfg.pop("mean", 127.5), cfg.pop("std", 127.5)
        cfg.pop("bgr_to_rgb", None), cfg.pop("rgb_to_bgr", None), cfg.pop("pad_size_divisor", None)
        if cfg:
            raise ConfigError(f"StyleGAN2: unsupported data_preprocessor key(s) {sorted(cfg)}")
        channels = self.generator.out_channels
        self.register_buffer("pixel_mean", _channel_stats(mean, channels, "mean"), persistent=False)
        self.register_buffer("pixel_std", _channel_stats(std, channels, "std"), persistent=False)

    def _configure_losses(self, cfg: dict | None) -> None:
        unknown = sorted(set(cfg or {}) - set(LOSS_DEFAULTS))
        if unknown:
            raise ConfigError(f"StyleGAN2: unknown loss_config key(s) {unknown}; known: {sorted(LOSS_DEFAULTS)}")
        merged = {**LOSS_DEFAULTS, **(cfg or {})}
        if merged["r1_use_apex_amp"] or merged["g_reg_use_apex_amp"]:
            raise ConfigError("StyleGAN2: apex AMP is not supported; use --amp (torch.autocast)")
        if merged["norm_mode"] not in ("pixel", "HWC"):
            raise ConfigError(f"StyleGAN2: loss_config.norm_mode must be 'pixel' or 'HWC', got {merged['norm_mode']!r}")
        for name in ("r1_interval", "g_reg_interval", "pl_batch_shrink"):
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"StyleGAN2: loss_config.{name} must be a positive int, got {value!r}")
        self.loss_config = merged
        self.r1_loss_weight, self.r1_interval = float(merged["r1_loss_weight"]), merged["r1_interval"]
        self.norm_mode, self.g_reg_interval = merged["norm_mode"], merged["g_reg_interval"]
        self.g_reg_weight, self.pl_batch_shrink = float(merged["g_reg_weight"]), merged["pl_batch_shrink"]
        self.pl_decay = float(merged["pl_decay"])

    # -- regularizers (public so tests can check them against their definitions) -----

    def r1_penalty(self, gradients: torch.Tensor) -> torch.Tensor:
        """E‖∇ₓD‖² per ``norm_mode`` from the gradients of D's summed output w.r.t. the reals."""
        gradients = gradients.float()
        if self.norm_mode == "pixel":
            return gradients.square().sum(dim=1).mean()
        return gradients.square().flatten(1).sum(dim=1).mean()

    def path_length_penalty(self, images: torch.Tensor, latent: torch.Tensor, pl_noise: torch.Tensor
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """(penalty, new running mean): ``E(‖J_wᵀ y‖ − a)²`` with y = pl_noise (already /√(HW)),
        a = mean_path_length + decay · (mean path length − mean_path_length)."""
        (grad,) = torch.autograd.grad((images.float() * pl_noise).sum(), latent, create_graph=True)
        lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()
        batch_mean = _global_mean(lengths.mean())
        path_mean = self.mean_path_length + self.pl_decay * (batch_mean - self.mean_path_length)
        return (lengths - path_mean).square().mean(), path_mean.detach()

    # -- training ------------------------------------------------------------------------

    def _real_images(self, batch: dict, device: torch.device) -> torch.Tensor:
        value = None
        if isinstance(batch, dict):
            value = batch.get("gt_img") if isinstance(batch.get("gt_img"), torch.Tensor) else batch.get("inputs")
        if not isinstance(value, torch.Tensor) or value.dim() != 4:
            fields = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
            raise MgxError(f"StyleGAN2.train_step needs batch['gt_img'] or batch['inputs'] as N×C×H×W images "
                           f"(PackInputs makes them); the batch has {fields}")
        gen = _plain(self.generator)
        size = gen.out_size
        if tuple(value.shape[1:]) != (gen.out_channels, size, size):
            raise MgxError(f"StyleGAN2.train_step: real images are {tuple(value.shape[1:])} but the generator makes "
                           f"{(gen.out_channels, size, size)}; set generator.out_size / "
                           f"discriminator.in_size to the data's size (or resize the data)")
        value = value.to(device, non_blocking=True).float()
        return (value - self.pixel_mean) / self.pixel_std

    def _draws(self, purpose: int, keys: list[int] | None, num: int, device: torch.device
               ) -> tuple[list[torch.Tensor], int | None, list[torch.Tensor] | None]:
        """Latents (1, or 2 when mixing), the mixing layer and injected noise for ``num`` samples."""
        gen = _plain(self.generator)
        iteration, seed = int(self.train_iter), int(self.noise_seed)
        shared = torch.Generator().manual_seed(_mix_seed(seed, iteration, purpose, -1))
        mixing = gen.default_style_mode == "mix" and float(torch.rand((), generator=shared)) < gen.mix_prob
        count = 2 if mixing else 1
        inject = int(torch.randint(1, gen.num_latents, (), generator=shared)) if mixing else None
        if keys is None:
            return [torch.randn(num, gen.noise_size, device=device) for _ in range(count)], inject, None
        latents: list[list[torch.Tensor]] = [[] for _ in range(count)]
        noise: list[list[torch.Tensor]] = [[] for _ in gen.noise_shapes()]
        for key in keys[:num]:
            rng = torch.Generator().manual_seed(_mix_seed(seed, iteration, purpose, key))
            for rows in latents:
                rows.append(torch.randn(1, gen.noise_size, generator=rng))
            for maps, (h, w) in zip(noise, gen.noise_shapes()):
                maps.append(torch.randn(1, 1, h, w, generator=rng))
        return ([torch.cat(rows).to(device) for rows in latents], inject,
                [torch.cat(maps).to(device) for maps in noise])

    def _pl_noise(self, keys: list[int] | None, images: torch.Tensor) -> torch.Tensor:
        scale = 1.0 / math.sqrt(images.shape[2] * images.shape[3])
        if keys is None:
            return torch.randn_like(images, dtype=torch.float32) * scale
        iteration, seed = int(self.train_iter), int(self.noise_seed)
        rows = [torch.randn(1, *images.shape[1:], generator=torch.Generator().manual_seed(
            _mix_seed(seed, iteration, _PURPOSE_PL, key))) for key in keys[:images.shape[0]]]
        return torch.cat(rows).to(images.device) * scale

    def _share_rank0_state(self) -> None:
        """Once per process: the state DDP does not broadcast (EMA copy, counters, seed) from rank 0, so
        ranks agree even when each was seeded differently (``randomness.diff_rank_seed``)."""
        import torch.distributed as dist

        self._rank0_state_shared = True
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return
        tensors = [self.noise_seed, self.train_iter, self.mean_path_length]
        if self.generator_ema is not None:
            tensors += list(self.generator_ema.state_dict(keep_vars=True).values())
        for tensor in tensors:
            dist.broadcast(tensor.data, src=0)

    def _generate(self, styles, inject, noise, phase: str, return_latents: bool = False):
        """The generator's call in a training ``phase`` ('disc' or 'gen'); StyleGAN3 adds its EMA updates."""
        return self.generator(styles, inject_index=inject, injected_noise=noise, return_latents=return_latents)

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        if not getattr(self, "_rank0_state_shared", False):
            self._share_rank0_state()
        device = module_device(self)
        real = self._real_images(batch, device)
        num = real.shape[0]
        keys = _sample_keys(batch, num)
        iteration = int(self.train_iter)
        losses: dict[str, torch.Tensor] = {}

        disc_optim = optim["discriminator"]
        styles, inject, noise = self._draws(_PURPOSE_DISC, keys, num, device)
        with disc_optim.optim_context(self.discriminator):
            with torch.no_grad():
                fake = self._generate(styles, inject, noise, "disc")
            pred_fake = self.discriminator(fake.detach())
            with_r1 = iteration % self.r1_interval == 0
            real_input = real.detach().requires_grad_(with_r1)
            pred_real = self.discriminator(real_input)
            loss_fake = F.softplus(pred_fake.float()).mean()
            loss_real = F.softplus(-pred_real.float()).mean()
            loss_disc = loss_fake + loss_real
            if with_r1:
                (grad,) = torch.autograd.grad(pred_real.float().sum(), real_input, create_graph=True)
                loss_r1 = self.r1_loss_weight * self.r1_penalty(grad)
                loss_disc = loss_disc + loss_r1
                losses["loss_r1_gp"] = loss_r1.detach()
        disc_optim.update_params(loss_disc)
        losses.update(loss_disc_fake=loss_fake.detach(), loss_disc_real=loss_real.detach())

        if (iteration + 1) % self.discriminator_steps == 0:
            self._generator_phase(optim["generator"], keys, num, device, iteration, losses)
            if self.generator_ema is not None:
                self.generator_ema.follow(_plain(self.generator), iteration + 1, self.ema_start)
        ada = getattr(_plain(self.discriminator), "ada_aug", None)
        if ada is not None:  # adaptive augmentation (ada.py): p follows the sign of D on the reals
            ada.record(pred_real)
            ada.update(iteration, num)
            losses["augment"] = ada.aug_pipeline.p.detach().clone()
        self.train_iter += 1
        return losses

    def _generator_phase(self, gen_optim, keys, num: int, device, iteration: int, losses: dict) -> None:
        with frozen(self.discriminator):
            for _ in range(self.generator_steps):
                styles, inject, noise = self._draws(_PURPOSE_GEN, keys, num, device)
                with gen_optim.optim_context(self.generator):
                    fake = self._generate(styles, inject, noise, "gen")
                    loss_gen = F.softplus(-self.discriminator(fake).float()).mean()
                    total = loss_gen
                    if iteration % self.g_reg_interval == 0:
                        pl_num = max(1, num // self.pl_batch_shrink)
                        pl_keys = keys[:pl_num] if keys is not None else None
                        pl_styles, pl_inject, pl_noise_maps = self._draws(_PURPOSE_PL, pl_keys, pl_num, device)
                        with eager_networks():  # differentiated twice: no compiled graph (compile=True)
                            out = self._generate(pl_styles, pl_inject, pl_noise_maps, "gen", return_latents=True)
                        images, latent = out["fake_img"], out["latent"]
                        penalty, new_mean = self.path_length_penalty(images, latent, self._pl_noise(pl_keys, images))
                        loss_pl = self.g_reg_weight * penalty
                        total = total + loss_pl
                        self.mean_path_length.copy_(new_mean)
                        losses["loss_path_regular"] = loss_pl.detach()
                gen_optim.update_params(total)
        losses["loss_gen"] = loss_gen.detach()

    # -- evaluation ----------------------------------------------------------------------

    def sampling_model(self, sample_model: str = "ema") -> GeneratorView:
        """The generator metrics sample from: the moving average for 'ema' (when configured), else the trained one."""
        if sample_model not in ("ema", "orig"):
            raise ConfigError(f"StyleGAN2: sample_model must be 'ema' or 'orig', got {sample_model!r}")
        if sample_model == "ema" and self.generator_ema is not None:
            return GeneratorView(self.generator_ema.module)
        return GeneratorView(_plain(self.generator))

    @torch.no_grad()
    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None, sample_model: str = "ema",
               **kwargs) -> torch.Tensor:
        """Images in [-1, 1]; see ``GeneratorView.sample`` (truncation, truncation_latent, randomize_noise)."""
        return self.sampling_model(sample_model).sample(num, noise=noise, **kwargs)

    def mapping(self, z: torch.Tensor, sample_model: str = "ema") -> torch.Tensor:
        return self.sampling_model(sample_model).mapping(z)

    def synthesis(self, w: torch.Tensor, noise=None, transform=None, sample_model: str = "ema",
                  **kwargs) -> torch.Tensor:
        return self.sampling_model(sample_model).synthesis(w, noise=noise, transform=transform, **kwargs)

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """``{'fake_img': N samples, RGB float in [0, 255]}`` for the batch's size N."""
        sized = [value for value in batch.values() if isinstance(value, torch.Tensor) and value.dim() > 0] \
            if isinstance(batch, dict) else []
        if not sized:
            raise MgxError("StyleGAN2.val_step needs a batch with at least one tensor to take its size from")
        return {"fake_img": (self.sample(int(sized[0].shape[0])) + 1) * 127.5}

    # -- checkpoints -----------------------------------------------------------------------

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """Weights for ``load_from``: MMagic's StyleGAN2 layout is converted (see ``checkpoint.py``);
        counters absent from it (``train_iter``, EMA ``steps``) start at 0 and the run keeps its own seed."""
        if not is_mmagic_state(weights):
            return weights
        converted = convert_mmagic_state_dict(weights)
        converted.setdefault("noise_seed", self.noise_seed.clone())
        if self.generator_ema is None:
            converted = {k: v for k, v in converted.items() if not k.startswith("generator_ema.")}
        elif not any(k.startswith("generator_ema.module.") for k in converted):
            # a checkpoint without an average: start the average from the loaded generator
            for key, value in list(converted.items()):
                if key.startswith("generator."):
                    converted["generator_ema.module." + key[len("generator."):]] = value.clone()
            converted["generator_ema.steps"] = torch.zeros((), dtype=torch.long)
        return converted


def _plain(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (the module itself otherwise)."""
    return getattr(module, "module", module) if type(module).__name__ == "DistributedDataParallel" else module


def _sample_keys(batch: dict, num: int) -> list[int] | None:
    indices = batch.get("sample_idx") if isinstance(batch, dict) else None
    if indices is None:
        return None
    values = torch.as_tensor(indices).reshape(-1).tolist()
    return [int(v) for v in values] if len(values) == num else None


def _global_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean over processes, differentiable (each rank's gradient reaches all ranks, so N processes
    get the gradient one process gets from the whole batch)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    from torch.distributed.nn.functional import all_reduce

    return all_reduce(value, op=dist.ReduceOp.SUM) / dist.get_world_size()

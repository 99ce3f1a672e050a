"""``BaseConditionalGAN``: MMagic 1.2.0's class-conditional GAN schedule, shared by SNGAN/SAGAN and BigGAN.

Each ``train_step`` makes one discriminator update on the batch (real images ``gt_img`` with their
``gt_label``, fakes from fresh noise and uniformly drawn labels) and, every ``discriminator_steps``-th
iteration, ``generator_steps`` generator updates; after them the in-model moving average
(``ema_config``, MMagic's form, from ``start_iter`` on) is updated. A subclass names its network types
and defines the losses (``disc_loss_terms``, ``gen_loss``).

Training draws (noise and fake labels) come from per-sample generators seeded by the run's seed, the
iteration, the phase and the sample's dataset index (``sample_idx``), so a resumed run draws exactly
what the uninterrupted one drew.

Sampling: ``sample(noise=..., labels=...)`` (labels uniform at random when not given, as MMagic's
``label_fn``); the metrics pass labels drawn per sample index (docs/metrics.md), the sample grid one
class per row.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, frozen, module_device
from ..stylegan2.ema import AveragedGenerator


_MODULUS = 2 ** 63 - 1
_DISC_PHASE, _GEN_PHASE = 1, 2


def _draw_seed(*parts: int) -> int:
    value = 0x2545F4914F6CDD1D
    for part in parts:
        value = (value * 6364136223846793005 + int(part) + 1442695040888963407) % _MODULUS
    return value


def _plain(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)  # a DDP wrapper's network


class ConditionalSampler:
    """Sampling API over one generator (the trained one or its moving average)."""

    def __init__(self, owner: "BaseConditionalGAN", generator: nn.Module) -> None:
        self.owner, self.generator = owner, generator
        self.latent_dim, self.num_classes = owner.noise_size, owner.num_classes

    @torch.no_grad()
    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.owner.generate(self.generator, num, noise, labels)


class ConditionalSampling:
    """Sampling of a model with ``generator`` (and ``generator_ema`` or None) that ``generate``s images from
    noise and conditional inputs: BaseConditionalGAN's class labels, EG3D's cameras."""

    def sampling_model(self, sample_model: str = "ema") -> ConditionalSampler:
        """The generator metrics sample from: the moving average for 'ema' (when configured), else the trained one."""
        if sample_model not in ("ema", "orig"):
            raise ConfigError(f"{type(self).__name__}: sample_model must be 'ema' or 'orig', got {sample_model!r}")
        if sample_model == "ema" and self.generator_ema is not None:
            return ConditionalSampler(self, self.generator_ema.module)
        return ConditionalSampler(self, _plain(self.generator))

    def sampling_noise(self, num: int | None, noise: torch.Tensor | None) -> torch.Tensor:
        """``noise`` as float32 N×noise_size on the model's device; N(0, 1) draws of ``num`` rows when None."""
        who = f"{type(self).__name__}.sample"
        device = module_device(self)
        if noise is None:
            if num is None or num < 1:
                raise MgxError(f"{who} needs num ≥ 1 or noise, got num={num!r}")
            noise = torch.randn(num, self.noise_size, device=device)
        noise = noise.to(device=device, dtype=torch.float32).reshape(noise.shape[0], -1)
        if noise.shape[1] != self.noise_size or (num is not None and num != noise.shape[0]):
            raise MgxError(f"{who}: noise must be {num or 'N'}×{self.noise_size}, got {tuple(noise.shape)}")
        return noise

    @torch.no_grad()
    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None,
               labels: torch.Tensor | None = None, sample_model: str = "ema") -> torch.Tensor:
        """``num`` images N×C×H×W in [-1, 1] under the conditional inputs ``labels`` (drawn when None)."""
        return self.sampling_model(sample_model).sample(num, noise=noise, labels=labels)

    def val_labels(self, batch: dict) -> torch.Tensor | None:
        """The conditional inputs of a validation batch (None: drawn)."""
        raise NotImplementedError

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """``{'fake_img': N samples in [0, 255]}`` for the batch's size N, under its conditional inputs when it has them."""
        sized = [v for v in batch.values() if isinstance(v, torch.Tensor) and v.dim() > 0] \
            if isinstance(batch, dict) else []
        if not sized:
            raise MgxError(f"{type(self).__name__}.val_step needs a batch with a tensor to take its size from")
        labels = self.val_labels(batch)
        return {"fake_img": (self.sample(int(sized[0].shape[0]), labels=labels, sample_model="orig") + 1) * 127.5}


class BaseConditionalGAN(ConditionalSampling, nn.Module):
    GENERATOR_TYPES: tuple[str, ...] = ()
    DISCRIMINATOR_TYPES: tuple[str, ...] = ()

    def __init__(self, generator: dict, discriminator: dict | None = None, data_preprocessor: dict | None = None,
                 generator_steps: int = 1, discriminator_steps: int = 1, noise_size: int | None = None,
                 num_classes: int | None = None, ema_config: dict | None = None,
                 loss_config: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        if discriminator is None:
            raise ConfigError(f"{who}: discriminator=dict(type={self.DISCRIMINATOR_TYPES[0]!r}, ...) is needed to "
                              f"train")
        for name, value in (("generator_steps", generator_steps), ("discriminator_steps", discriminator_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{who}: {name} must be a positive int, got {value!r}")
        self.generator_steps, self.discriminator_steps = generator_steps, discriminator_steps
        self.num_classes = self._num_classes(num_classes, generator, discriminator)
        generator = dict(generator)
        if noise_size is not None:
            generator.setdefault("noise_size", noise_size)
        if self.num_classes:
            generator.setdefault("num_classes", self.num_classes)
            discriminator = {**discriminator, "num_classes": discriminator.get("num_classes", self.num_classes)}
        self._check_loss_config(loss_config)
        self.data_preprocessor = self._component(data_preprocessor or dict(type="DataPreprocessor"),
                                                 ("DataPreprocessor",), "data_preprocessor")
        self.generator = self._component(generator, self.GENERATOR_TYPES, "generator")
        self.discriminator = self._component(discriminator, self.DISCRIMINATOR_TYPES, "discriminator")
        if noise_size is not None and noise_size != self.generator.noise_size:
            raise ConfigError(f"{who}: noise_size={noise_size} but generator.noise_size={self.generator.noise_size}")
        self.noise_size = self.latent_dim = self.generator.noise_size
        self.ema_start, self.generator_ema = 0, None
        if ema_config:
            ema_config = dict(ema_config)
            self.ema_start = int(ema_config.pop("start_iter", 0))
            self.generator_ema = AveragedGenerator(self.generator, **ema_config)
        self.register_buffer("train_iter", torch.zeros((), dtype=torch.long))
        # the run's seed (set before the model is built), for the per-sample training draws
        self.register_buffer("noise_seed", torch.tensor(torch.initial_seed() % _MODULUS, dtype=torch.long))

    def _component(self, cfg: Any, types: tuple[str, ...], name: str) -> nn.Module:
        if not isinstance(cfg, dict) or cfg.get("type") not in types:
            wanted = types[0] if len(types) == 1 else f"one of {types}"
            raise ConfigError(f"{type(self).__name__}: {name} must be dict(type={wanted!r}, ...), got {cfg!r}")
        return build(cfg, "model")

    def _num_classes(self, num_classes: Any, generator: Any, discriminator: Any) -> int:
        who = type(self).__name__
        found = {name: cfg.get("num_classes") for name, cfg in (("generator", generator),
                                                                ("discriminator", discriminator))
                 if isinstance(cfg, dict) and cfg.get("num_classes") is not None}
        if num_classes is not None:
            found["num_classes"] = num_classes
        values = set(found.values())
        if len(values) > 1:
            raise ConfigError(f"{who}: num_classes differs between {found}; give one value")
        value = values.pop() if values else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{who}: num_classes must be a non-negative int, got {value!r}")
        return value

    def _check_loss_config(self, loss_config: dict | None) -> None:
        if loss_config:
            raise ConfigError(f"{type(self).__name__}: loss_config is not read by this model; remove it")

    # -- losses (subclasses) ---------------------------------------------------------------

    def disc_loss_terms(self, pred_fake: torch.Tensor, pred_real: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def gen_loss(self, pred_fake: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def generator_regularisers(self) -> dict[str, torch.Tensor]:
        """Extra generator loss terms (BigGAN's orthogonal regularisation); none by default."""
        return {}

    # -- training --------------------------------------------------------------------------

    def random_labels(self, num: int, device: torch.device) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return torch.randint(0, self.num_classes, (num,), device=device)

    def _draws(self, phase: int, keys: list[int] | None, num: int,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Noise and fake labels for ``num`` samples: from the global RNG without ``keys``, else one
        generator per sample seeded by (run seed, iteration, phase, sample index)."""
        if keys is None:
            return torch.randn(num, self.noise_size, device=device), self.random_labels(num, device)
        noise, labels = [], []
        for key in keys:
            rng = torch.Generator().manual_seed(_draw_seed(int(self.noise_seed), int(self.train_iter), phase, key))
            noise.append(torch.randn(1, self.noise_size, generator=rng))
            labels.append(torch.randint(0, max(self.num_classes, 1), (1,), generator=rng))
        fake_labels = torch.cat(labels).to(device) if self.num_classes else None
        return torch.cat(noise).to(device), fake_labels

    def _real_labels(self, batch: dict, num: int, device: torch.device) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        labels = batch.get("gt_label") if isinstance(batch, dict) else None
        if not isinstance(labels, torch.Tensor) or labels.numel() != num:
            raise MgxError(f"{type(self).__name__}.train_step needs batch['gt_label'] (one class index per image; "
                           f"the class-conditional datasets CIFAR10/ImageNet/BasicConditionalDataset give it), "
                           f"the batch has {sorted(batch) if isinstance(batch, dict) else type(batch).__name__}")
        labels = labels.reshape(-1).to(device=device, dtype=torch.long)
        if int(labels.min()) < 0 or int(labels.max()) >= self.num_classes:
            raise MgxError(f"{type(self).__name__}: gt_label values must lie in [0, {self.num_classes}), got "
                           f"{int(labels.min())}..{int(labels.max())}")
        return labels

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        device = module_device(self)
        real = self.data_preprocessor(batch_images(batch, "gt_img" if "gt_img" in batch else "inputs",
                                                   f"{type(self).__name__}.train_step", device))
        num = real.shape[0]
        real_labels = self._real_labels(batch, num, device)
        disc_optim = optim["discriminator"]
        indices = batch.get("sample_idx")
        keys = [int(v) for v in torch.as_tensor(indices).reshape(-1).tolist()] if indices is not None else None
        keys = keys if keys is not None and len(keys) == num else None
        noise, fake_labels = self._draws(_DISC_PHASE, keys, num, device)
        with disc_optim.optim_context(self.discriminator):
            with torch.no_grad():
                fake = self.generator(noise, label=fake_labels)
            pred_fake = self.discriminator(fake, label=fake_labels).float()
            pred_real = self.discriminator(real, label=real_labels).float()
            terms = self.disc_loss_terms(pred_fake, pred_real)
            loss_disc = sum(terms.values())
        disc_optim.update_params(loss_disc)
        losses = {"loss_disc": loss_disc.detach(), **{k: v.detach() for k, v in terms.items()}}
        iteration = int(self.train_iter)
        if (iteration + 1) % self.discriminator_steps == 0:
            losses.update(self._generator_phase(optim["generator"], keys, num, device))
            if self.generator_ema is not None:
                self.generator_ema.follow(_plain(self.generator), iteration + 1, self.ema_start)
        self.train_iter += 1
        return losses

    def _generator_phase(self, gen_optim, keys: list[int] | None, num: int,
                         device: torch.device) -> dict[str, torch.Tensor]:
        with frozen(self.discriminator):
            for step in range(self.generator_steps):
                noise, labels = self._draws(_GEN_PHASE + step, keys, num, device)
                with gen_optim.optim_context(self.generator):
                    fake = self.generator(noise, label=labels)
                    terms = self.gen_loss(self.discriminator(fake, label=labels).float())
                    terms.update(self.generator_regularisers())
                    loss_gen = sum(terms.values())
                gen_optim.update_params(loss_gen)
        return {name: value.detach() for name, value in terms.items()}

    # -- sampling ----------------------------------------------------------------------------

    def generate(self, generator: nn.Module, num: int | None, noise: torch.Tensor | None,
                 labels: torch.Tensor | None) -> torch.Tensor:
        """Images in [-1, 1] (RGB) from ``generator``; noise N(0, 1) and uniform labels where not given."""
        who = f"{type(self).__name__}.sample"
        device = module_device(self)
        noise = self.sampling_noise(num, noise)
        if labels is None:
            labels = self.random_labels(noise.shape[0], device)
        elif self.num_classes:
            labels = torch.as_tensor(labels, device=device).reshape(-1).long()
            if labels.numel() != noise.shape[0] or int(labels.min()) < 0 or int(labels.max()) >= self.num_classes:
                raise MgxError(f"{who}: labels must be {noise.shape[0]} class indices in [0, {self.num_classes})")
        images = self.data_preprocessor.destruct(generator(noise, label=labels))
        return (images / 127.5 - 1.0).clamp_(-1.0, 1.0)

    def val_labels(self, batch: dict) -> torch.Tensor | None:
        return batch.get("gt_label") if self.num_classes else None

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic's checkpoint keys are mgx's (its EMA is ``generator_ema.module.*`` + ``generator_ema.steps``);
        its EMA is dropped when this model has none, and made from the generator when only this model has one."""
        weights = dict(weights)
        weights.setdefault("train_iter", torch.zeros((), dtype=torch.long))  # mgx's iteration counter
        weights.setdefault("noise_seed", self.noise_seed.clone())  # and its seed of the training draws
        if self.generator_ema is None:
            return {k: v for k, v in weights.items() if not k.startswith("generator_ema.")}
        if not any(k.startswith("generator_ema.module.") for k in weights):
            for key, value in list(weights.items()):
                if key.startswith("generator."):
                    weights["generator_ema.module." + key[len("generator."):]] = value.clone()
            weights["generator_ema.steps"] = torch.zeros((), dtype=torch.long)
        return weights


__all__ = ["BaseConditionalGAN", "ConditionalSampler", "ConditionalSampling"]

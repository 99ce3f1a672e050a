"""Guided diffusion (Dhariwal & Nichol 2021, "ADM") under MMagic 1.2.0's name ``AblatedDiffusionModel``
(aliases ``ADM``, ``GuidedDiffusion``): DDIM sampling with MMagic's ``DenoisingUnet`` and, with a
``classifier``, classifier guidance — at each step the noise estimate ε is moved against the gradient
of the classifier's log p(y | x_t):  ε' = ε − √(1 − ᾱ_t) · s · ∇ₓ log p(y | x_t)  (s: ``classifier_scale``).

The DDIM update itself is diffusers' ``DDIMScheduler.step`` (η = 0, x̂₀ clipped to [−1, 1]), which is
what MMagic's ``EditDDIMScheduler`` computes; the timesteps are MMagic's (0, T/n, 2T/n, ... reversed).
A learned-variance UNet's second half of channels is not used by DDIM. Sampling only, as in MMagic
(whose ``train_step`` calls scheduler methods that do not exist): weights come from ``load_from`` or the
CHECKPOINT of ``mgx run test``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build


def _built(cfg: Any, field: str) -> Any:
    if isinstance(cfg, dict) and "type" in cfg:
        return build(cfg, "model")
    if cfg is None or isinstance(cfg, dict):
        raise ConfigError(f"AblatedDiffusionModel: {field} must be dict(type=..., ...), got {cfg!r}")
    return cfg  # an object already built (tests, scripts)


def classifier_gradient(classifier: nn.Module, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor,
                        scale: float) -> torch.Tensor:
    """scale · ∇ₓ Σᵢ log softmax(classifier(xᵢ, t))[yᵢ], with gradients on even inside inference mode."""
    with torch.inference_mode(False), torch.enable_grad():
        x_in = x.detach().clone().requires_grad_(True)
        steps = torch.full((len(x_in),), int(t), dtype=torch.long, device=x_in.device)
        log_probs = F.log_softmax(classifier(x_in, steps).float(), dim=-1)
        chosen = log_probs[torch.arange(len(log_probs), device=x_in.device), labels.clone().view(-1)]
        return torch.autograd.grad(chosen.sum(), x_in)[0] * scale


def mmagic_timesteps(num_train_timesteps: int, num_inference_steps: int) -> torch.Tensor:
    """MMagic's ``EditDDIMScheduler.set_timesteps``: arange(0, T, T // n) reversed (n + 1 steps when T is
    not a multiple of n, as there)."""
    if not 0 < num_inference_steps <= num_train_timesteps:
        raise ConfigError(f"AblatedDiffusionModel: num_inference_steps must be in 1..{num_train_timesteps}, "
                          f"got {num_inference_steps}")
    return torch.arange(0, num_train_timesteps, num_train_timesteps // num_inference_steps).flip(0)


class AblatedDiffusionModel(nn.Module):
    """MMagic's ``AblatedDiffusionModel(data_preprocessor, unet, diffusion_scheduler, use_fp16=False,
    classifier=None, classifier_scale=1.0, rgb2bgr=False, pretrained_cfgs=None)``, plus mgx's
    ``num_inference_steps`` (steps of the sample grids; default the scheduler's training steps, MMagic's
    default) and ``val_labels`` (the classes of the grids that ``mgx run test`` logs, 4 images each).
    ``use_fp16`` is accepted; the networks stay in float32 (half precision: ``--amp``)."""

    def __init__(self, unet: Any, diffusion_scheduler: Any, data_preprocessor: Any = None, use_fp16: bool = False,
                 classifier: Any = None, classifier_scale: float = 1.0, rgb2bgr: bool = False,
                 pretrained_cfgs: Any = None, num_inference_steps: int | None = None,
                 val_labels: Any = (0, 1), num_images_per_label: int = 4) -> None:
        super().__init__()
        if pretrained_cfgs:
            raise ConfigError("AblatedDiffusionModel: pretrained_cfgs is not supported; convert the weights into "
                              "one checkpoint (keys unet.*, classifier.*) and give it as load_from")
        self.data_preprocessor = _built(data_preprocessor or dict(type="DataPreprocessor"), "data_preprocessor")
        self.unet = _built(unet, "unet")
        self.diffusion_scheduler = _built(diffusion_scheduler, "diffusion_scheduler")
        self.classifier = _built(classifier, "classifier") if classifier else None
        self.classifier_scale, self.rgb2bgr = float(classifier_scale), bool(rgb2bgr)
        self.num_train_timesteps = int(self.diffusion_scheduler.config.num_train_timesteps)
        self.num_inference_steps = int(num_inference_steps or self.num_train_timesteps)
        mmagic_timesteps(self.num_train_timesteps, self.num_inference_steps)  # checked now, not at the test
        self.in_channels, self.image_size = int(self.unet.in_channels), int(self.unet.image_size)
        self.num_classes = int(getattr(self.unet, "num_classes", 0) or 0)
        self.latent_dim = self.in_channels * self.image_size ** 2  # the initial noise x_T, flattened
        self.val_labels = [int(label) for label in ([val_labels] if isinstance(val_labels, int) else val_labels or [])]
        bad = [label for label in self.val_labels if not 0 <= label < max(self.num_classes, 1)]
        if bad:
            raise ConfigError(f"AblatedDiffusionModel: val_labels {bad} are not classes of the unet "
                              f"(num_classes={self.num_classes})")
        self.num_images_per_label = int(num_images_per_label)

    def train_step(self, batch: dict, optim: Any) -> dict:
        raise MgxError("AblatedDiffusionModel samples only, as in MMagic 1.2.0: test a checkpoint with "
                       "`mgx run test CFG CHECKPOINT` (or give it as load_from)")

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None, labels: Any = None,
               num_inference_steps: int | None = None, classifier_scale: float | None = None,
               show_progress: bool = False) -> torch.Tensor:
        """N×C×H×W RGB images in [−1, 1] from ``noise`` (N × C·H·W, or N×C×H×W) or ``num`` draws of it;
        ``labels`` (int or N), else random classes. ``show_progress`` is MMagic's (mgx reports progress
        itself). The metrics' ``sample_kwargs`` arrive here."""
        if noise is None:
            noise = torch.randn(num or 1, self.latent_dim, device=self.device)
        image = noise.to(self.device).reshape(-1, self.in_channels, self.image_size, self.image_size)
        labels = self._labels(labels, len(image))
        scale = self.classifier_scale if classifier_scale is None else float(classifier_scale)
        guided = scale > 0 and self.classifier is not None
        scheduler = self.diffusion_scheduler
        steps = int(num_inference_steps or self.num_inference_steps)
        scheduler.set_timesteps(steps)
        scheduler.timesteps = mmagic_timesteps(self.num_train_timesteps, steps)
        for t in scheduler.timesteps:
            output = self.unet(image, t, label=labels)["sample"]
            eps = output[:, :self.in_channels] if output.shape[1] == 2 * self.in_channels else output
            if guided:
                beta_prod = 1 - scheduler.alphas_cumprod[int(t)].item()
                eps = eps - beta_prod ** 0.5 * classifier_gradient(self.classifier, image, t, labels, scale)
            image = scheduler.step(eps, int(t), image, eta=0.0).prev_sample
        # MMagic's rgb2bgr turns the network's RGB into its own BGR convention; mgx's images are RGB, so a
        # network that outputs RGB (rgb2bgr=True: OpenAI's) is kept, one that outputs BGR is turned to RGB
        return image if self.rgb2bgr else image[:, [2, 1, 0]]

    def _labels(self, labels: Any, count: int) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if labels is None:
            return torch.randint(0, self.num_classes, (count,), device=self.device)
        if isinstance(labels, int):
            return torch.full((count,), labels, dtype=torch.long, device=self.device)
        return torch.as_tensor(labels, device=self.device).long().view(-1)

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        """``num_images_per_label`` samples of each class of ``val_labels`` (one grid each), from noise
        drawn with ``seed``."""
        generator = torch.Generator().manual_seed(int(seed))
        grids = {}
        for label in self.val_labels or [0]:
            noise = torch.randn(self.num_images_per_label, self.latent_dim, generator=generator)
            name = f"class {label}" if self.num_classes else "unconditional"
            grids[name] = self.sample(noise=noise, labels=label if self.num_classes else None)
        return grids

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """Samples, one per item of the batch (its ``gt_label`` as the class when it has one)."""
        count = len(batch.get("sample_idx", batch.get("gt_img", [0])))
        images = self.sample(count, labels=batch.get("gt_label") if self.num_classes else None)
        return {"fake_img": (images.clamp(-1, 1) + 1) * 127.5}

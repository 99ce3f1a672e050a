"""``EG3D``: MMagic 1.2.0's EG3D model (Chan et al. 2022, efficient geometry-aware 3D GANs).

MMagic evaluates EG3D with converted official weights and trains none (its three configs set
``train_cfg = train_dataloader = optim_wrapper = None``, its model has no losses), so mgx's EG3D is for
``mgx run test CFG CHECKPOINT``: it samples images from noise and a camera, the camera drawn from
``camera`` (``GaussianCamera``/``UniformCamera``) or, for a metric with ``need_cond_input=True``,
taken from the test set's ``gt_label`` (the 25 numbers of EG3D's ``dataset.json``). ``train_step``
says so. Images come out RGB: a generator with ``rgb2bgr=True`` (the official RGB weights under
MMagic's BGR convention) is flipped back.
"""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..base_models.base_conditional_gan import ConditionalSampling
from ..common import module_device
from ..stylegan2.checkpoint import convert_mmagic_state_dict, is_mmagic_state
from ..stylegan2.ema import AveragedGenerator

CAMERA_SIZE = 25  # flattened 4×4 camera-to-world + flattened 3×3 intrinsics
SAMPLE_CHUNK = 4  # images rendered per generator call (MMagic's configs: batch_size=4)


class EG3D(ConditionalSampling, nn.Module):
    samples_at_test = True  # evaluated, never trained: `mgx run test` saves and logs its sample grid

    def __init__(self, generator: dict, discriminator: dict | None = None, camera: dict | None = None,
                 data_preprocessor: dict | None = None, generator_steps: int = 1, discriminator_steps: int = 1,
                 noise_size: int | None = None, ema_config: dict | None = None,
                 loss_config: dict | None = None) -> None:
        super().__init__()
        who = "EG3D"
        if loss_config:
            raise ConfigError(f"{who}: loss_config is not read (MMagic's EG3D has no training losses); remove it")
        generator = dict(generator)
        if noise_size is not None:
            generator.setdefault("noise_size", noise_size)
        self.data_preprocessor = build(data_preprocessor or dict(type="DataPreprocessor"), "model")
        self.generator = self._network(generator, ("TriplaneGenerator", "EG3DGenerator"), "generator")
        self.discriminator = self._network(discriminator, ("DualDiscriminator", "EG3DDiscriminator"),
                                           "discriminator") if discriminator is not None else None
        self.camera = build(camera, "model") if isinstance(camera, dict) else camera
        self.generator_steps, self.discriminator_steps = generator_steps, discriminator_steps
        self.noise_size = self.latent_dim = self.generator.noise_size
        if noise_size is not None and noise_size != self.noise_size:
            raise ConfigError(f"{who}: noise_size={noise_size} but generator.noise_size={self.noise_size}")
        self.num_classes = 0  # the condition is a camera, not a class
        self.generator_ema = AveragedGenerator(self.generator, **{k: v for k, v in ema_config.items()
                                                                  if k != "start_iter"}) if ema_config else None

    @staticmethod
    def _network(cfg, types: tuple[str, ...], name: str) -> nn.Module:
        if not isinstance(cfg, dict) or cfg.get("type") not in types:
            raise ConfigError(f"EG3D: {name} must be dict(type={types[0]!r}, ...), got {cfg!r}")
        return build(cfg, "model")

    # -- cameras -----------------------------------------------------------------------------

    def label_fn(self, label: torch.Tensor | None = None, num_batches: int = 1) -> torch.Tensor:
        """``label`` itself, else ``num_batches`` cameras (N×25) drawn from :attr:`camera`."""
        if label is not None:
            return label
        if self.camera is None:
            raise MgxError("EG3D: no camera is configured (model.camera=dict(type='GaussianCamera', ...)) and "
                           "no camera input was given")
        cam2world = self.camera.sample_camera2world(batch_size=num_batches)
        intrinsics = self.camera.sample_intrinsic(batch_size=num_batches)
        return torch.cat([cam2world.reshape(-1, 16), intrinsics.reshape(-1, 9)], dim=1).to(module_device(self))

    # -- sampling ----------------------------------------------------------------------------

    def render(self, generator: nn.Module, noise: torch.Tensor, cameras: torch.Tensor, **kwargs) -> dict:
        """The generator's outputs (``fake_img`` and ``lr_img`` RGB in [-1, 1], ``depth``, rays)."""
        outputs = dict(generator(noise, label=cameras, **kwargs))
        for key in ("fake_img", "lr_img"):
            image = outputs[key].flip(1) if generator.rgb2bgr else outputs[key]
            outputs[key] = (self.data_preprocessor.destruct(image) / 127.5 - 1.0).clamp_(-1.0, 1.0)
        return outputs

    def generate(self, generator: nn.Module, num: int | None, noise: torch.Tensor | None,
                 labels: torch.Tensor | None) -> torch.Tensor:
        """N×3×H×W RGB in [-1, 1]; noise N(0, 1) and cameras from :attr:`camera` where not given."""
        noise = self.sampling_noise(num, noise)
        cameras = self.label_fn(None if labels is None else self._cameras(labels, noise.shape[0]), noise.shape[0])
        cameras = cameras.to(noise.device)
        # a few at a time: the official 512-px model takes ~2.4 GB of GPU memory per image
        return torch.cat([self.render(generator, noise[start:start + SAMPLE_CHUNK],
                                      cameras[start:start + SAMPLE_CHUNK])["fake_img"]
                          for start in range(0, noise.shape[0], SAMPLE_CHUNK)])

    @staticmethod
    def _cameras(labels, count: int) -> torch.Tensor:
        cameras = torch.as_tensor(labels, dtype=torch.float32)
        if cameras.dim() != 2 or cameras.shape != (count, CAMERA_SIZE):
            raise MgxError(f"EG3D: the camera input must be {count}×{CAMERA_SIZE} (flattened camera-to-world and "
                           f"intrinsics, as EG3D's dataset.json labels), got {tuple(cameras.shape)}")
        return cameras

    def val_labels(self, batch: dict) -> torch.Tensor | None:
        """The batch's cameras (``gt_label``, N×25), else None (drawn from :attr:`camera`)."""
        labels = batch.get("gt_label")
        return labels if isinstance(labels, torch.Tensor) and labels.dim() == 2 else None

    def train_step(self, batch: dict, optim) -> dict:
        raise MgxError("EG3D is evaluated, not trained, as in MMagic 1.2.0 (no losses): run "
                       "`mgx run test CFG CHECKPOINT` with a converted official checkpoint")

    @torch.no_grad()
    def interpolation(self, num_images: int, num_batches: int = 4, mode: str = "both", sample_model: str = "orig",
                      show_pbar: bool = False) -> list[dict]:
        """Frames of a camera path (MMagic's ``interpolation``): 'camera' keeps w from the frontal camera,
        'conditioning' renders frontally with w of the moving camera, 'both' moves both."""
        if self.camera is None:
            raise MgxError("EG3D.interpolation needs model.camera")
        if mode.upper() not in ("BOTH", "CONDITIONING", "CAMERA"):
            raise ValueError(f"EG3D.interpolation: mode must be 'both', 'conditioning' or 'camera', got {mode!r}")
        generator = self.sampling_model(sample_model).generator
        device = module_device(self)
        intrinsics = self.camera.sample_intrinsic(batch_size=num_batches, device=device).reshape(num_batches, -1)
        frontal = torch.cat([self.camera.sample_camera2world(h_std=0, v_std=0, batch_size=num_batches,
                                                             device=device).reshape(num_batches, -1), intrinsics], 1)
        if mode.upper() == "CONDITIONING":
            path = [frontal] * num_images
        else:
            path = [torch.cat([cam.reshape(num_batches, -1), intrinsics], 1) for cam in
                    self.camera.interpolation_cam2world(num_images, batch_size=num_batches, device=device)]
        noise = torch.randn(num_batches, self.noise_size, device=device)
        if mode.upper() == "CAMERA":
            styles = [generator.backbone.mapping(noise, frontal)] * num_images
        else:
            styles = [generator.backbone.mapping(noise, cond) for cond in path]
        return [{k: v.cpu() for k, v in self.render(generator, w, cond, input_is_latent=True,
                                                     randomize_noise=False).items()}
                for w, cond in zip(styles, path)]

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic's keys (equalized-LR ``weight_orig``, ``.linear``, FIR kernels; StyleGAN2's rules,
        stylegan2/checkpoint.py) -> mgx's; an EMA copy is made from the generator when only this model has one."""
        if is_mmagic_state(weights):
            weights = convert_mmagic_state_dict(weights)
            weights.pop("train_iter", None)
            if self.generator_ema is None:
                weights = {k: v for k, v in weights.items() if not k.startswith("generator_ema.")}
        if self.generator_ema is not None and not any(k.startswith("generator_ema.module.") for k in weights):
            weights = dict(weights)
            for key, value in list(weights.items()):
                if key.startswith("generator."):
                    weights["generator_ema.module." + key[len("generator."):]] = value.clone()
            weights["generator_ema.steps"] = torch.zeros((), dtype=torch.long)
        return weights


__all__ = ["EG3D"]

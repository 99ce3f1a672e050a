"""VGG16 extractors built on torchvision's architecture: fc2 features (PR) and LPIPS-VGG (PPL).

Used when NVIDIA's VGG16 TorchScript is not wanted or not available.
Weights are state_dicts loaded with ``weights_only=True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mgx.core.errors import ConfigError

from .nvidia_torchscript import file_digest
from .weights import WeightsSpec, resolve_weights

TORCHVISION_VGG16 = WeightsSpec(
    filename="vgg16-397923af.pth", url="https://download.pytorch.org/models/vgg16-397923af.pth",
    sha256="397923af", env_var="MGX_VGG16_TORCHVISION_PATH", description="torchvision VGG16 (ImageNet)")
LPIPS_VGG_LIN = WeightsSpec(
    filename="lpips_v0.1_vgg.pth",
    url="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth",
    # the file lpips 0.1.4 (PyPI) ships as lpips/weights/v0.1/vgg.pth
    sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
    env_var="MGX_LPIPS_VGG_PATH", description="LPIPS v0.1 VGG linear layers")

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
# LPIPS' input scaling layer (inputs in [-1, 1]).
_LPIPS_SHIFT = (-0.030, -0.088, -0.188)
_LPIPS_SCALE = (0.458, 0.448, 0.450)
_LPIPS_TAPS = (4, 9, 16, 23, 30)  # ends of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in vgg16.features
_LPIPS_CHANNELS = (64, 128, 256, 512, 512)


def _load_vgg16_state(weights_path, sha256) -> tuple[dict, str]:
    path = resolve_weights(TORCHVISION_VGG16, weights_path, sha256=sha256)
    return torch.load(str(path), map_location="cpu", weights_only=True), f"sha256={file_digest(path)}"


def _vgg16(weights_path, sha256, load_weights: bool):
    import torchvision

    net = torchvision.models.vgg16(weights=None)
    identity = "random"
    if load_weights:
        state, identity = _load_vgg16_state(weights_path, sha256)
        net.load_state_dict(state)
    return net.eval(), identity


def _vgg16_convs(weights_path, sha256, load_weights: bool):
    """Only VGG16's convolutional part (LPIPS needs no classifier: skips 120M parameters)."""
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["D"], batch_norm=False)
    identity = "random"
    if load_weights:
        state, identity = _load_vgg16_state(weights_path, sha256)
        features.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
    return features.eval(), identity


class TorchvisionVGG16Features(nn.Module):
    """4096-d fc2 activations of torchvision's ImageNet VGG16 at 224 px.

    ``preprocessing='imagenet'``: bilinear resize, ImageNet mean/std, fc2 after
    its ReLU. ``'mmagic'`` (MMagic 1.2.0's fallback when NVIDIA's script is
    missing): (x − 127.5)/127.5, nearest resize, fc2 before its ReLU.
    """

    feature_dim = 4096
    input_size = 224
    PREPROCESSING = ("imagenet", "mmagic")

    def __init__(self, vgg16_path: str | None = None, sha256: str | None = None,
                 load_weights: bool = True, preprocessing: str = "imagenet") -> None:
        super().__init__()
        if preprocessing not in self.PREPROCESSING:
            raise ConfigError(f"TorchvisionVGG16Features: preprocessing must be one of {self.PREPROCESSING}, "
                              f"got {preprocessing!r}")
        self.preprocessing = preprocessing
        net, ident = _vgg16(vgg16_path, sha256, load_weights)
        self.features, self.avgpool = net.features, net.avgpool
        # fc1, relu, dropout, fc2 (, relu)
        self.head = net.classifier[:5] if preprocessing == "imagenet" else net.classifier[:4]
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1) * 255)
        if load_weights:
            suffix = "" if preprocessing == "imagenet" else f"(preprocessing={preprocessing})"
            self.identity = f"TorchvisionVGG16Features{suffix}:{ident}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.preprocessing == "mmagic":
            x = F.interpolate((images - 127.5) / 127.5, size=(224, 224), mode="nearest")
        else:
            x = F.interpolate(images, size=(224, 224), mode="bilinear", align_corners=False)
            x = (x - self.mean) / self.std
        x = self.avgpool(self.features(x))  # 7×7 at 224 px: the average pool changes nothing
        return self.head(x.flatten(1))


class LPIPSVGG(nn.Module):
    """LPIPS-VGG as an embedding: ‖e(a) − e(b)‖² equals the LPIPS distance of a and b.

    e = concat over the 5 taps of unit-normalised features × √w_lin / √(H·W),
    so the squared distance is Σ_layers mean_hw Σ_c w_c (f̂_a − f̂_b)².
    """

    def __init__(self, vgg16_path: str | None = None, lpips_path: str | None = None,
                 sha256: str | None = None, load_weights: bool = True) -> None:
        super().__init__()
        features, ident = _vgg16_convs(vgg16_path, sha256, load_weights)
        self.slices = nn.ModuleList(features[a:b] for a, b in zip((0,) + _LPIPS_TAPS[:-1], _LPIPS_TAPS))
        self.lin = nn.ParameterList(nn.Parameter(torch.ones(c), requires_grad=False) for c in _LPIPS_CHANNELS)
        self.register_buffer("shift", torch.tensor(_LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_LPIPS_SCALE).view(1, 3, 1, 1))
        if load_weights:
            path = resolve_weights(LPIPS_VGG_LIN, lpips_path)
            state = torch.load(str(path), map_location="cpu", weights_only=True)
            for i in range(len(_LPIPS_CHANNELS)):
                self.lin[i].data.copy_(state[f"lin{i}.model.1.weight"].flatten())
            self.identity = f"LPIPSVGG:{ident}:lin_sha256={file_digest(path)}"
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images / 127.5 - 1.0 - self.shift) / self.scale
        parts = []
        for block, weight in zip(self.slices, self.lin):
            x = block(x)
            unit = x / (x.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)
            scaled = unit * weight.clamp(min=0).sqrt().view(1, -1, 1, 1) / (x.shape[2] * x.shape[3]) ** 0.5
            parts.append(scaled.flatten(1))
        return torch.cat(parts, dim=1)

"""``PerceptualLoss`` (MMagic's arguments): L1/MSE between VGG features (and their Gram matrices).

The VGG weights are torchvision's ImageNet files, found and verified through
mgx's hashed download path (``mgx.plugins.feature_extractors.weights``):
``pretrained='torchvision://vgg19'`` (MMagic's default) resolves to
``$MGX_VGG19_TORCHVISION_PATH``, else ``$MGX_CACHE_DIR/weights/vgg19-dcbb9e9d.pth``,
else one download checked against its hash. A file path is used as given.
``pretrained=None`` keeps random weights (tests; not useful for training).

The frozen VGG is not part of the model's checkpoints: its weights come from
that file, so a checkpoint stays the size of the networks that train.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ...feature_extractors.weights import WeightsSpec, resolve_weights

VGG_WEIGHTS = {
    "vgg16": WeightsSpec(filename="vgg16-397923af.pth", url="https://download.pytorch.org/models/vgg16-397923af.pth",
                         sha256="397923af", env_var="MGX_VGG16_TORCHVISION_PATH",
                         description="torchvision VGG16 (ImageNet)"),
    "vgg19": WeightsSpec(filename="vgg19-dcbb9e9d.pth", url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
                         sha256="dcbb9e9d", env_var="MGX_VGG19_TORCHVISION_PATH",
                         description="torchvision VGG19 (ImageNet)"),
}
_VGG_CFG = {"vgg16": "D", "vgg19": "E"}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_weights_path(vgg_type: str, pretrained: str) -> str:
    """The local file for ``pretrained`` ('torchvision://<vgg_type>' or a path)."""
    if pretrained.startswith("torchvision://"):
        name = pretrained[len("torchvision://"):]
        if name != vgg_type:
            raise ConfigError(f"PerceptualLoss: pretrained={pretrained!r} does not match vgg_type={vgg_type!r}")
        return str(resolve_weights(VGG_WEIGHTS[vgg_type]))
    if not os.path.isfile(os.path.expanduser(pretrained)):
        raise ConfigError(f"PerceptualLoss: pretrained={pretrained!r} is neither 'torchvision://{vgg_type}' nor an "
                          f"existing file")
    return os.path.expanduser(pretrained)


class PerceptualVGG(nn.Module):
    """``vgg.features`` up to the deepest requested layer; returns {layer name: activation}."""

    def __init__(self, layer_name_list: list[str], vgg_type: str = "vgg19", use_input_norm: bool = True,
                 pretrained: str | None = "torchvision://vgg19") -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        if vgg_type not in _VGG_CFG:
            raise ConfigError(f"PerceptualLoss: vgg_type must be one of {sorted(_VGG_CFG)}, got {vgg_type!r}")
        try:
            indices = sorted({int(name) for name in layer_name_list})
        except (TypeError, ValueError):
            raise ConfigError(f"PerceptualLoss: layer names must be indices into vgg.features such as '34', "
                              f"got {layer_name_list!r}") from None
        features = make_layers(cfgs[_VGG_CFG[vgg_type]], batch_norm=False)
        if not indices or indices[0] < 0 or indices[-1] >= len(features):
            raise ConfigError(f"PerceptualLoss: {vgg_type} has layers 0..{len(features) - 1}, got {layer_name_list!r}")
        self.layer_name_list = [str(i) for i in indices]
        self.vgg_layers = features[:indices[-1] + 1]
        if pretrained is not None:
            state = torch.load(vgg_weights_path(vgg_type, pretrained), map_location="cpu", weights_only=True)
            wanted = self.vgg_layers.state_dict()
            own = {key: state[f"features.{key}"] for key in wanted if f"features.{key}" in state}
            if own.keys() != wanted.keys():
                raise ConfigError(f"PerceptualLoss: {pretrained} is not a torchvision {vgg_type} state dict "
                                  f"(missing {sorted(set(wanted) - set(own))[:4]}...)")
            self.vgg_layers.load_state_dict(own)
        self.use_input_norm = use_input_norm
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.vgg_layers.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.use_input_norm:
            x = (x - self.mean) / self.std
        output = {}
        for name, layer in self.vgg_layers.named_children():
            x = layer(x)
            if name in self.layer_name_list:
                output[name] = x.clone()  # ReLU layers work in place on the next step
        return output


def gram_matrix(x: torch.Tensor) -> torch.Tensor:
    """N×C×C Gram matrix of N×C×H×W features, divided by C·H·W."""
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    return flat.bmm(flat.transpose(1, 2)) / (c * h * w)


class PerceptualLoss(nn.Module):
    """perceptual_weight · Σ_k w_k · crit(φ_k(x), φ_k(gt)) and style_weight · Σ_k w_k · crit(G(φ_k(x)), G(φ_k(gt))).

    ``forward(x, gt)`` returns ``(perceptual, style)``, each None when its weight
    is ≤ 0. With ``norm_img=True`` inputs are taken to be in [-1, 1] and mapped to
    [0, 1] first. ``criterion`` is 'l1' or 'mse'.
    """

    def __init__(self, layer_weights: dict, layer_weights_style: dict | None = None, vgg_type: str = "vgg19",
                 use_input_norm: bool = True, perceptual_weight: float = 1.0, style_weight: float = 1.0,
                 norm_img: bool = True, pretrained: str | None = "torchvision://vgg19", criterion: str = "l1") -> None:
        super().__init__()
        if not isinstance(layer_weights, dict) or not layer_weights:
            raise ConfigError(f"PerceptualLoss: layer_weights must be a dict like {{'34': 1.0}}, got {layer_weights!r}")
        criterion = str(criterion).lower()
        if criterion not in ("l1", "mse"):
            raise ConfigError(f"PerceptualLoss: criterion must be 'l1' or 'mse', got {criterion!r}")
        self.criterion = nn.L1Loss() if criterion == "l1" else nn.MSELoss()
        self.layer_weights = {str(k): float(v) for k, v in layer_weights.items()}
        self.norm_img, self.perceptual_weight, self.style_weight = norm_img, float(perceptual_weight), float(style_weight)
        self.vgg = PerceptualVGG(list(self.layer_weights), vgg_type, use_input_norm, pretrained)
        style = {str(k): float(v) for k, v in (layer_weights_style or {}).items()}
        if style and style != self.layer_weights:
            self.layer_weights_style = style
            self.vgg_style = PerceptualVGG(list(style), vgg_type, use_input_norm, pretrained)
        else:
            self.layer_weights_style, self.vgg_style = self.layer_weights, None
        self._register_state_dict_hook(_drop_frozen_vgg)
        self._register_load_state_dict_pre_hook(_supply_frozen_vgg, with_module=True)

    def forward(self, x: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if self.norm_img:
            x, gt = (x + 1.0) * 0.5, (gt + 1.0) * 0.5
        x_features, gt_features = self.vgg(x), self.vgg(gt.detach())
        percep = None
        if self.perceptual_weight > 0:
            percep = sum(self.criterion(x_features[k], gt_features[k]) * w for k, w in self.layer_weights.items())
            percep = percep * self.perceptual_weight
        style = None
        if self.style_weight > 0:
            if self.vgg_style is not None:
                x_features, gt_features = self.vgg_style(x), self.vgg_style(gt.detach())
            style = sum(self.criterion(gram_matrix(x_features[k]), gram_matrix(gt_features[k])) * w
                        for k, w in self.layer_weights_style.items())
            style = style * self.style_weight
        return percep, style


_FROZEN = ("vgg.", "vgg_style.")


def _drop_frozen_vgg(module, state_dict, prefix, local_metadata):
    for key in [k for k in state_dict if k.startswith(tuple(prefix + p for p in _FROZEN))]:
        del state_dict[key]
    return state_dict


def _supply_frozen_vgg(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
    # checkpoints hold no VGG weights: keep the ones loaded from the weights file
    for name in ("vgg", "vgg_style"):
        part = getattr(module, name, None)
        if part is not None:
            for key, value in part.state_dict().items():
                state_dict.setdefault(f"{prefix}{name}.{key}", value)

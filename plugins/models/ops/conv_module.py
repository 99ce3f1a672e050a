"""MMCV's ``ConvModule`` layout (conv / norm / activation in a configurable order) and MMagic's
``generation_init_weights``, for the translation networks (Pix2Pix, CycleGAN).

The attributes are named as MMCV names them (``conv``, ``bn`` or ``in``, ``activate``), so the
state-dict keys of MMagic's networks are mgx's. As in MMCV, activations are in place: with
``order=('act', 'conv', 'norm')`` the activation rewrites the module's input tensor, which the
U-Net's skip connection then concatenates (the original pix2pix code does the same).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

# MMCV norm type -> (torch class, attribute name, default kwargs)
NORMS = {"BN": (nn.BatchNorm2d, "bn", {}), "BN2d": (nn.BatchNorm2d, "bn", {}), "SyncBN": (nn.BatchNorm2d, "bn", {}),
         "IN": (nn.InstanceNorm2d, "in", {}), "IN2d": (nn.InstanceNorm2d, "in", {})}
ACTIVATIONS = {"ReLU": nn.ReLU, "ReLU6": nn.ReLU6, "LeakyReLU": nn.LeakyReLU,
               "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "ELU": nn.ELU}
_INPLACE = {"ReLU", "ReLU6", "LeakyReLU", "ELU"}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


def override_settings(defaults: dict, override: Any, name: str, who: str) -> dict:
    """``defaults`` updated by the config dict ``override`` (None: the defaults), whose keys must be known."""
    settings = dict(defaults)
    if override is not None:
        if not isinstance(override, dict):
            raise ConfigError(f"{who}: {name} must be a dict, got {override!r}")
        unknown = sorted(set(override) - set(defaults))
        if unknown:
            raise ConfigError(f"{who}: {name} has unknown key(s) {unknown}; it takes {sorted(defaults)}")
        settings.update(override)
    return settings


def norm_type(norm_cfg: Any, who: str) -> str | None:
    """The MMCV norm type of ``norm_cfg`` (None for no norm), checked."""
    if norm_cfg is None:
        return None
    if not isinstance(norm_cfg, dict) or norm_cfg.get("type") not in NORMS:
        raise ConfigError(f"{who}: norm_cfg must be dict(type=...) with type one of {', '.join(NORMS)}, "
                          f"got {norm_cfg!r}")
    return norm_cfg["type"]


def _norm(norm_cfg: dict, channels: int, who: str) -> tuple[str, nn.Module]:
    norm_class, name, defaults = NORMS[norm_cfg["type"]]
    kwargs = {**defaults, **{key: value for key, value in norm_cfg.items() if key not in ("type", "requires_grad")}}
    try:
        return name, norm_class(channels, **kwargs)
    except TypeError as error:
        raise ConfigError(f"{who}: norm_cfg {norm_cfg!r}: {error}") from None


def _activation(act_cfg: Any, who: str) -> nn.Module | None:
    if act_cfg is None:
        return None
    if not isinstance(act_cfg, dict) or act_cfg.get("type") not in ACTIVATIONS:
        raise ConfigError(f"{who}: act_cfg must be None or dict(type=...) with type one of "
                          f"{', '.join(ACTIVATIONS)}, got {act_cfg!r}")
    kwargs = {key: value for key, value in act_cfg.items() if key != "type"}
    if act_cfg["type"] in _INPLACE:
        kwargs.setdefault("inplace", True)
    try:
        return ACTIVATIONS[act_cfg["type"]](**kwargs)
    except TypeError as error:
        raise ConfigError(f"{who}: act_cfg {act_cfg!r}: {error}") from None


def build_activation_layer(act_cfg: Any, who: str = "activation") -> nn.Module | None:
    """MMCV's ``build_activation_layer`` for the activations above (None for ``act_cfg=None``)."""
    return _activation(act_cfg, who)


class ConvModule(nn.Module):
    """conv (or transposed conv) + optional norm + optional activation in ``order``.

    ``bias='auto'``: a bias only without a norm (MMCV's rule). ``padding_mode`` other than
    ``'zeros'`` pads with a separate parameter-free layer, as MMCV does. Weights start as MMCV's
    ``ConvModule.init_weights`` draws them (:meth:`init_weights`). ``groups`` as torch's;
    ``with_spectral_norm`` wraps the conv in ``torch.nn.utils.spectral_norm`` (MMCV's keys
    ``conv.weight_orig``, ``conv.weight_u``, ``conv.weight_v``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool | str = "auto", *, transposed: bool = False, output_padding: int = 0,
                 norm_cfg: Any = None, act_cfg: Any = dict(type="ReLU"), padding_mode: str = "zeros",
                 order: tuple[str, str, str] = ("conv", "norm", "act"), dilation: int = 1,
                 who: str = "ConvModule", groups: int = 1, with_spectral_norm: bool = False) -> None:
        super().__init__()
        if padding_mode not in PADDING_MODES:
            raise ConfigError(f"{who}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        if sorted(order) != ["act", "conv", "norm"]:
            raise ConfigError(f"{who}: order must arrange 'conv', 'norm' and 'act', got {order!r}")
        has_norm = norm_type(norm_cfg, who) is not None
        bias = not has_norm if bias == "auto" else bool(bias)
        self.order = tuple(order)
        self.padding_layer = None
        if padding_mode != "zeros":
            pads = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "circular": None}
            if pads[padding_mode] is None:
                raise ConfigError(f"{who}: padding_mode 'circular' is not supported; use zeros/reflect/replicate")
            self.padding_layer = pads[padding_mode](padding)
            padding = 0
        if transposed:
            self.conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding,
                                           output_padding=output_padding, bias=bias, dilation=dilation, groups=groups)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, bias=bias,
                                  groups=groups)
        self.norm_name = None
        if has_norm:
            # MMCV normalises the conv's output unless the norm comes before the conv
            channels = in_channels if order.index("norm") < order.index("conv") else out_channels
            self.norm_name, norm = _norm(norm_cfg, channels, who)
            self.add_module(self.norm_name, norm)
        self.activate = _activation(act_cfg, who)
        self.init_weights()
        if with_spectral_norm:
            nn.utils.spectral_norm(self.conv)

    def init_weights(self) -> None:
        """MMCV's: conv weights Kaiming-normal (fan_out; the LeakyReLU's slope when that is the activation,
        else ReLU's gain), conv bias 0, norm scale 1 and shift 0."""
        slope = self.activate.negative_slope if isinstance(self.activate, nn.LeakyReLU) else 0.0
        nonlinearity = "leaky_relu" if isinstance(self.activate, nn.LeakyReLU) else "relu"
        weight = getattr(self.conv, "weight_orig", self.conv.weight)  # spectral norm: the raw weight
        nn.init.kaiming_normal_(weight, a=slope, mode="fan_out", nonlinearity=nonlinearity)
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        norm = getattr(self, self.norm_name) if self.norm_name else None
        if norm is not None and getattr(norm, "weight", None) is not None:
            nn.init.ones_(norm.weight)
            nn.init.zeros_(norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.order:
            if step == "conv":
                if self.padding_layer is not None:
                    x = self.padding_layer(x)
                x = self.conv(x)
            elif step == "norm" and self.norm_name is not None:
                x = getattr(self, self.norm_name)(x)
            elif step == "act" and self.activate is not None:
                x = self.activate(x)
        return x


def init_type_and_gain(init_cfg: Any, who: str) -> tuple[str, float]:
    """MMagic's ``init_cfg=dict(type='normal', gain=0.02)`` of the translation networks, checked."""
    if init_cfg is None:
        return "normal", 0.02
    if not isinstance(init_cfg, dict) or init_cfg.get("type", "normal") not in INIT_TYPES:
        raise ConfigError(f"{who}: init_cfg must be dict(type=..., gain=...) with type one of {INIT_TYPES} "
                          f"(load pretrained weights with load_from), got {init_cfg!r}")
    gain = init_cfg.get("gain", 0.02)
    if isinstance(gain, bool) or not isinstance(gain, (int, float)):
        raise ConfigError(f"{who}: init_cfg.gain must be a number, got {gain!r}")
    return init_cfg.get("type", "normal"), float(gain)


def generation_init_weights(module: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> None:
    """MMagic's init: conv/linear weights by ``init_type`` (``normal``: N(0, gain)), biases 0;
    BatchNorm scales N(1, gain), shifts 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init_type == "normal":
                nn.init.normal_(layer.weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(layer.weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in", nonlinearity="leaky_relu")
            else:
                nn.init.orthogonal_(layer.weight, gain=init_gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, init_gain)
            nn.init.zeros_(layer.bias)


__all__ = ["ConvModule", "build_activation_layer", "generation_init_weights", "init_type_and_gain", "norm_type"]

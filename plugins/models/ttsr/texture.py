"""TTSR's texture parts (MMagic's names, arguments and state-dict keys): ``LTE``, the learnable
texture extractor (VGG19's first layers), and ``SearchTransformer``, which finds for every position
of the input the most relevant reference patch (hard attention) and how relevant it is (soft
attention)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..losses.perceptual_loss import VGG_WEIGHTS
from ...feature_extractors.weights import resolve_weights

_VGG_MEAN = (0.485, 0.456, 0.406)
_VGG_STD = (0.229, 0.224, 0.225)
# vgg19.features indices of LTE's three slices: conv1_1+relu, conv1_2..relu2_1, conv2_2..relu3_1
_SLICES = (range(0, 2), range(2, 7), range(7, 12))


class ImgNormalize(nn.Conv2d):
    """(x - pixel_range · mean) / std per channel as a fixed 1×1 convolution (MMagic's ``ImgNormalize``:
    its weight and bias are in the state dict, and take no gradient)."""

    def __init__(self, pixel_range: float, img_mean: Sequence[float], img_std: Sequence[float],
                 sign: int = -1) -> None:
        if len(img_mean) != len(img_std):
            raise ConfigError(f"ImgNormalize: img_mean {img_mean} and img_std {img_std} differ in length")
        channels = len(img_mean)
        super().__init__(channels, channels, kernel_size=1)
        std = torch.tensor(img_std, dtype=torch.float32)
        self.weight.data = torch.eye(channels).view(channels, channels, 1, 1) / std.view(channels, 1, 1, 1)
        self.bias.data = sign * pixel_range * torch.tensor(img_mean, dtype=torch.float32) / std
        self.weight.requires_grad = False
        self.bias.requires_grad = False


class LTE(nn.Module):
    """Features of an image in [0, pixel_range] at three levels: [relu3_1 (N×256×h/4×w/4),
    relu2_1 (N×128×h/2×w/2), relu1_1 (N×64×h×w)].

    ``load_pretrained_vgg=True`` starts from torchvision's ImageNet VGG19 (found or fetched as
    ``PerceptualLoss``'s: ``$MGX_VGG19_TORCHVISION_PATH``, the cache, or one checked download);
    ``False`` leaves it random (a trained TTSR checkpoint brings its own LTE).
    """

    def __init__(self, requires_grad: bool = True, pixel_range: float = 1.0, load_pretrained_vgg: bool = True,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        self.img_normalize = ImgNormalize(pixel_range, _VGG_MEAN, tuple(s * pixel_range for s in _VGG_STD))
        features = make_layers(cfgs["E"][:7], batch_norm=False)  # vgg19.features[:12], up to relu3_1
        if load_pretrained_vgg:
            state = torch.load(resolve_weights(VGG_WEIGHTS["vgg19"]), map_location="cpu", weights_only=True)
            wanted = features.state_dict()
            try:
                features.load_state_dict({key: state[f"features.{key}"] for key in wanted})
            except (KeyError, RuntimeError) as exc:
                raise ConfigError(f"LTE: {resolve_weights(VGG_WEIGHTS['vgg19'])} is not torchvision's VGG19 state "
                                  f"dict ({type(exc).__name__}: {str(exc)[:120]})") from None
        for index, indices in enumerate(_SLICES, start=1):
            part = nn.Sequential()
            for i in indices:
                part.add_module(str(i), features[i])
            setattr(self, f"slice{index}", part)
        if not requires_grad:
            for part in (self.slice1, self.slice2, self.slice3):
                part.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        level1 = self.slice1(self.img_normalize(x))
        level2 = self.slice2(level1)
        level3 = self.slice3(level2)
        return [level3, level2, level1]


class SearchTransformer(nn.Module):
    """Relevance of every 3×3 patch of the input's features (query) to every 3×3 patch of the
    reference's (key) by cosine similarity; for each query position, the reference's most relevant
    patch is copied from every level of the reference's features (values at ×1, ×2, ×4, patches
    3·2^i wide, overlapping ones averaged by the /9) and its relevance is the soft attention."""

    @staticmethod
    def gather(inputs: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
        """``inputs`` (N×C·k·k×L) at ``index`` (N×L') along ``dim`` (hard attention)."""
        views = [inputs.size(0)] + [1 if i != dim else -1 for i in range(1, inputs.ndim)]
        expansion = [-1 if i in (0, dim) else size for i, size in enumerate(inputs.size())]
        return torch.gather(inputs, dim, index.view(views).expand(expansion))

    def forward(self, img_lq: torch.Tensor, ref_lq: torch.Tensor,
                refs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``img_lq`` / ``ref_lq``: the coarsest features of the upsampled input and of the
        down-up-sampled reference; ``refs``: the reference's features, coarsest first.
        Returns (soft attention N×1×h×w, textures at each level of ``refs``)."""
        query = F.normalize(F.unfold(img_lq, kernel_size=3, padding=1), dim=1)  # N × C·9 × h·w
        key = F.normalize(F.unfold(ref_lq, kernel_size=3, padding=1).permute(0, 2, 1), dim=2)  # N × H·W × C·9
        relevance = torch.bmm(key, query)  # N × H·W × h·w
        best, best_index = torch.max(relevance, dim=1)
        height, width = img_lq.shape[-2:]
        textures = []
        for level, ref in enumerate(refs):
            step = 2 ** level
            values = F.unfold(ref, kernel_size=3 * step, padding=step, stride=step)
            picked = self.gather(values, 2, best_index)
            textures.append(F.fold(picked, output_size=(height * step, width * step), kernel_size=3 * step,
                                   padding=step, stride=step) / 9.0)
        return best.view(best.size(0), 1, height, width), textures

"""LIIF's generators (Chen et al. 2021) under MMagic 1.2.0's names, arguments and state-dict keys.

An encoder turns the low-resolution image into a latent code per pixel; the
RGB value at any continuous coordinate in [-1, 1]² is the MLP (``imnet``) of
the nearest code (3×3-unfolded with ``feat_unfold``), the query's offset to that
code's pixel centre (in latent pixels) and, with ``cell_decode``, the query
cell's size. ``local_ensemble`` blends the four surrounding codes, each
weighted by the area of the rectangle spanned by the query and the diagonally
opposite code. The encoder's layers sit on the generator itself (MMagic moves
them there, so its checkpoints have e.g. ``generator.body.0.conv1.weight``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..rdn.rdn_net import dense_features

_EPS_SHIFT = 1e-6  # nudges queries on a cell border to one side, as LIIF does


def pixel_centres(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """2×H×W (row, col) pixel-centre coordinates in [-1, 1] of an H×W grid."""
    rows = -1 + (2 * torch.arange(height, device=device, dtype=dtype) + 1) / height
    cols = -1 + (2 * torch.arange(width, device=device, dtype=dtype) + 1) / width
    return torch.stack(torch.meshgrid(rows, cols, indexing="ij"), 0)


def _nearest(grid: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """N×C×H×W sampled at N×Q×2 (row, col) coords, nearest pixel: N×Q×C."""
    sampled = F.grid_sample(grid, coord.flip(-1).unsqueeze(1), mode="nearest", align_corners=False)
    return sampled[:, :, 0, :].permute(0, 2, 1)


class LIIFNet(nn.Module):
    """The shared query part; subclasses take their layers from the built encoder and define ``gen_feature``."""

    def __init__(self, encoder: dict, imnet: dict, local_ensemble: bool = True, feat_unfold: bool = True,
                 cell_decode: bool = True, eval_bsize: int | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        for name, value in (("encoder", encoder), ("imnet", imnet)):
            if not isinstance(value, dict) or "type" not in value:
                raise ConfigError(f"{who}: {name} must be dict(type=...), got {value!r}")
        if eval_bsize is not None and (isinstance(eval_bsize, bool) or not isinstance(eval_bsize, int)
                                       or eval_bsize < 1):
            raise ConfigError(f"{who}: eval_bsize must be None or a positive int, got {eval_bsize!r}")
        self.local_ensemble, self.feat_unfold, self.cell_decode = local_ensemble, feat_unfold, cell_decode
        self.eval_bsize = eval_bsize
        encoder_net = build(encoder, "model")
        channels = self.take_encoder(encoder_net)
        in_dim = channels * (9 if feat_unfold else 1) + 2 + (2 if cell_decode else 0)
        self.imnet = build({**imnet, "in_dim": in_dim}, "model")

    def take_encoder(self, encoder: nn.Module) -> int:
        """Keep the encoder's feature layers as own attributes; return the feature channels."""
        raise NotImplementedError

    def gen_feature(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor, test_mode: bool = False):
        """N×C×h×w image, N×Q×2 coords and cells -> N×Q×out_dim predictions."""
        feature = self.gen_feature(x)
        if self.eval_bsize is None or not test_mode:
            return self.query_rgb(feature, coord, cell)
        with torch.no_grad():
            return torch.cat([self.query_rgb(feature, coord[:, start:start + self.eval_bsize],
                                             cell[:, start:start + self.eval_bsize])
                              for start in range(0, coord.shape[1], self.eval_bsize)], dim=1)

    def query_rgb(self, feature: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor | None = None):
        height, width = feature.shape[-2:]
        if self.feat_unfold:
            feature = F.unfold(feature, 3, padding=1).view(feature.shape[0], -1, height, width)
        shifts = [(-1, -1), (-1, 1), (1, -1), (1, 1)] if self.local_ensemble else [(0, 0)]
        eps = _EPS_SHIFT if self.local_ensemble else 0.0
        centres = pixel_centres(height, width, coord.device, coord.dtype)
        centres = centres.unsqueeze(0).expand(feature.shape[0], 2, height, width)
        scale = coord.new_tensor([height, width])
        preds, areas = [], []
        for d_row, d_col in shifts:
            shifted = coord + coord.new_tensor([d_row / height + eps, d_col / width + eps])
            shifted = shifted.clamp(-1 + 1e-6, 1 - 1e-6)
            code = _nearest(feature, shifted.to(feature.dtype))
            rel_coord = (coord - _nearest(centres, shifted)) * scale
            parts = [code, rel_coord.to(code.dtype)]
            if self.cell_decode:
                parts.append((cell * scale).to(code.dtype))
            preds.append(self.imnet(torch.cat(parts, dim=-1)))
            areas.append((rel_coord[..., 0] * rel_coord[..., 1]).abs() + 1e-9)
        total = torch.stack(areas).sum(0)
        if self.local_ensemble:  # each code is weighted by the area facing it
            areas = areas[::-1]
        return sum(pred * (area / total).unsqueeze(-1) for pred, area in zip(preds, areas))


class LIIFEDSRNet(LIIFNet):
    """LIIF with an ``EDSRNet`` encoder (its conv_first, body and conv_after_body, with the global skip)."""

    def take_encoder(self, encoder: nn.Module) -> int:
        for name in ("conv_first", "body", "conv_after_body"):
            if not hasattr(encoder, name):
                raise ConfigError(f"LIIFEDSRNet: the encoder must be dict(type='EDSRNet', ...); "
                                  f"{type(encoder).__name__} has no {name}")
        self.conv_first, self.body, self.conv_after_body = encoder.conv_first, encoder.body, encoder.conv_after_body
        return self.conv_after_body.out_channels

    def gen_feature(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        return feat + self.conv_after_body(self.body(feat))


class LIIFRDNNet(LIIFNet):
    """LIIF with an ``RDNNet`` encoder (everything before its upsampling)."""

    def take_encoder(self, encoder: nn.Module) -> int:
        for name in ("sfe1", "sfe2", "rdbs", "gff"):
            if not hasattr(encoder, name):
                raise ConfigError(f"LIIFRDNNet: the encoder must be dict(type='RDNNet', ...); "
                                  f"{type(encoder).__name__} has no {name}")
        self.sfe1, self.sfe2, self.rdbs, self.gff = encoder.sfe1, encoder.sfe2, encoder.rdbs, encoder.gff
        return self.gff[-1].out_channels

    def gen_feature(self, x: torch.Tensor) -> torch.Tensor:
        return dense_features(self, x)

"""``BasicVSRPlusPlusNet`` (Chan et al. 2022) under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..basicvsr.basicvsr_net import UpsampleHead, bidirectional_flows
from ..ops.flow import SPyNet, flow_warp
from ..ops.sr_layers import ResidualBlocksWithInputConv
from .alignment import SecondOrderDeformableAlignment

BRANCHES = ("backward_1", "forward_1", "backward_2", "forward_2")


class BasicVSRPlusPlusNet(UpsampleHead):
    """Second-order grid propagation (four branches: backward, forward, backward, forward) with
    flow-guided deformable alignment; ×4 output, or same-size output with ``is_low_res_input=False``
    (the input is then downsampled ×4 inside, for restoration such as NTIRE decompression).

    ``forward(lqs)``: N×T×3×H×W in [0, 1]. ``cpu_cache_length``: on CUDA, clips longer than this keep the
    per-frame features in host memory (MMagic's memory bound for long clips). MMagic requires the
    (downsampled) input to be at least 64×64; mgx runs smaller inputs (its tests use tiny frames).
    """

    def __init__(self, mid_channels: int = 64, num_blocks: int = 7, max_residue_magnitude: float = 10,
                 is_low_res_input: bool = True, spynet_pretrained: str | None = None,
                 cpu_cache_length: int = 100) -> None:
        super().__init__(mid_channels)
        if mid_channels % 8:
            raise ConfigError(f"BasicVSRPlusPlusNet: mid_channels must be a multiple of 8 (16 deformable groups "
                              f"over 2·mid_channels), got {mid_channels!r}")
        self.mid_channels, self.is_low_res_input = mid_channels, bool(is_low_res_input)
        self.cpu_cache_length, self.cpu_cache = cpu_cache_length, False
        self.spynet = SPyNet(pretrained=spynet_pretrained)
        if self.is_low_res_input:
            self.feat_extract = ResidualBlocksWithInputConv(3, mid_channels, 5)
        else:
            self.feat_extract = nn.Sequential(
                nn.Conv2d(3, mid_channels, 3, 2, 1), nn.LeakyReLU(negative_slope=0.1, inplace=True),
                nn.Conv2d(mid_channels, mid_channels, 3, 2, 1), nn.LeakyReLU(negative_slope=0.1, inplace=True),
                ResidualBlocksWithInputConv(mid_channels, mid_channels, 5))
        self.deform_align = nn.ModuleDict()
        self.backbone = nn.ModuleDict()
        for index, branch in enumerate(BRANCHES):
            self.deform_align[branch] = SecondOrderDeformableAlignment(
                2 * mid_channels, mid_channels, 3, padding=1, deform_groups=16,
                max_residue_magnitude=max_residue_magnitude)
            self.backbone[branch] = ResidualBlocksWithInputConv((2 + index) * mid_channels, mid_channels, num_blocks)
        self.reconstruction = ResidualBlocksWithInputConv(5 * mid_channels, mid_channels, 5)

    def _device(self, tensor: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return tensor.to(like.device) if self.cpu_cache else tensor

    def _cache(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.cpu() if self.cpu_cache else tensor

    def _align(self, feats: dict, flows: torch.Tensor, branch: str, step: int, flow_idx: list[int],
               feat_prop: torch.Tensor, feat_current: torch.Tensor) -> torch.Tensor:
        """The propagated feature aligned to the current frame from the previous (and second previous) ones."""
        flow_n1 = self._device(flows[:, flow_idx[step]], feat_prop)
        cond_n1 = flow_warp(feat_prop, flow_n1.permute(0, 2, 3, 1))
        feat_n2, flow_n2, cond_n2 = torch.zeros_like(feat_prop), torch.zeros_like(flow_n1), torch.zeros_like(cond_n1)
        if step > 1:  # second order: the feature two steps back, along the composed flow
            feat_n2 = self._device(feats[branch][-2], feat_prop)
            flow_n2 = self._device(flows[:, flow_idx[step - 1]], feat_prop)
            flow_n2 = flow_n1 + flow_warp(flow_n2, flow_n1.permute(0, 2, 3, 1))
            cond_n2 = flow_warp(feat_n2, flow_n2.permute(0, 2, 3, 1))
        cond = torch.cat([cond_n1, feat_current, cond_n2], dim=1)
        return self.deform_align[branch](torch.cat([feat_prop, feat_n2], dim=1), cond, flow_n1, flow_n2)

    def propagate(self, feats: dict, flows: torch.Tensor, branch: str, like: torch.Tensor) -> dict:
        """Run one propagation branch over the clip; ``feats[branch]`` gets one feature per frame."""
        n, t, _, h, w = flows.shape
        frame_idx, flow_idx = list(range(t + 1)), list(range(-1, t))
        mapping_idx = list(range(len(feats["spatial"])))
        mapping_idx += mapping_idx[::-1]
        if "backward" in branch:
            frame_idx = frame_idx[::-1]
            flow_idx = frame_idx
        feat_prop = like.new_zeros(n, self.mid_channels, h, w)
        for step, idx in enumerate(frame_idx):
            feat_current = self._device(feats["spatial"][mapping_idx[idx]], like)
            if step > 0:
                feat_prop = self._align(feats, flows, branch, step, flow_idx, feat_prop, feat_current)
            earlier = [feats[k][idx] for k in feats if k not in ("spatial", branch)]
            feat = torch.cat([self._device(f, like) for f in [feat_current, *earlier, feat_prop]], dim=1)
            feat_prop = feat_prop + self.backbone[branch](feat)
            feats[branch].append(self._cache(feat_prop))
        if "backward" in branch:
            feats[branch] = feats[branch][::-1]
        return feats

    def upsample(self, lqs: torch.Tensor, feats: dict) -> torch.Tensor:
        outputs = []
        mapping_idx = list(range(len(feats["spatial"])))
        mapping_idx += mapping_idx[::-1]
        for i in range(lqs.size(1)):
            parts = [feats["spatial"][mapping_idx[i]]] + [feats[k].pop(0) for k in feats if k != "spatial"]
            hr = self.reconstruction(torch.cat([self._device(p, lqs) for p in parts], dim=1))
            hr = self.reconstruct(hr)
            hr = hr + (self.img_upsample(lqs[:, i]) if self.is_low_res_input else lqs[:, i])
            outputs.append(self._cache(hr))
        return torch.stack(outputs, dim=1)

    def forward(self, lqs: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = lqs.shape
        self.cpu_cache = t > self.cpu_cache_length and lqs.is_cuda
        if self.is_low_res_input:
            lqs_downsample = lqs
        else:
            if h % 4 or w % 4:
                raise ValueError(f"BasicVSRPlusPlusNet(is_low_res_input=False): H and W ({h}×{w}) must be "
                                 "multiples of 4")
            lqs_downsample = F.interpolate(lqs.reshape(-1, c, h, w), scale_factor=0.25,
                                           mode="bicubic").view(n, t, c, h // 4, w // 4)
        feats: dict[str, list[torch.Tensor]] = {}
        if self.cpu_cache:
            feats["spatial"] = [self.feat_extract(lqs[:, i]).cpu() for i in range(t)]
        else:
            spatial = self.feat_extract(lqs.reshape(-1, c, h, w))
            spatial = spatial.view(n, t, -1, *spatial.shape[2:])
            feats["spatial"] = [spatial[:, i] for i in range(t)]
        flows_forward, flows_backward = bidirectional_flows(self.spynet, lqs_downsample)
        if self.cpu_cache:
            flows_backward = flows_backward.cpu()
            flows_forward = None if flows_forward is None else flows_forward.cpu()
        for iteration in (1, 2):
            for direction in ("backward", "forward"):
                branch = f"{direction}_{iteration}"
                feats[branch] = []
                if direction == "backward":
                    flows = flows_backward
                else:
                    flows = flows_forward if flows_forward is not None else flows_backward.flip(1)
                feats = self.propagate(feats, flows, branch, lqs)
        return self.upsample(lqs, feats)

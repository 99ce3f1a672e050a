"""StyleGAN3's mapping and synthesis networks under MMagic 1.2.0's module and buffer names
(``MappingNetwork``, ``SynthesisInput``, ``SynthesisLayer``, ``SynthesisNetwork``), so its
checkpoints load key for key. Equalized learning rate: weights drawn N(0, 1), scaled at run time.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .ops import design_lowpass_filter, filtered_lrelu, modulated_conv2d


class FullyConnectedLayer(nn.Module):
    def __init__(self, in_features: int, out_features: int, activation: str = "linear", bias: bool = True,
                 lr_multiplier: float = 1.0, weight_init: float = 1.0, bias_init=0.0) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (weight_init / lr_multiplier))
        initial = np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features])
        self.bias = nn.Parameter(torch.from_numpy(initial / lr_multiplier)) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype) * self.bias_gain
        x = F.linear(x, self.weight.to(x.dtype) * self.weight_gain, bias)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.activation == "lrelu" else x


class MappingNetwork(nn.Module):
    """z (pixel-normalised) → w, repeated ``num_ws`` times; ``w_avg`` tracks mean w for truncation."""

    def __init__(self, noise_size: int, style_channels: int, num_ws: int | None, cond_size: int = 0,
                 num_layers: int = 2, lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.998) -> None:
        super().__init__()
        self.noise_size, self.cond_size, self.style_channels = noise_size, cond_size, style_channels
        self.num_ws, self.num_layers, self.w_avg_beta = num_ws, num_layers, w_avg_beta
        if cond_size:
            self.embed = FullyConnectedLayer(cond_size, style_channels)
        features = [noise_size + (style_channels if cond_size else 0)] + [style_channels] * num_layers
        for index, (fan_in, fan_out) in enumerate(zip(features[:-1], features[1:])):
            setattr(self, f"fc{index}", FullyConnectedLayer(fan_in, fan_out, activation="lrelu",
                                                            lr_multiplier=lr_multiplier))
        if w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(style_channels))

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None, truncation: float = 1.0,
                num_truncation_layer: int | None = None, update_emas: bool = False) -> torch.Tensor:
        x = None
        if self.noise_size:  # 0: a mapping of the label alone (EG3D's DualDiscriminator)
            x = z.to(torch.float32)
            x = x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        if self.cond_size:
            y = self.embed(label.to(torch.float32))
            y = y * (y.square().mean(1, keepdim=True) + 1e-8).rsqrt()
            x = y if x is None else torch.cat([x, y], dim=1)
        for index in range(self.num_layers):
            x = getattr(self, f"fc{index}")(x)
        if update_emas and self.w_avg_beta is not None:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation != 1:
            layers = self.num_ws if num_truncation_layer is None else num_truncation_layer
            x = torch.cat([self.w_avg.lerp(x[:, :layers], truncation), x[:, layers:]], dim=1)
        return x


class SynthesisInput(nn.Module):
    """Fourier features: ``channels`` sinusoids of random direction, band-limited to ``bandwidth``,
    placed by a per-sample rotation/translation from w and the user ``transform`` (output → input
    coordinates, the hook Equivariance turns)."""

    def __init__(self, style_channels: int, channels: int, size, sampling_rate: float, bandwidth: float) -> None:
        super().__init__()
        self.channels = channels
        self.size = np.broadcast_to(np.asarray(size), [2])
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = FullyConnectedLayer(style_channels, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand(channels) - 0.5)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        batch, eye = w.shape[0], torch.eye(3, device=w.device)
        rotation = eye.repeat(batch, 1, 1)
        rotation[:, 0, 0], rotation[:, 0, 1], rotation[:, 1, 0], rotation[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        translation = eye.repeat(batch, 1, 1)
        translation[:, 0, 2], translation[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = rotation @ translation @ self.transform.unsqueeze(0)
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) /
                      (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        width, height = int(self.size[0]), int(self.size[1])
        xs = (torch.arange(width, device=w.device) + 0.5 - width / 2) / self.sampling_rate
        ys = (torch.arange(height, device=w.device) + 0.5 - height / 2) / self.sampling_rate
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # H×W×2, (x, y)
        x = torch.einsum("hwk,nck->nhwc", grid, freqs) + phases[:, None, None, :]
        x = torch.sin(x * (2 * math.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated conv → filtered leaky ReLU (or, for ToRGB, a linear 1×1 modulated conv + bias)."""

    def __init__(self, style_channels: int, is_torgb: bool, is_critically_sampled: bool, use_fp16: bool,
                 in_channels: int, out_channels: int, in_size: int, out_size: int, in_sampling_rate: int,
                 out_sampling_rate: int, in_cutoff: float, out_cutoff: float, in_half_width: float,
                 out_half_width: float, conv_kernel: int = 3, filter_size: int = 6, lrelu_upsampling: int = 2,
                 use_radial_filters: bool = False, conv_clamp: float | None = 256,
                 magnitude_ema_beta: float = 0.999) -> None:
        super().__init__()
        self.is_torgb, self.is_critically_sampled, self.use_fp16 = is_torgb, is_critically_sampled, use_fp16
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size = np.broadcast_to(np.asarray(in_size), [2])
        self.out_size = np.broadcast_to(np.asarray(out_size), [2])
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        self.affine = FullyConnectedLayer(style_channels, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, self.conv_kernel, self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.up_factor = int(np.rint(self.tmp_sampling_rate / in_sampling_rate))
        self.down_factor = int(np.rint(self.tmp_sampling_rate / out_sampling_rate))
        if in_sampling_rate * self.up_factor != self.tmp_sampling_rate or \
                out_sampling_rate * self.down_factor != self.tmp_sampling_rate:
            raise ValueError("SynthesisLayer: sampling rates must divide the intermediate rate "
                             f"{self.tmp_sampling_rate} (got {in_sampling_rate}, {out_sampling_rate})")
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(
            self.up_taps, in_cutoff, in_half_width * 2, self.tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass_filter(
            self.down_taps, out_cutoff, out_half_width * 2, self.tmp_sampling_rate,
            radial=use_radial_filters and not is_critically_sampled))
        # total padding so that (in + k − 1)·up + pad − taps + 1, downsampled, gives out_size
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total = pad_total - (self.in_size + self.conv_kernel - 1) * self.up_factor
        pad_total = pad_total + self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = (int(pad_lo[0]), int(pad_hi[0]), int(pad_lo[1]), int(pad_hi[1]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, force_fp32: bool = True,
                update_emas: bool = False) -> torch.Tensor:
        if update_emas:
            current = x.detach().to(torch.float32).square().mean()
            self.magnitude_ema.copy_(current.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel ** 2)
        x = modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
                             input_gain=self.magnitude_ema.rsqrt())
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, self.up_factor, self.down_factor,
                              self.padding, gain=1 if self.is_torgb else math.sqrt(2),
                              slope=1 if self.is_torgb else 0.2, clamp=self.conv_clamp)


class SynthesisNetwork(nn.Module):
    """Fourier input and ``num_layers`` + 1 layers whose cutoffs rise geometrically from
    ``first_cutoff`` to out_size/2 (the last ``num_critical`` critically sampled)."""

    def __init__(self, style_channels: int, out_size: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2,
                 first_stopband: float = 2 ** 2.1, last_stopband_rel: float = 2 ** 0.3, margin_size: int = 10,
                 output_scale: float = 0.25, num_fp16_res: int = 4, **layer_kwargs) -> None:
        super().__init__()
        self.num_ws = num_layers + 2
        self.out_size, self.img_channels, self.output_scale = out_size, img_channels, output_scale
        last_cutoff = out_size / 2
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_cutoff * last_stopband_rel / first_stopband) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, out_size))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + margin_size * 2
        sizes[-2:] = out_size
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels
        self.input = SynthesisInput(style_channels, int(channels[0]), int(sizes[0]), sampling_rates[0], cutoffs[0])
        self.layer_names = []
        for index in range(num_layers + 1):
            prev = max(index - 1, 0)
            layer = SynthesisLayer(
                style_channels, is_torgb=index == num_layers, is_critically_sampled=index >= num_layers - num_critical,
                use_fp16=bool(sampling_rates[index] * 2 ** num_fp16_res > out_size),
                in_channels=int(channels[prev]), out_channels=int(channels[index]), in_size=int(sizes[prev]),
                out_size=int(sizes[index]), in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[index]), in_cutoff=cutoffs[prev], out_cutoff=cutoffs[index],
                in_half_width=half_widths[prev], out_half_width=half_widths[index], **layer_kwargs)
            name = f"L{index}_{layer.out_size[0]}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, update_emas: bool = False, force_fp32: bool = True) -> torch.Tensor:
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, update_emas=update_emas)
        return (x * self.output_scale if self.output_scale != 1 else x).to(torch.float32)

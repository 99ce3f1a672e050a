"""NVIDIA's TorchScript metric networks (StyleGAN2-ADA/StyleGAN3 metrics): Inception-v3 and VGG16.

Both take uint8-range images and resize internally; both files come from
nvlabs-fi-cdn and are loaded with ``torch.jit.load`` (TorchScript archive, no
pickled Python objects).
"""
from __future__ import annotations

import functools

import torch

from .base import to_uint8_range
from .weights import WeightsSpec, resolve_weights, sha256_of

_CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics"

STYLEGAN_INCEPTION = WeightsSpec(
    filename="inception-2015-12-05.pt", url=f"{_CDN}/inception-2015-12-05.pt",
    env_var="MGX_INCEPTION_STYLEGAN_PATH", description="StyleGAN TorchScript Inception-v3")
NVIDIA_VGG16 = WeightsSpec(
    filename="vgg16.pt", url=f"{_CDN}/vgg16.pt",
    env_var="MGX_VGG16_SCRIPT_PATH", description="NVIDIA TorchScript VGG16")


@functools.lru_cache(maxsize=8)
def _cached_digest(path: str, mtime_ns: int, size: int) -> str:
    return sha256_of(path)


def file_digest(path) -> str:
    """sha256 of a file, memoised on (path, mtime, size): weights are hashed once per process."""
    stat = path.stat()
    return _cached_digest(str(path), stat.st_mtime_ns, stat.st_size)


class StyleGANInception(torch.nn.Module):
    """Inception-v3 of TF 2015-12-05 as TorchScript: 2048-d pool features, 1008-way probabilities."""

    input_size = 299
    feature_dim = 2048
    uint8_input = True  # forward rounds [0, 255] floats to uint8 (metrics' convention='mmagic' truncates first)

    def __init__(self, inception_path: str | None = None, sha256: str | None = None) -> None:
        super().__init__()
        path = resolve_weights(STYLEGAN_INCEPTION, inception_path, sha256=sha256)
        self.net = torch.jit.load(str(path), map_location="cpu").eval()
        self.identity = f"StyleGANInception:sha256={file_digest(path)}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(to_uint8_range(images), return_features=True)

    def class_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        # StyleGAN's IS evaluates the softmax without the output bias (as the TF original did).
        return self.net(to_uint8_range(images), no_output_bias=True)


class NvidiaVGG16(torch.nn.Module):
    """NVIDIA's VGG16 TorchScript: 4096-d fc2 features (PR) or LPIPS embeddings (PPL)."""

    feature_dim = 4096

    def __init__(self, vgg16_script: str | None = None, sha256: str | None = None, lpips: bool = False) -> None:
        super().__init__()
        path = resolve_weights(NVIDIA_VGG16, vgg16_script, sha256=sha256)
        self.net = torch.jit.load(str(path), map_location="cpu").eval()
        self.lpips = lpips
        self.uint8_input = not lpips  # fc2 features take uint8; the LPIPS embedding takes floats
        self.identity = f"NvidiaVGG16(lpips={lpips}):sha256={file_digest(path)}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.lpips:
            # Squared distance between two embeddings is the LPIPS distance.
            return self.net(images, resize_images=False, return_lpips=True)
        return self.net(to_uint8_range(images), return_features=True)

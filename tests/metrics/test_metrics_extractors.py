"""Feature extractors: weight loading paths, input conventions, the LPIPS embedding identity."""
from __future__ import annotations

import pytest
import torch

from mgx.plugins.feature_extractors import LPIPSVGG, FIDInceptionV3, StyleGANInception
from mgx.plugins.feature_extractors.base import to_uint8_range
from mgx.plugins.feature_extractors.weights import sha256_of


class _FakeNvidiaInception(torch.nn.Module):
    """Same call signature as NVIDIA's TorchScript detector; records what it was fed."""

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False):
        assert x.dtype == torch.uint8
        flat = x.float().mean(dim=(2, 3))
        if return_features:
            return flat.repeat(1, 4)
        return torch.softmax(flat, dim=1)


def test_stylegan_inception_loads_torchscript_and_feeds_uint8(tmp_path, monkeypatch):
    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.save(torch.jit.script(_FakeNvidiaInception()), str(path))
    monkeypatch.setenv("MGX_INCEPTION_STYLEGAN_PATH", str(path))
    net = StyleGANInception()
    images = torch.tensor([[[[0.4, 254.6]]]]).expand(1, 3, 1, 2).contiguous()
    assert net(images).shape == (1, 12)
    assert torch.equal(to_uint8_range(images)[0, 0, 0], torch.tensor([0, 255], dtype=torch.uint8))
    assert net.identity == f"StyleGANInception:sha256={sha256_of(path)}"


@pytest.mark.timeout(120)
def test_fid_inception_loads_a_pytorch_fid_state_dict(tmp_path):
    import torchvision

    # pytorch-fid builds torchvision's inception_v3(num_classes=1008, aux_logits=False) and loads the file
    # into it: the same keys and shapes must load into mgx's FID blocks.
    donor = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    path = tmp_path / "pt_inception.pth"
    torch.save(donor.state_dict(), path)
    net = FIDInceptionV3(inception_path=str(path))
    assert torch.equal(net.fc.weight, donor.fc.weight)
    assert net.identity.endswith(sha256_of(path))
    with torch.inference_mode():
        probs = net.class_probabilities(torch.rand(1, 3, 40, 40) * 255)
    assert probs.shape == (1, 1008) and torch.allclose(probs.sum(1), torch.ones(1))


def test_lpips_embedding_distance_equals_the_lpips_formula():
    torch.manual_seed(0)
    net = LPIPSVGG(load_weights=False)
    for weight in net.lin:
        weight.data.uniform_(0, 1)
    a, b = torch.rand(2, 3, 32, 32) * 255, torch.rand(2, 3, 32, 32) * 255
    with torch.inference_mode():
        embedded = (net(a) - net(b)).square().sum(dim=1)
        # LPIPS directly: per layer, unit-normalise channels, weight the squared difference, average space.
        xa = (a / 127.5 - 1 - net.shift) / net.scale
        xb = (b / 127.5 - 1 - net.shift) / net.scale
        total = torch.zeros(2)
        for block, weight in zip(net.slices, net.lin):
            xa, xb = block(xa), block(xb)
            na = xa / (xa.square().sum(1, keepdim=True).sqrt() + 1e-10)
            nb = xb / (xb.square().sum(1, keepdim=True).sqrt() + 1e-10)
            total += ((na - nb).square() * weight.view(1, -1, 1, 1)).sum(1).mean(dim=(1, 2))
    assert torch.allclose(embedded, total, rtol=1e-4)

"""Pixel, GAN and perceptual losses against float64 computations of their definitions."""
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build


def _pair(seed=0, shape=(2, 3, 5, 4)):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen, dtype=torch.float64), torch.rand(shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("name, elementwise", [
    ("L1Loss", lambda d: d.abs()),
    ("MSELoss", lambda d: d ** 2),
    ("CharbonnierLoss", lambda d: torch.sqrt(d ** 2 + 1e-12)),
])
def test_pixel_losses_match_their_definitions(name, elementwise):
    pred, target = _pair()
    values = elementwise(pred - target)
    for reduction, expected in (("mean", values.mean()), ("sum", values.sum()), ("none", values)):
        loss = build(dict(type=name, loss_weight=0.5, reduction=reduction), "model")(pred, target)
        torch.testing.assert_close(loss, 0.5 * expected, rtol=1e-12, atol=0)
    weight = (torch.rand(2, 1, 5, 4, dtype=torch.float64) > 0.5).double()
    weighted = values * weight
    loss = build(dict(type=name), "model")(pred, target, weight)
    torch.testing.assert_close(loss, weighted.sum() / (weight.expand_as(values).sum() + 1e-12), rtol=1e-12, atol=0)
    per_sample = build(dict(type=name, sample_wise=True), "model")(pred, target, weight)
    sums = weight.expand_as(values).flatten(1).sum(1)
    torch.testing.assert_close(per_sample, (weighted.flatten(1).sum(1) / (sums + 1e-12)).sum() / 2, rtol=1e-12, atol=0)
    with pytest.raises(ConfigError, match="reduction"):
        build(dict(type=name, reduction="avg"), "model")


def test_gan_loss_types():
    x = torch.tensor([[-1.5], [0.25], [2.0]], dtype=torch.float64)
    sig = torch.sigmoid(x)

    def loss(gan_type, real, is_disc, **kw):
        return float(build(dict(type="GANLoss", gan_type=gan_type, loss_weight=3.0, **kw), "model")(x, real, is_disc))

    assert loss("vanilla", True, True) == pytest.approx(float(-torch.log(sig).mean()), rel=1e-9)
    assert loss("vanilla", False, True) == pytest.approx(float(-torch.log(1 - sig).mean()), rel=1e-9)
    assert loss("vanilla", True, False) == pytest.approx(3 * float(-torch.log(sig).mean()), rel=1e-9)
    assert loss("vanilla", True, True, real_label_val=0.9) == pytest.approx(
        float(-(0.9 * torch.log(sig) + 0.1 * torch.log(1 - sig)).mean()), rel=1e-6)
    assert loss("lsgan", True, True) == pytest.approx(float(((x - 1) ** 2).mean()), rel=1e-9)
    assert loss("lsgan", False, False) == pytest.approx(3 * float((x ** 2).mean()), rel=1e-9)
    assert loss("wgan", True, True) == pytest.approx(-float(x.mean()), rel=1e-9)
    assert loss("wgan", False, False) == pytest.approx(3 * float(x.mean()), rel=1e-9)
    assert loss("hinge", True, True) == pytest.approx(float(torch.relu(1 - x).mean()), rel=1e-9)
    assert loss("hinge", False, True) == pytest.approx(float(torch.relu(1 + x).mean()), rel=1e-9)
    assert loss("hinge", True, False) == pytest.approx(-3 * float(x.mean()), rel=1e-9)
    assert loss("l1", True, True) == pytest.approx(float((x - 1).abs().mean()), rel=1e-9)
    with pytest.raises(ConfigError, match="gan_type"):
        build(dict(type="GANLoss", gan_type="softmax"), "model")


def _vgg19_file(tmp_path, upto):
    """torchvision-layout VGG19 weights (random) for vgg.features[0..upto]."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(3)
    features = make_layers(cfgs["E"])[:upto + 1]
    path = tmp_path / "vgg19-random.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path, features.double()


def test_perceptual_and_style_loss_match_a_direct_computation(tmp_path, monkeypatch):
    path, features = _vgg19_file(tmp_path, 7)
    monkeypatch.setenv("MGX_VGG19_TORCHVISION_PATH", str(path))  # the hashed-weights path's local override
    loss = build(dict(type="PerceptualLoss", layer_weights={"2": 1.0, "7": 0.5}, perceptual_weight=2.0,
                      style_weight=3.0, norm_img=True, criterion="mse"), "model").double()
    x, gt = _pair(shape=(2, 3, 12, 12))
    x, gt = x * 2 - 1, gt * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)

    def feats(images):
        h = ((images + 1) / 2 - mean) / std
        out = {}
        for index, layer in enumerate(features):
            h = layer(h)
            out[str(index)] = h.clone()
        return out

    def gram(f):
        n, c, hh, ww = f.shape
        f = f.reshape(n, c, hh * ww)
        return f @ f.transpose(1, 2) / (c * hh * ww)

    fx, fg = feats(x), feats(gt)
    weights = {"2": 1.0, "7": 0.5}
    percep = 2.0 * sum(w * ((fx[k] - fg[k]) ** 2).mean() for k, w in weights.items())
    style = 3.0 * sum(w * ((gram(fx[k]) - gram(fg[k])) ** 2).mean() for k, w in weights.items())
    got_percep, got_style = loss(x, gt)
    torch.testing.assert_close(got_percep, percep, rtol=1e-7, atol=0)  # ImageNet mean/std are float32 constants
    torch.testing.assert_close(got_style, style, rtol=1e-7, atol=0)
    assert build(dict(type="PerceptualLoss", layer_weights={"2": 1.0}, style_weight=0), "model")(
        x.float(), gt.float())[1] is None
    # the frozen VGG is no part of checkpoints, and loading one without it keeps the file's weights
    assert loss.state_dict() == {}
    loss.load_state_dict({})
    assert all(not p.requires_grad for p in loss.parameters())


def test_perceptual_weights_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("MGX_VGG19_TORCHVISION_PATH", raising=False)
    monkeypatch.setenv("MGX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MGX_OFFLINE", "1")
    from mgx.core.errors import MgxError

    with pytest.raises(MgxError, match="vgg19-dcbb9e9d.pth"):
        build(dict(type="PerceptualLoss", layer_weights={"2": 1.0}), "model")
    with pytest.raises(ConfigError, match="does not match vgg_type"):
        build(dict(type="PerceptualLoss", layer_weights={"2": 1.0}, pretrained="torchvision://vgg16"), "model")
    with pytest.raises(ConfigError, match="layers 0..36"):
        build(dict(type="PerceptualLoss", layer_weights={"40": 1.0}, pretrained=None), "model")

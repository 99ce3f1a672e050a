"""convention='mmagic' of IS, FID (and PR) with uint8-input extractors, and PPL: each reproduces
MMagic 1.2.0's computation written out here in float64."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from metric_test_nets import TinyFeatures, TinyGenerator, TinyLPIPS, batches, plugin_manager, real_images, run_metrics
from reference_formulas import bilinear_resize_float64, frechet_float64, inception_score_float64
from mgx.core.errors import ConfigError
from mgx.core.evaluation import sample_seed, to_pixel_range
from mgx.core.registry import build
from mgx.plugins.metrics.functional.pil_resize import pil_resize


class Uint8Features(TinyFeatures):
    """TinyFeatures behind the StyleGAN Inception's input rule: [0, 255] floats rounded half up to
    integers; ``input_size`` 40 so that IS resizes the 32 px test images."""

    uint8_input = True
    input_size = 40

    def forward(self, images):
        return super().forward((images + 0.5).floor().clamp(0, 255))

    def logits(self, images):
        return self.head(self(images)) * 3


_PILLOW = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "box": Image.BOX, "nearest": Image.NEAREST}


def _pillow(images: torch.Tensor, size: tuple[int, int], method: str = "bicubic") -> torch.Tensor:
    """Pillow itself, one image at a time, as MMagic calls it."""
    arrays = images.to(torch.uint8).permute(0, 2, 3, 1).numpy()
    resized = [np.array(Image.fromarray(a).resize(size[::-1], resample=_PILLOW[method])) for a in arrays]
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2)


@pytest.mark.parametrize("method", sorted(_PILLOW))
@pytest.mark.parametrize("in_size", [8, 32, 100, 300])
def test_pil_resize_equals_pillow_byte_for_byte(method, in_size):
    images = torch.randint(0, 256, (2, 3, in_size, in_size), generator=torch.Generator().manual_seed(in_size))
    expected = _pillow(images, (299, 299), method)
    assert torch.equal(pil_resize(images, (299, 299), method).to(torch.uint8), expected)


@pytest.mark.parametrize("method", sorted(_PILLOW))
def test_pil_resize_of_one_axis_equals_pillow(method):
    images = torch.randint(0, 256, (1, 3, 17, 45), generator=torch.Generator().manual_seed(2))
    for width in (11, 45, 80):
        assert torch.equal(pil_resize(images, (17, width), method).to(torch.uint8), _pillow(images, (17, width), method))


def test_is_mmagic_truncates_resizes_like_pillow_and_drops_the_remainder(tmp_path):
    net = Uint8Features(dim=8)
    metrics = [dict(type="IS", prefix="official", fake_nums=23, splits=4, feature_extractor=net),
               dict(type="IS", prefix="mmagic", fake_nums=23, splits=4, feature_extractor=net, convention="mmagic")]
    results, _, ctx = run_metrics(metrics, TinyGenerator(), tmp_path)
    images = ctx.generate(list(range(23)), "orig")
    assert not torch.equal(images.floor(), (images + 0.5).floor())  # truncating and rounding differ here
    resized = _pillow(images.floor(), (40, 40)).double()  # uint8 cast truncates, then Pillow's bicubic
    reference_net = Uint8Features(dim=8).double()
    with torch.no_grad():
        probs = torch.softmax(reference_net.logits(resized), dim=1)
    mean, std = inception_score_float64(probs, 4, mmagic=True)  # blocks of 5: samples 20-22 unused
    assert results["mmagic/is"] == pytest.approx(mean, rel=1e-5, abs=1e-7)
    assert results["mmagic/is_std"] == pytest.approx(std, rel=1e-4, abs=1e-6)
    assert abs(results["official/is"] - results["mmagic/is"]) > 1e-4


def test_is_mmagic_without_pillow_resizes_the_float_pixels_with_torch(tmp_path):
    # MMagic's CycleGAN/pix2pix configs: TransIS(use_pillow_resize=False, resize_method='bilinear',
    # inception_style='PyTorch'): floats resized as they are, no uint8 cast for a float-input network
    net = TinyFeatures(dim=8)
    net.input_size = 40
    metrics = [dict(type="IS", fake_nums=20, splits=3, feature_extractor=net, convention="mmagic",
                    use_pillow_resize=False, resize_method="bilinear")]
    results, _, ctx = run_metrics(metrics, TinyGenerator(), tmp_path)
    resized = bilinear_resize_float64(ctx.generate(list(range(20)), "orig"), (40, 40))
    reference_net = TinyFeatures(dim=8).double()
    with torch.no_grad():
        probs = torch.softmax(reference_net.logits(resized), dim=1)
    mean, std = inception_score_float64(probs, 3, mmagic=True)  # blocks of 6: sample 19 unused
    assert results["IS/is"] == pytest.approx(mean, rel=1e-5, abs=1e-7)
    assert results["IS/is_std"] == pytest.approx(std, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("pillow,method", [(True, "area"), (False, "box"), (None, "lanczos")])
def test_is_resize_method_must_suit_the_resizer(pillow, method):
    plugin_manager()
    with pytest.raises(ConfigError, match=rf"InceptionScore: resize_method must be one of .* got '{method}'"):
        build(dict(type="IS", fake_nums=10, use_pillow_resize=pillow, resize_method=method), "metric")


def test_is_mmagic_refuses_fewer_samples_than_splits():
    plugin_manager()
    with pytest.raises(ConfigError, match=r"InceptionScore: convention='mmagic' .* fake_nums=3 .* splits=4"):
        build(dict(type="IS", fake_nums=3, splits=4, convention="mmagic"), "metric")


def test_fid_mmagic_truncates_pixels_where_the_stylegan_inception_rounds(tmp_path):
    net = Uint8Features(dim=6)
    reals = real_images(40)
    metrics = [dict(type="FID", prefix="official", fake_nums=40, feature_extractor=net),
               dict(type="FID", prefix="mmagic", fake_nums=40, feature_extractor=net, convention="mmagic")]
    results, evaluator, ctx = run_metrics(metrics, TinyGenerator(), tmp_path, dataloader=batches(reals, 16))
    fakes = ctx.generate(list(range(40)), "orig")
    reference_net = Uint8Features(dim=6).double()
    with torch.no_grad():
        real_features = reference_net(reals.double())  # integer pixels: truncating = rounding
        rounded = reference_net(fakes.double())
        truncated = reference_net(fakes.double().floor())
    assert results["official/fid"] == pytest.approx(frechet_float64(real_features, rounded), rel=1e-4, abs=1e-6)
    assert results["mmagic/fid"] == pytest.approx(frechet_float64(real_features, truncated), rel=1e-4, abs=1e-6)
    assert abs(results["official/fid"] - results["mmagic/fid"]) > 1e-3
    # the two conventions' real statistics are cached apart
    identities = [metric._identity for metric in evaluator.metrics]
    assert identities[1] == identities[0] + ":pixels=truncated"


@pytest.mark.parametrize("metric", ["PR", "TransFID"])
def test_other_metrics_truncate_for_uint8_input_extractors_under_mmagic(metric):
    plugin_manager()
    net = Uint8Features(dim=6)
    images = torch.linspace(0.3, 254.8, 3 * 8 * 8).view(1, 3, 8, 8)
    built = {c: build(dict(type=metric, fake_nums=4, feature_extractor=net, convention=c), "metric")
             for c in ("official", "mmagic")}
    for metric_obj in built.values():
        metric_obj.prepare_resources()
    with torch.no_grad():
        assert torch.equal(built["official"]._extractor(images), net(images))
        assert torch.equal(built["mmagic"]._extractor(images), net(images.floor()))
        assert not torch.equal(net(images), net(images.floor()))


def test_is_mmagic_leaves_float_input_extractors_unquantised_without_resize(tmp_path):
    net = TinyFeatures(dim=8)  # no uint8_input: MMagic's PyTorch-Inception branch gets floats
    metrics = [dict(type="IS", prefix="official", fake_nums=20, splits=2, feature_extractor=net, resize=False),
               dict(type="IS", prefix="mmagic", fake_nums=20, splits=2, feature_extractor=net, resize=False,
                    convention="mmagic")]
    results, _, _ = run_metrics(metrics, TinyGenerator(), tmp_path)
    assert results["mmagic/is"] == pytest.approx(results["official/is"], rel=1e-9)  # 20 = 2 × 10: same splits


class StripedGenerator(TinyGenerator):
    """TinyGenerator plus fine stripes whose contrast follows the latent: how the image is downsampled
    to 256 px changes the LPIPS distance (smooth images hardly notice)."""

    def synthesis(self, w):
        smooth = super().synthesis(w)
        pixels = torch.arange(self.size, dtype=w.dtype)
        stripes = torch.sin(pixels * 2.3)[None, :] * torch.sin(pixels * 1.9)[:, None]
        return (smooth + w[:, :3, None, None] * stripes).clamp(-1, 1)


def _ppl_mmagic_float64(generator: TinyGenerator, fake_nums: int, epsilon: float, seed: int) -> float:
    """MMagic's PPL in Z space written out: unit-norm slerp, face crop, bilinear resize to 256, LPIPS / ε²,
    mean between the 1st and 99th percentiles."""
    net = generator.double()
    lpips = TinyLPIPS().double()
    distances = []
    for index in range(fake_nums):
        pair = torch.randn(2, net.latent_dim, generator=torch.Generator().manual_seed(sample_seed(seed, index)))
        a, b = (pair / pair.norm(dim=1, keepdim=True)).double()
        ends = []
        for t in (0.0, epsilon):
            omega = torch.acos((a * b).sum())
            ortho = b - (a * b).sum() * a
            z = a * torch.cos(t * omega) + ortho / ortho.norm() * torch.sin(t * omega)
            ends.append(z / z.norm())
        with torch.no_grad():
            images = to_pixel_range(net.synthesis(net.mapping(torch.stack(ends))))
            c = images.shape[2] // 8
            images = bilinear_resize_float64(images[:, :, 3 * c:7 * c, 2 * c:6 * c], (256, 256))
            embedded = lpips(images)
        distances.append(float((embedded[0] - embedded[1]).square().sum()) / epsilon ** 2)
    values = np.array(distances)
    lo, hi = np.percentile(values, 1, method="lower"), np.percentile(values, 99, method="higher")
    return float(values[(values >= lo) & (values <= hi)].mean())


def test_ppl_mmagic_resizes_bilinearly_to_256_and_keeps_unit_norm_latents(tmp_path):
    # 1088 px: the 544 px face crop is resized to 256 (StyleGAN would area-pool it by 2 to 272)
    generator = StripedGenerator(size=1088)
    lpips = TinyLPIPS()
    metrics = [dict(type="PPL", prefix="official", fake_nums=3, space="Z", epsilon=1e-2, feature_extractor=lpips),
               dict(type="PPL", prefix="mmagic", fake_nums=3, space="Z", epsilon=1e-2, feature_extractor=lpips,
                    convention="mmagic")]
    results, _, ctx = run_metrics(metrics, generator, tmp_path, batch_size=3)
    expected = _ppl_mmagic_float64(StripedGenerator(size=1088), 3, 1e-2, ctx.seed)
    assert results["mmagic/ppl_score"] == pytest.approx(expected, rel=2e-3)
    assert abs(results["official/ppl_score"] - expected) > 0.05 * expected


def test_ppl_mmagic_uses_lpips_vgg_with_torchvision_and_lpips_weights(tmp_path, monkeypatch):
    from torchvision.models.vgg import cfgs, make_layers

    from mgx.plugins.feature_extractors import LPIPSVGG

    features = make_layers(cfgs["D"], batch_norm=False)
    vgg_path, lin_path = tmp_path / "vgg16.pth", tmp_path / "lin.pth"
    torch.save({f"features.{key}": value for key, value in features.state_dict().items()}, vgg_path)
    lin = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate((64, 128, 256, 512, 512))}
    torch.save(lin, lin_path)
    monkeypatch.setenv("MGX_VGG16_TORCHVISION_PATH", str(vgg_path))
    monkeypatch.setenv("MGX_LPIPS_VGG_PATH", str(lin_path))
    monkeypatch.setenv("MGX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MGX_OFFLINE", "1")
    plugin_manager()
    metric = build(dict(type="PPL", fake_nums=4, convention="mmagic"), "metric")
    metric.prepare_resources()
    assert isinstance(metric._lpips, LPIPSVGG)
    assert torch.equal(metric._lpips.lin[3], lin["lin3.model.1.weight"].flatten())
    assert torch.equal(metric._lpips.slices[0][0].weight, features[0].weight)


def test_ppl_mmagic_refuses_nvidia_vgg16_script():
    plugin_manager()
    with pytest.raises(ConfigError, match="vgg16_script .* convention='mmagic'"):
        build(dict(type="PPL", fake_nums=4, convention="mmagic", vgg16_script="vgg16.pt"), "metric")


@pytest.mark.parametrize("metric,name", [("IS", "InceptionScore"), ("TransIS", "TransIS"),
                                         ("FID", "FrechetInceptionDistance"), ("TransFID", "TransFID"),
                                         ("PPL", "PerceptualPathLength")])
def test_unknown_convention_is_a_config_error_naming_the_metric(metric, name):
    plugin_manager()
    with pytest.raises(ConfigError, match=rf"{name}: convention must be one of \('official', 'mmagic'\), "
                                          r"got 'stylegan'"):
        build(dict(type=metric, fake_nums=10, convention="stylegan"), "metric")


def test_torchvision_vgg16_mmagic_preprocessing_is_minus_one_one_nearest_and_fc2_before_relu():
    import copy

    from mgx.plugins.feature_extractors import TorchvisionVGG16Features

    torch.manual_seed(0)
    net = TorchvisionVGG16Features(load_weights=False, preprocessing="mmagic")
    images = torch.rand(1, 3, 56, 56) * 255
    with torch.inference_mode():
        got = net(images).double()
    # MMagic's PR fallback: (x − 127.5)/127.5, nearest resize (224 = 4 × 56: pixel i takes i // 4),
    # VGG16 features, fc1, ReLU, fc2 (no final ReLU)
    source = torch.arange(224) // 4
    x = ((images.double() - 127.5) / 127.5)[:, :, source][:, :, :, source]
    with torch.no_grad():
        expected = copy.deepcopy(net.head).double()(copy.deepcopy(net.features).double()(x).flatten(1))
    assert (expected < 0).any()  # before the ReLU
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))


def test_torchvision_vgg16_preprocessing_must_be_known():
    from mgx.plugins.feature_extractors import TorchvisionVGG16Features

    with pytest.raises(ConfigError, match="preprocessing must be one of .* got 'caffe'"):
        TorchvisionVGG16Features(load_weights=False, preprocessing="caffe")

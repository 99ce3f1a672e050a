"""RandomNoise, RandomJPEGCompression and UnsharpMasking against MMagic 1.2.0's definitions."""
import io
import math

import numpy as np
import pytest
from PIL import Image

from mgx.core.errors import ConfigError
from mgx.core.registry import build


def transform(**cfg):
    return build(cfg, "transform")


def image(height, width, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def test_gaussian_noise_has_the_drawn_sigma_and_gray_noise_is_shared():
    source = np.full((64, 64, 3), 128, np.uint8)
    params = dict(noise_type=["gaussian"], noise_prob=[1], gaussian_sigma=[12, 12], gaussian_gray_noise_prob=0)
    noisy = transform(type="RandomNoise", params=params, keys=["img"])({"img": source})["img"]
    noise = noisy - 128.0
    assert noisy.dtype == np.float32 and abs(noise.mean()) < 0.5 and abs(noise.std() - 12) < 0.5
    assert not np.allclose(noise[..., 0], noise[..., 1])
    gray = transform(type="RandomNoise", params={**params, "gaussian_gray_noise_prob": 1}, keys="img")(
        {"img": source})["img"]
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 0], gray[..., 2])
    untouched = transform(type="RandomNoise", params={**params, "prob": 0}, keys="img")({"img": source})["img"]
    assert untouched is source
    with pytest.raises(ConfigError, match="gaussian_sigma"):
        transform(type="RandomNoise", params=dict(noise_type=["gaussian"], noise_prob=[1]), keys="img")


def test_poisson_noise_variance_follows_the_level():
    # one distinct level: v = 2**ceil(log2(1)) = 1, noise = Poisson(L) - L, so its variance is L · scale²
    source = np.full((96, 96, 3), 100, np.uint8)
    params = dict(noise_type=["poisson"], noise_prob=[1], poisson_scale=[0.5, 0.5], poisson_gray_noise_prob=0)
    noisy = transform(type="RandomNoise", params=params, keys="img")({"img": source})["img"]
    noise = noisy - 100.0
    assert abs(noise.mean()) < 0.3 and abs(noise.var() - 100 * 0.25) < 2.5


def _pillow_jpeg(pixels, quality):
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


def test_jpeg_compression_reads_channels_as_opencv_does():
    ys, xs = np.mgrid[0:32, 0:32]
    smooth = np.stack([xs * 8, ys * 8, (xs + ys) * 4], -1).astype(np.uint8)
    out = transform(type="RandomJPEGCompression", params=dict(quality=[30, 30]), keys=["img"])({"img": smooth})["img"]
    # OpenCV's encoder takes channel 0 as blue: the same as encoding the reversed image as RGB
    np.testing.assert_array_equal(out, _pillow_jpeg(smooth[..., ::-1], 30)[..., ::-1])
    swapped = transform(type="RandomJPEGCompression", params=dict(quality=[30, 30]), keys=["img"], bgr2rgb=True)(
        {"img": smooth})["img"]
    np.testing.assert_array_equal(swapped, _pillow_jpeg(smooth, 30))
    high = transform(type="RandomJPEGCompression", params=dict(quality=[95, 95]), keys=["img"])({"img": smooth})["img"]
    low_error = np.abs(out.astype(int) - smooth).mean()
    assert np.abs(high.astype(int) - smooth).mean() < low_error and low_error > 0.5
    gray = transform(type="RandomJPEGCompression", params=dict(quality=[50, 50]), keys="img", color_type="grayscale")(
        {"img": smooth})["img"]
    assert gray.shape == (32, 32) and gray.dtype == np.uint8
    with pytest.raises(ConfigError, match="quality"):
        transform(type="RandomJPEGCompression", params=dict(quality=[50, 120]), keys="img")


def test_unsharp_masking_matches_a_direct_float64_computation():
    source = image(7, 6, seed=3).astype(np.float64)
    k, sigma, weight, threshold = 3, 0, 0.5, 10
    s = 0.3 * ((k - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for sigma <= 0
    g = np.array([math.exp(-(o * o) / (2 * s * s)) for o in (-1, 0, 1)])
    g /= g.sum()

    def blur(plane):  # filter2D, border reflected without repeating the edge (index -1 -> 1)
        h, w = plane.shape[:2]

        def at(y, x):
            return plane[abs(y) if y < h else 2 * h - 2 - y, abs(x) if x < w else 2 * w - 2 - x]
        return np.array([[sum(g[i] * g[j] * at(y + i - 1, x + j - 1) for i in range(3) for j in range(3))
                          for x in range(w)] for y in range(h)])

    residue = source - blur(source)
    soft = blur((np.abs(residue) > threshold).astype(np.float64))
    expected = soft * np.clip(source + weight * residue, 0, 255) + (1 - soft) * source
    out = transform(type="UnsharpMasking", kernel_size=k, sigma=sigma, weight=weight, threshold=threshold,
                    keys=["gt"])({"gt": source.astype(np.uint8)})
    assert out["gt_unsharp"].dtype == np.float32 and out["gt"].dtype == np.uint8
    np.testing.assert_allclose(out["gt_unsharp"], expected, atol=1e-3)
    with pytest.raises(ConfigError, match="odd"):
        transform(type="UnsharpMasking", kernel_size=4, sigma=0, weight=0.5, threshold=10, keys=["gt"])

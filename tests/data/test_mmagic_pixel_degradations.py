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
    # MMagic's gray JPEG configs put color_type in params: honoured when the constructor has none
    from_params = transform(type="RandomJPEGCompression", params=dict(quality=[50, 50], color_type="grayscale"),
                            keys="img")({"img": smooth})["img"]
    np.testing.assert_array_equal(from_params, gray)
    constructor_wins = transform(type="RandomJPEGCompression", params=dict(quality=[50, 50], color_type="grayscale"),
                                 keys="img", color_type="color")({"img": smooth})["img"]
    assert constructor_wins.shape == (32, 32, 3)
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


def test_blur_kernels_follow_their_formulas():
    from scipy import special

    from mgx.plugins.data.blur import blur_kernel

    offsets = np.arange(-3, 4, dtype=np.float64)
    x, y = np.meshgrid(offsets, offsets)  # x along columns
    iso = np.exp(-(x ** 2 + y ** 2) / (2 * 1.5 ** 2))
    np.testing.assert_allclose(blur_kernel("iso", 7, 1.5, 9.0, 1.0, 1.0, 1.0), iso / iso.sum(), atol=1e-12)
    aniso = np.exp(-0.5 * (x ** 2 / 2.0 ** 2 + y ** 2 / 0.8 ** 2))
    np.testing.assert_allclose(blur_kernel("aniso", 7, 2.0, 0.8, 0.0, 1, 1), aniso / aniso.sum(), atol=1e-12)
    np.testing.assert_allclose(blur_kernel("aniso", 7, 2.0, 0.8, np.pi / 2, 1, 1),
                               blur_kernel("aniso", 7, 0.8, 2.0, 0.0, 1, 1), atol=1e-12)  # a quarter turn swaps axes
    q = (x ** 2 + y ** 2) / 1.5 ** 2
    generalized = np.exp(-0.5 * q ** 0.7)
    np.testing.assert_allclose(blur_kernel("generalized_iso", 7, 1.5, 0, 0, 0.7, 1), generalized / generalized.sum(),
                               atol=1e-12)
    plateau = 1 / (1 + q ** 1.5)
    np.testing.assert_allclose(blur_kernel("plateau_iso", 7, 1.5, 0, 0, 1.5, 1), plateau / plateau.sum(), atol=1e-12)
    sinc = blur_kernel("sinc", 7, 0, 0, 0, 1, 2.0)
    raw = 2.0 * special.j1(2.0 * np.hypot(1, 2)) / (2 * np.pi * np.hypot(1, 2))
    centre = 2.0 ** 2 / (4 * np.pi)
    assert sinc[3 + 1, 3 + 2] / sinc[3, 3] == pytest.approx(raw / centre, rel=1e-12)
    assert sinc.sum() == pytest.approx(1.0) and np.allclose(sinc, sinc.T)


def test_blur_correlates_with_opencvs_border():
    from mgx.plugins.data.blur import correlate_reflect101

    source = image(5, 4, 1, seed=4)[..., 0].astype(np.float64)
    kernel = np.array([[0.0, 0.1, 0.0], [0.2, 0.3, 0.0], [0.0, 0.0, 0.4]])  # asymmetric: correlation != convolution

    def at(row, col):  # reflect without repeating the edge: -1 -> 1, h -> h - 2
        h, w = source.shape
        row = -row if row < 0 else 2 * h - 2 - row if row >= h else row
        col = -col if col < 0 else 2 * w - 2 - col if col >= w else col
        return source[row, col]
    expected = np.array([[sum(kernel[i, j] * at(r + i - 1, c + j - 1) for i in range(3) for j in range(3))
                          for c in range(4)] for r in range(5)])
    np.testing.assert_allclose(correlate_reflect101(source, kernel), expected, atol=1e-9)
    as_uint8 = correlate_reflect101(source.astype(np.uint8)[..., None], kernel)
    assert as_uint8.dtype == np.uint8 and np.abs(as_uint8[..., 0] - expected).max() <= 0.5 + 1e-9


def test_random_blur_applies_the_drawn_kernel():
    from mgx.plugins.data.blur import blur_kernel, correlate_reflect101

    source = image(12, 10, seed=5)
    params = dict(kernel_size=[5], kernel_list=["iso"], kernel_prob=[1], sigma_x=[1.2, 1.2], sigma_y=[3, 3])
    out = transform(type="RandomBlur", params=params, keys=["img"])({"img": source})["img"]
    np.testing.assert_array_equal(out, correlate_reflect101(source, blur_kernel("iso", 5, 1.2, 1.2, 0, 1, 1)))
    frames = transform(type="RandomBlur", params=dict(params, kernel_list=["sinc"]), keys="img")(
        {"img": [source, source]})["img"]
    assert len(frames) == 2 and frames[0].shape == source.shape
    assert transform(type="RandomBlur", params=dict(params, prob=0), keys="img")({"img": source})["img"] is source
    for bad in (dict(params, kernel_size=[4]), dict(params, kernel_list=["skew"])):
        with pytest.raises(ConfigError, match="kernel"):
            transform(type="RandomBlur", params=bad, keys="img")


def test_generalized_and_plateau_shapes_are_drawn_between_beta_and_one_either_side_of_it():
    """Real-ESRGAN's ranges (beta_gaussian [0.5, 4], beta_plateau [1, 2]) draw betas above 1, and the shape is
    then drawn from [1, beta] or [beta, 1] — both orders, as numpy's legacy uniform that MMagic uses allows."""
    params = dict(kernel_size=[7], kernel_list=["generalized_iso", "plateau_aniso"], kernel_prob=[0.5, 0.5],
                  sigma_x=[0.2, 3], sigma_y=[0.2, 3], beta_gaussian=[2, 4], beta_plateau=[1.5, 2])
    blur = transform(type="RandomBlur", params=params, keys=["img"])
    for seed in range(16):
        sample = {"img": image(16, 16, seed=seed), "sample_seed": seed}
        assert blur(sample)["img"].shape == (16, 16, 3)


def test_degradations_with_shuffle_keeps_groups_in_order_and_shuffles_the_rest():
    calls = []

    class Recorder:  # stands in for a built degradation: records the order it ran in
        def __init__(self, name):
            self.name = name

        def __call__(self, sample):
            calls.append(self.name)
            return sample

    shuffle = transform(type="DegradationsWithShuffle", keys=["img"], degradations=[
        dict(type="RandomJPEGCompression", params=dict(quality=[90, 90])),
        [dict(type="RandomResize", params=dict(target_size=(4, 4), resize_opt=["area"], resize_prob=[1])),
         dict(type="RandomNoise", params=dict(noise_type=["gaussian"], noise_prob=[1], gaussian_sigma=[1, 1],
                                              gaussian_gray_noise_prob=0))]], shuffle_idx=[])
    out = shuffle({"img": image(8, 8)})  # not shuffled: JPEG (uint8), then resized, then noise (float32)
    assert out["img"].shape == (4, 4, 3) and out["img"].dtype == np.float32
    shuffle.degradations = [Recorder("a"), Recorder("b"), [Recorder("c"), Recorder("d")]]
    shuffle.shuffle_idx = [0, 1, 2]
    orders = set()
    np.random.seed(0)
    for _ in range(60):
        calls.clear()
        shuffle({"img": image(2, 2)})
        orders.add("".join(calls))
    assert orders == {"abcd", "acdb", "bacd", "bcda", "cdab", "cdba"}  # c stays before d
    shuffle.shuffle_idx = [0, 1]
    calls.clear()
    shuffle({"img": image(2, 2)})
    assert calls[2:] == ["c", "d"]
    with pytest.raises(ConfigError, match="RandomBlur"):
        transform(type="DegradationsWithShuffle", keys=["img"], degradations=[dict(type="Flip", params={})])


def test_generate_coordinate_and_cell_as_liif_defines_them():
    import torch

    gt = image(4, 6, seed=6)
    out = transform(type="GenerateCoordinateAndCell")({"gt": gt, "img": image(2, 3)})
    rows = -1 + (2 * np.arange(4) + 1) / 4
    cols = -1 + (2 * np.arange(6) + 1) / 6
    expected = np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)
    np.testing.assert_allclose(out["coord"].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(out["cell"].numpy(), np.tile([2 / 4, 2 / 6], (24, 1)), atol=1e-7)
    assert torch.equal(out["gt"], torch.from_numpy(gt.reshape(-1, 3)))  # pixels in row-major order
    sampled = transform(type="GenerateCoordinateAndCell", sample_quantity=5)({"gt": gt})
    assert sampled["coord"].shape == (5, 2) and sampled["gt"].shape == (5, 3)
    for coord, pixel in zip(sampled["coord"].numpy(), sampled["gt"].numpy()):
        row, col = np.rint(((coord + 1) * [4, 6] - 1) / 2).astype(int)
        np.testing.assert_array_equal(pixel, gt[row, col])
    packed = transform(type="PackInputs")(transform(type="GenerateCoordinateAndCell", sample_quantity=5)(
        {"gt": gt, "img": image(2, 3)}))
    assert packed["gt_img"].shape == (5, 3) and packed["inputs"].shape == (3, 2, 3) and packed["coord"].shape == (5, 2)
    by_scale = transform(type="GenerateCoordinateAndCell", scale=2.5)({"img": image(4, 2)})
    assert by_scale["coord"].shape == (10 * 5, 2)

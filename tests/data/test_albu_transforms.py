"""MMagic's albumentations-based transforms (DeblurGANv2's pipelines), written on numpy/scipy: a pair
moves alike, each augmentation keeps size and dtype, the colour/tone ones match float64 definitions,
and config mistakes are refused naming the entry."""
from __future__ import annotations

import numpy as np
import pytest

from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.data.albu_ops import CORRUPTIONS, GEOMETRIC, _hsv_to_rgb, _rgb_to_hsv

CONFIG = [dict(name="cutout", prob=0.5, num_holes=3, max_h_size=25, max_w_size=25),
          dict(name="jpeg", quality_lower=70, quality_upper=90), dict(name="motion_blur"), dict(name="median_blur"),
          dict(name="gamma"), dict(name="rgb_shift"), dict(name="hsv_shift"), dict(name="sharpen")]


def _image(height=20, width=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_paired_geometric_moves_both_images_alike_then_pads_and_crops():
    transform = build(dict(type="PairedAlbuTransForms", size=24, lq_key="img", gt_key="gt", p=1.0), "transform")
    for index in range(12):  # every sample draws its own op among the five
        image = _image(seed=index)
        out = transform({"img": image.copy(), "gt": image.copy(), "sample_idx": index, "seed": 0})
        assert out["img"].shape == (24, 24, 3) and out["img"].dtype == np.uint8
        assert np.array_equal(out["img"], out["gt"])
    center = build(dict(type="PairedAlbuTransForms", size=16, crop="center", scope="weak", p=0.0), "transform")
    image = _image()
    assert np.array_equal(center({"img": image, "gt": image})["img"], image[2:18, 6:22])


def test_each_geometric_op_keeps_the_image_and_is_exact_at_identity():
    rng, image = np.random.default_rng(1), _image()
    for name, op in GEOMETRIC.items():
        out = op.apply(image, op.draw(rng, image.shape))
        assert out.shape == ((28, 20, 3) if name == "transpose" else image.shape) and out.dtype == np.uint8, name
    assert np.array_equal(GEOMETRIC["shift_scale_rotate"].apply(image, (0.0, 1.0, 0.0, 0.0)), image)
    assert np.array_equal(GEOMETRIC["optical_distortion"].apply(image, 0.0), image)


def test_hsv_and_gamma_match_their_definitions():
    colours = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.4, 0.8]])
    hsv = _rgb_to_hsv(colours)
    np.testing.assert_allclose(hsv[:2], [[0, 1, 1], [120, 1, 1]], atol=1e-12)
    np.testing.assert_allclose(hsv[2], [220, 0.75, 0.8], atol=1e-12)  # colorsys: h = 220/360
    pixels = np.random.default_rng(2).uniform(size=(50, 3))
    np.testing.assert_allclose(_hsv_to_rgb(_rgb_to_hsv(pixels)), pixels, atol=1e-12)
    image = _image()
    out = CORRUPTIONS["gamma"]("gamma")(image, np.random.default_rng(5))
    gamma = np.random.default_rng(5).uniform(80, 120) / 100
    assert np.array_equal(out, np.rint(255 * (image / 255.0) ** gamma).astype(np.uint8))


def test_corruptions_keep_size_and_dtype():
    image = _image()
    for entry in CONFIG + [dict(name=n) for n in ("brightness_contrast", "gray", "pixelize")]:
        transform = build(dict(type="AlbuCorruptFunction", keys=["img"], config=[entry]), "transform")
        out = transform({"img": image.copy(), "sample_idx": 0, "seed": 1})["img"]
        assert out.shape == image.shape and out.dtype == np.uint8, entry
    whole = build(dict(type="AlbuCorruptFunction", keys=["img"], config=CONFIG), "transform")
    assert whole({"img": image.copy()})["img"].shape == image.shape


@pytest.mark.parametrize("entry, message", [
    (dict(name="snow"), "'snow' corruption is not implemented"),
    (dict(name="blurr"), "unknown corruption 'blurr'"),
    (dict(name="jpeg", quality=80), r"config\[0\]: unknown argument\(s\) \['quality'\]"),
])
def test_config_mistakes_are_refused_naming_the_entry(entry, message):
    with pytest.raises(ConfigError, match=message):
        build(dict(type="AlbuCorruptFunction", keys=["img"], config=[entry]), "transform")


def test_normalize_maps_pixels_to_minus_one_one():
    transform = build(dict(type="PairedAlbuNormalize", lq_key="img", gt_key="gt"), "transform")
    out = transform({"img": np.full((2, 2, 3), 255, np.uint8), "gt": np.full((2, 2, 3), 51, np.uint8)})
    np.testing.assert_allclose(out["img"], 1.0)
    np.testing.assert_allclose(out["gt"], (51 / 255 - 0.5) / 0.5, rtol=1e-6)

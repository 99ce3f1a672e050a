"""Matting data as MMagic 1.2.0 defines it: the Composition-1k annotation layout, the trimap transforms against
brute-force computations of OpenCV's morphology and distance transform, composition, crops, jitter, affine."""
import json
import math

import numpy as np
import pytest

from mgx.core.errors import ConfigError
from mgx.plugins.data.matting import (AdobeComp1kDataset, FormatTrimap, GenerateTrimap, GenerateTrimapWithDistTransform,
                                      TransformTrimap, ellipse_element)
from mgx.plugins.data.matting_composition import (CropAroundCenter, CropAroundUnknown, MergeFgAndBg, RandomAffine,
                                                  RandomJitter, bgr_to_hsv, hsv_to_bgr)


def disc_alpha(size=24, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    distance = np.hypot(rows - size / 2 + rng.uniform(-2, 2), cols - size / 2 + rng.uniform(-2, 2))
    return np.clip(np.rint((size / 3 - distance) / 3 * 255), 0, 255).astype(np.uint8)[..., None]


def test_ellipse_elements_are_opencvs():
    # cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)) and (7, 7)
    assert ellipse_element(5).astype(int).tolist() == [[0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1],
                                                       [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]]
    assert ellipse_element(7).astype(int).tolist() == [[0, 0, 0, 1, 0, 0, 0], [0, 1, 1, 1, 1, 1, 0]] + \
        [[1] * 7] * 3 + [[0, 1, 1, 1, 1, 1, 0], [0, 0, 0, 1, 0, 0, 0]]


def brute_morphology(plane, element, erode):
    """min (erode) / max (dilate) over the element anchored at its centre; outside pixels never count."""
    h, w = plane.shape
    k = element.shape[0]
    out = np.zeros_like(plane)
    for y in range(h):
        for x in range(w):
            values = [plane[y + i - k // 2, x + j - k // 2] for i in range(k) for j in range(k)
                      if element[i, j] and 0 <= y + i - k // 2 < h and 0 <= x + j - k // 2 < w]
            out[y, x] = min(values) if erode else max(values)
    return out


def test_generate_trimap_erodes_and_dilates_as_opencv():
    alpha = disc_alpha()
    sample = GenerateTrimap(kernel_size=(3, 5), iterations=(2, 1), random=False)({"alpha": alpha.copy()})
    plane = alpha[..., 0]
    eroded = brute_morphology(brute_morphology(plane, ellipse_element(3), True), ellipse_element(3), True)
    dilated = brute_morphology(plane, ellipse_element(5), False)
    expected = np.full(plane.shape, 128)
    expected[eroded >= 255], expected[dilated <= 0] = 255, 0
    assert sample["trimap"].shape == alpha.shape and np.array_equal(sample["trimap"][..., 0], expected)
    assert {0, 128, 255} == set(np.unique(expected))


def test_random_trimaps_are_repeatable_per_sample():
    transform = GenerateTrimap(kernel_size=(1, 6))
    first = [transform({"alpha": disc_alpha(), "sample_idx": i, "seed": 3})["trimap"] for i in range(4)]
    again = [transform({"alpha": disc_alpha(), "sample_idx": i, "seed": 3})["trimap"] for i in range(4)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert len({a.tobytes() for a in first}) > 1  # different samples draw different kernels


def test_dist_transform_trimap_marks_pixels_near_semi_transparent_ones():
    alpha = disc_alpha(seed=1)
    trimap = GenerateTrimapWithDistTransform(dist_thr=3, random=False)({"alpha": alpha})["trimap"][..., 0]
    plane = alpha[..., 0]
    soft = np.argwhere((plane > 0) & (plane < 255))
    for (y, x), value in np.ndenumerate(trimap):
        near = min(math.hypot(y - sy, x - sx) for sy, sx in soft) <= 3
        assert value == (128 if near else 255 if plane[y, x] == 255 else 0), (y, x)


def test_format_and_transform_trimap():
    trimap = np.array([[0, 128], [255, 128]], dtype=np.uint8)[..., None]
    one_hot = FormatTrimap(to_onehot=True)({"trimap": trimap.copy()})
    assert one_hot["trimap"].shape == (2, 2, 3) and one_hot["trimap"][0, 1].tolist() == [0, 1, 0]
    assert FormatTrimap()({"trimap": trimap.copy()})["trimap"].tolist() == [[0, 1], [2, 1]]
    out = TransformTrimap()({"trimap": np.array([[0, 128, 255]], dtype=np.uint8)})
    assert out["two_channel_trimap"][0].tolist() == [[255, 0], [0, 0], [0, 255]]
    # background channels at the unknown pixel: exp(-1 / (2 (f·320)²)) at distance 1
    expected = [math.exp(-1 / (2 * (f * 320) ** 2)) for f in (0.02, 0.08, 0.16)]
    assert out["transformed_trimap"][0, 1, :3] == pytest.approx(expected, rel=1e-6)


def test_comp1k_dataset_reads_mmagics_annotation_layouts(tmp_path):
    entries = [{"alpha_path": "a/1.png", "merged_path": "m/1.png", "trimap_path": "t/1.png"}]
    (tmp_path / "list.json").write_text(json.dumps(entries))
    dataset = AdobeComp1kDataset(ann_file="list.json", data_root=str(tmp_path), test_mode=True)
    assert len(dataset) == 1 and dataset[0]["alpha_path"] == str(tmp_path / "a/1.png")
    (tmp_path / "dict.json").write_text(json.dumps({"metainfo": {"name": "x"}, "data_list": entries * 2}))
    assert len(AdobeComp1kDataset(ann_file="dict.json", data_root=str(tmp_path))) == 2
    with pytest.raises(ConfigError, match="does not exist"):
        AdobeComp1kDataset(ann_file="missing.json", data_root=str(tmp_path))


def test_merge_and_crops():
    rng = np.random.default_rng(0)
    alpha, fg, bg = disc_alpha(40), rng.integers(0, 256, (40, 40, 3)), rng.integers(0, 256, (40, 40, 3))
    merged = MergeFgAndBg()({"alpha": alpha, "fg": fg, "bg": bg, "fg_channel_order": "rgb"})
    weight = alpha / 255.0
    assert np.allclose(merged["merged"], fg * weight + bg * (1 - weight)) and merged["merged_channel_order"] == "rgb"
    sample = CropAroundUnknown(keys=["alpha", "fg"], crop_sizes=[16])({"alpha": alpha, "fg": fg, "sample_idx": 0,
                                                                       "seed": 1})
    left, top, right, bottom = sample["crop_bbox"]
    assert sample["alpha"].shape == (16, 16, 1) and np.array_equal(sample["fg"], fg[top:bottom, left:right])
    assert ((sample["alpha"] > 0) & (sample["alpha"] < 255)).any()
    small = CropAroundUnknown(keys=["alpha"], crop_sizes=[64])({"alpha": alpha})  # enlarged first
    assert small["alpha"].shape == (64, 64, 1)
    trimap = np.where(alpha > 127, 255, 0).astype(np.uint8)
    centre = CropAroundCenter(16)({"alpha": alpha, "fg": fg, "bg": bg, "trimap": trimap})
    assert all(centre[k].shape[:2] == (16, 16) for k in ("alpha", "fg", "bg", "trimap"))


def test_hsv_conversion_is_opencvs_and_jitter_keeps_the_range():
    hsv = bgr_to_hsv(np.array([[[0, 0, 1], [0, 1, 0], [1, 0, 0], [0.5, 0.5, 0.5]]], dtype=np.float32))
    assert hsv[0, :, 0].tolist() == pytest.approx([0, 120, 240, 0]) and hsv[0, 3, 1] == 0
    colours = np.random.default_rng(0).random((6, 5, 3)).astype(np.float32)
    assert np.allclose(hsv_to_bgr(bgr_to_hsv(colours)), colours, atol=1e-5)
    sample = RandomJitter()({"fg": colours * 255, "alpha": disc_alpha(6)[:, :5], "sample_idx": 0, "seed": 0})
    assert sample["fg"].shape == colours.shape and 0 <= sample["fg"].min() and sample["fg"].max() <= 255 + 1e-3


def test_random_affine_flips_about_the_centre():
    image = np.arange(30, dtype=np.uint8).reshape(5, 6, 1)
    same = RandomAffine(keys=["alpha"], degrees=0)({"alpha": image.copy()})["alpha"]
    flipped = RandomAffine(keys=["alpha"], degrees=0, flip_ratio=1.0)({"alpha": image.copy()})["alpha"]
    assert np.array_equal(same, image) and np.array_equal(flipped, image[::-1, ::-1])


def test_segmentations_from_the_alpha():
    from mgx.plugins.data.matting_seg import GenerateSeg, GenerateSoftSeg, gaussian_blur, gaussian_kernel

    sigma = 0.3 * ((21 - 1) * 0.5 - 1) + 0.8  # OpenCV's σ for a 21-tap kernel
    weights = [math.exp(-(i - 10) ** 2 / (2 * sigma ** 2)) for i in range(21)]
    assert gaussian_kernel(21) == pytest.approx([w / sum(weights) for w in weights], rel=1e-12)
    assert gaussian_kernel(5).tolist() == [0.0625, 0.25, 0.375, 0.25, 0.0625]  # OpenCV's table
    impulse = np.zeros((9, 9), np.float32)
    impulse[4, 4] = 1
    expected = np.zeros((9, 9))
    expected[2:7, 3:6] = np.outer(gaussian_kernel(5), gaussian_kernel(3))  # (width 3, height 5), as OpenCV's ksize
    assert np.allclose(gaussian_blur(impulse, (3, 5)), expected)
    alpha, trimap = disc_alpha(64), np.full((64, 64, 1), 128, np.uint8)
    sample = GenerateSeg(erode_iter_range=(1, 2), dilate_iter_range=(1, 2), num_holes_range=(2, 3),
                         hole_sizes=[(8, 8)], blur_ksizes=[(3, 3)])({"alpha": alpha, "trimap": trimap.copy()})
    assert sample["seg"].shape == (64, 64) and sample["seg"].dtype == np.uint8 and sample["num_holes"] == 2
    assert (sample["trimap"] == 0).sum() >= 64 and sample["trimap"].shape == trimap.shape  # the holes
    soft = GenerateSoftSeg(erode_iter_range=(1, 2), dilate_iter_range=(1, 2), blur_ksizes=[(5, 5)])(
        {"seg": (alpha[..., 0] > 127).astype(np.uint8) * 255})["soft_seg"]
    assert soft.shape == (64, 64) and soft.dtype == np.uint8 and soft.max() == 255 and soft.min() == 0


def test_composite_fg_and_perturb_bg(tmp_path):
    from PIL import Image

    from mgx.plugins.data.matting_composition import CompositeFg, PerturbBg

    for folder, value in (("fg", 200), ("alpha", 128)):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(tmp_path / folder / "a.png")
    alpha = np.zeros((8, 8, 1), np.uint8)
    alpha[:4] = 255
    fg = np.full((8, 8, 3), 40, np.uint8)
    composite = CompositeFg(str(tmp_path / "fg"), str(tmp_path / "alpha"))
    drawn = [composite({"fg": fg, "alpha": alpha, "sample_idx": i, "seed": 0}) for i in range(8)]
    mixed = [d for d in drawn if d["alpha"][6, 0, 0] > 0]
    assert mixed and len(mixed) < 8  # with probability 0.5 a second foreground goes behind
    a2 = 128 / 255
    assert mixed[0]["alpha"][6, 0, 0] == pytest.approx((1 - (1 - 0) * (1 - a2)) * 255)
    assert mixed[0]["fg"][6, 0].tolist() == pytest.approx([200.0] * 3) and mixed[0]["fg"][0, 0].tolist() == [40.0] * 3
    bg = np.full((6, 6, 3), 100, np.uint8)
    noisy = [PerturbBg()({"bg": bg, "sample_idx": i, "seed": 0})["noisy_bg"] for i in range(6)]
    assert all(n.shape == bg.shape and 0 <= n.min() and n.max() <= 255 for n in noisy)
    assert len({n.tobytes() for n in noisy}) > 1

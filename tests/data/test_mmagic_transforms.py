"""MMagic 1.2.0's restoration / unconditional-GAN transforms, each checked against its definition."""
import math

import numpy as np
import pytest
from PIL import Image

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build


def transform(**cfg):
    return build(cfg, "transform")


def image(height, width, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def bilinear_reference(src, out_h, out_w):
    """cv2.INTER_LINEAR: half-pixel centres, no widening, border pixels repeated; float64."""
    src = src.astype(np.float64)
    h, w = src.shape[:2]
    out = np.zeros((out_h, out_w, src.shape[2]))
    for y in range(out_h):
        sy = (y + 0.5) * h / out_h - 0.5
        y0, fy = math.floor(sy), sy - math.floor(sy)
        for x in range(out_w):
            sx = (x + 0.5) * w / out_w - 0.5
            x0, fx = math.floor(sx), sx - math.floor(sx)

            def at(yy, xx):
                return src[min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)]
            out[y, x] = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
                         + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
    return out


def cubic_reference(line, out_w, a=-0.75):
    """cv2.INTER_CUBIC along one line: Keys' kernel with a = -0.75 on the 4 nearest pixels, borders repeated."""
    def kernel(t):
        t = abs(t)
        if t <= 1:
            return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a if t < 2 else 0.0
    out = []
    for x in range(out_w):
        sx = (x + 0.5) * len(line) / out_w - 0.5
        x0 = math.floor(sx)
        taps = [(line[min(max(x0 + k, 0), len(line) - 1)], kernel(sx - (x0 + k))) for k in (-1, 0, 1, 2)]
        out.append(sum(v * w for v, w in taps) / sum(w for _, w in taps))
    return np.array(out)


def test_resize_cv2_backend_follows_opencvs_definitions():
    source = image(9, 13)
    out = transform(type="Resize", scale=(20, 7))({"img": source})["img"]  # backend None = cv2, bilinear
    assert out.dtype == np.uint8 and np.abs(out - bilinear_reference(source, 7, 20)).max() <= 0.5 + 1e-3  # rounded (float32 sums)
    floats = source.astype(np.float32)
    np.testing.assert_allclose(transform(type="Resize", scale=(5, 4))({"img": floats})["img"],
                               bilinear_reference(floats, 4, 5), atol=1e-3)
    nearest = transform(type="Resize", scale=(5, 4), interpolation="nearest")({"img": source})["img"]
    rows, cols = np.floor(np.arange(4) * 9 / 4).astype(int), np.floor(np.arange(5) * 13 / 5).astype(int)
    np.testing.assert_array_equal(nearest, source[rows][:, cols])
    block = image(8, 12)
    area = transform(type="Resize", scale=(3, 2), interpolation="area")({"img": block.astype(np.float32)})["img"]
    np.testing.assert_allclose(area, block.astype(np.float64).reshape(2, 4, 3, 4, 3).mean(axis=(1, 3)), atol=1e-3)
    row = image(1, 6, 1).astype(np.float32)
    cubic = transform(type="Resize", scale=(9, 1), interpolation="bicubic")({"img": row})["img"][0, :, 0]
    np.testing.assert_allclose(cubic, cubic_reference(row[0, :, 0].astype(np.float64), 9), atol=1e-3)


def test_resize_keep_ratio_float_size_factor_and_records():
    sample = {"img": image(12, 20), "ori_img_shape": (12, 20, 3), "img_channel_order": "rgb"}
    out = transform(type="Resize", scale=(16, 6), keep_ratio=True, output_keys="small")(dict(sample))
    # mmcv's rescale: factor = min(max(16, 6) / 20, min(16, 6) / 12) = 0.5 -> (10, 6)
    assert out["small"].shape == (6, 10, 3) and out["scale_factor"] == 0.5 and out["small_shape"] == (6, 10, 3)
    assert out["img"].shape == (12, 20, 3) and out["small_channel_order"] == "rgb" and out["ori_small_shape"]
    assert transform(type="Resize", scale=0.3, keep_ratio=True)(dict(sample))["img"].shape == (4, 6, 3)  # int(x+.5)
    short = transform(type="Resize", scale=(-1, 9), keep_ratio=True)(dict(sample))["img"]
    assert short.shape == (9, 15, 3)  # (-1, 9): the short edge becomes 9
    factor = transform(type="Resize", size_factor=8, max_size=16)(dict(sample))
    assert factor["img"].shape == (8, 16, 3)
    exact = transform(type="Resize", scale=(10, 3))(dict(sample))
    np.testing.assert_allclose(exact["scale_factor"], [10 / 20, 3 / 12])
    assert exact["keep_ratio"] is False and exact["interpolation"] == "bilinear"
    assert transform(type="Resize", keys="gt", scale=(4, 4))(dict(sample))["img"].shape == (12, 20, 3)  # absent key
    lanczos = transform(type="Resize", scale=(6, 6), interpolation="lanczos", backend="pillow")({"img": image(9, 9)})
    expected = np.asarray(Image.fromarray(image(9, 9)).resize((6, 6), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(lanczos["img"], expected)
    with pytest.raises(ConfigError, match="interpolation"):
        transform(type="Resize", scale=4, interpolation="hamming")  # a Pillow-only filter on cv2
    with pytest.raises(ConfigError, match="size_factor"):
        transform(type="Resize", scale=(4, 4), size_factor=2)


def test_flip_and_transpose_hw():
    sample = {"img": image(3, 4), "gt": image(6, 8, seed=1)}
    flipped = transform(type="Flip", keys=["img", "gt"], flip_ratio=1.0, direction="vertical")(dict(sample))
    np.testing.assert_array_equal(flipped["gt"], sample["gt"][::-1])
    np.testing.assert_array_equal(flipped["img"], sample["img"][::-1])
    transposed = transform(type="RandomTransposeHW", keys=["img", "gt"], transpose_ratio=1.0)(dict(sample))
    np.testing.assert_array_equal(transposed["gt"], sample["gt"].transpose(1, 0, 2))
    assert transposed["img"].shape == (4, 3, 3) and transposed["transpose"] is True
    kept = transform(type="RandomTransposeHW", keys="img", transpose_ratio=0.0)(dict(sample))
    assert kept["transpose"] is False and kept["img"].shape == (3, 4, 3)
    np.random.seed(1)
    draws = [transform(type="RandomTransposeHW", keys="img")(dict(sample))["transpose"] for _ in range(200)]
    assert 60 < sum(draws) < 140
    with pytest.raises(ConfigError, match="transpose_ratio"):
        transform(type="RandomTransposeHW", keys="img", transpose_ratio=2)


def test_paired_random_crop_keeps_the_pair_aligned():
    lq = image(6, 7)
    gt = np.kron(lq, np.ones((3, 3, 1), dtype=np.uint8))  # the ×3 ground truth of every LQ pixel
    for seed in range(5):
        np.random.seed(seed)
        out = transform(type="PairedRandomCrop", gt_patch_size=9)({"img": lq, "gt": gt, "scale": 3})
        assert out["img"].shape == (3, 3, 3) and out["gt"].shape == (9, 9, 3)
        np.testing.assert_array_equal(out["gt"], np.kron(out["img"], np.ones((3, 3, 1), dtype=np.uint8)))
    mgx_scale = transform(type="PairedRandomCrop", gt_patch_size=6, scale=3, lq_key="lq")({"lq": lq, "gt": gt})
    assert mgx_scale["lq"].shape == (2, 2, 3)
    with pytest.raises(MgxError, match="scale mismatch"):
        transform(type="PairedRandomCrop", gt_patch_size=4)({"img": lq, "gt": gt, "scale": 2})
    with pytest.raises(MgxError, match="smaller than the patch"):
        transform(type="PairedRandomCrop", gt_patch_size=30)({"img": lq, "gt": gt, "scale": 3})
    with pytest.raises(MgxError, match="SetValues"):
        transform(type="PairedRandomCrop", gt_patch_size=3)({"img": lq, "gt": gt})


def test_crop_modcrop_and_long_edge_crops():
    source = image(6, 10)
    centre = transform(type="Crop", keys=["img"], crop_size=(4, 4), random_crop=False)({"img": source})
    np.testing.assert_array_equal(centre["img"], source[1:5, 3:7])
    assert centre["img_crop_bbox"] == [3, 1, 4, 4] and centre["crop_size"] == (4, 4)
    randomly = transform(type="Crop", keys=["img"], crop_size=(4, 5))({"img": source})
    x, y, w, h = randomly["img_crop_bbox"]
    np.testing.assert_array_equal(randomly["img"], source[y:y + h, x:x + w])
    padded = transform(type="Crop", keys=["img"], crop_size=(10, 10), random_crop=False, is_pad_zeros=True)(
        {"img": source})["img"]
    # shortfall 4 rows: pad 2·(4 // 2) = 4 on each side (14 rows), then the centred 10
    assert padded.shape == (10, 10, 3) and not padded[:2].any() and np.array_equal(padded[2:8], source)
    with pytest.raises(ConfigError, match="crop_size"):
        transform(type="Crop", keys=["img"], crop_size=[4, 4])
    modded = transform(type="ModCrop")({"gt": image(11, 9), "scale": 4})["gt"]
    np.testing.assert_array_equal(modded, image(11, 9)[:8, :8])
    centred = transform(type="CenterCropLongEdge", keys=["img"])({"img": source})["img"]
    np.testing.assert_array_equal(centred, source[:, 2:8])
    tall = image(9, 4)
    np.testing.assert_array_equal(transform(type="CenterCropLongEdge")({"img": tall})["img"], tall[2:6])
    for seed in range(4):
        np.random.seed(seed)
        square = transform(type="RandomCropLongEdge", keys="img")({"img": source})["img"]
        offsets = [o for o in range(4) if np.array_equal(source[:, o:o + 6], square)]  # MMagic: offset in [0, 4)
        assert square.shape == (6, 6, 3) and offsets
    like = transform(type="CropLike", target_key="mask", reference_key="img")({"img": source, "mask": image(8, 4)})
    assert like["mask"].shape == (6, 10, 3) and np.array_equal(like["mask"][:, :4], image(8, 4)[:6])
    assert not like["mask"][:, 4:].any()


def test_set_copy_clip_and_numpy_pad():
    values = transform(type="SetValues", dictionary=dict(scale=4, extra=[1]))
    first = values({})
    first["extra"].append(2)
    assert values({}) == {"scale": 4, "extra": [1]}  # deep-copied each time
    copied = transform(type="CopyValues", src_keys=["gt"], dst_keys=["img"])(
        {"gt": image(2, 2), "gt_channel_order": "bgr"})
    copied["img"][0, 0, 0] = 7 if copied["gt"][0, 0, 0] != 7 else 8
    assert copied["img"][0, 0, 0] != copied["gt"][0, 0, 0] and copied["img_channel_order"] == "bgr"
    with pytest.raises(ConfigError, match="differ in length"):
        transform(type="CopyValues", src_keys=["a"], dst_keys=["b", "c"])
    clipped = transform(type="Clip", keys=["img"])({"img": np.array([[[-3.0, 100.0, 300.0]]])})["img"]
    np.testing.assert_array_equal(clipped, [[[0.0, 100.0, 255.0]]])
    unit = transform(type="Clip", keys="img", a_min=0, a_max=1)({"img": np.array([[[-1.0, 0.5, 2.0]]])})["img"]
    np.testing.assert_array_equal(unit, [[[0.0, 0.5, 1.0]]])
    padded = transform(type="NumpyPad", keys="img", padding=((2, 2), (0, 0), (0, 0)), mode="reflect")(
        {"img": image(3, 2)})["img"]
    np.testing.assert_array_equal(padded, np.pad(image(3, 2), ((2, 2), (0, 0), (0, 0)), mode="reflect"))


def test_random_down_sampling_and_random_resize():
    gt = image(20, 17)
    for seed in range(3):
        np.random.seed(seed)
        out = transform(type="RandomDownSampling", scale_min=1.5, scale_max=3.0)({"gt": gt, "gt_channel_order": "rgb"})
        scale = out["scale"]
        h_lr, w_lr = math.floor(20 / scale + 1e-9), math.floor(17 / scale + 1e-9)
        assert 1.5 <= scale < 3.0 and out["img"].shape == (h_lr, w_lr, 3)
        assert out["gt"].shape == (round(h_lr * scale), round(w_lr * scale), 3)
        expected = np.asarray(Image.fromarray(out["gt"]).resize((w_lr, h_lr), Image.Resampling.BICUBIC))
        np.testing.assert_array_equal(out["img"], expected)  # backend 'pillow' by default
        assert out["img_channel_order"] == "rgb"
    patch = transform(type="RandomDownSampling", scale_min=2.0, scale_max=2.0, patch_size=4)({"gt": gt})
    assert patch["img"].shape == (4, 4, 3) and patch["gt"].shape == (8, 8, 3)
    block = image(8, 8).astype(np.float32)
    area = transform(type="RandomResize", keys=["img"],
                     params=dict(target_size=(4, 2), resize_opt=["area"], resize_prob=[1]))({"img": block})["img"]
    np.testing.assert_allclose(area, block.astype(np.float64).reshape(4, 2, 2, 4, 3).mean(axis=(1, 3)), atol=1e-3)
    down = transform(type="RandomResize", keys=["img"], params=dict(
        resize_mode_prob=[0, 1, 0], resize_scale=[0.25, 1], resize_opt=["bilinear"], resize_prob=[1]))
    for seed in range(5):
        out = down({"img": image(16, 16), "sample_idx": seed, "seed": 0})["img"]
        assert out.shape[0] == out.shape[1] and 4 <= out.shape[0] <= 16 and out.dtype == np.uint8
    never = transform(type="RandomResize", keys=["img"], params=dict(
        target_size=(2, 2), resize_opt=["bicubic"], resize_prob=[1], prob=0))({"img": image(5, 5)})
    assert never["img"].shape == (5, 5, 3)
    with pytest.raises(ConfigError, match="resize_opt"):
        transform(type="RandomResize", keys=["img"], params=dict(target_size=(2, 2), resize_opt=["spline"],
                                                                  resize_prob=[1]))


def test_seeded_samples_reproduce_and_differently_configured_transforms_draw_independently():
    horizontal = transform(type="Flip", keys="img", direction="horizontal")
    vertical = transform(type="Flip", keys="img", direction="vertical")
    crop = transform(type="Crop", keys=["img"], crop_size=(2, 2))
    source = image(6, 6)

    def run(index, epoch):
        sample = transform(type="SetValues", dictionary=dict(seed=3, epoch=epoch))({"img": source, "sample_idx": index})
        sample = crop(horizontal(vertical(sample)))
        return tuple(info["flip"] for info in sample["flip_infos"]) + tuple(sample["img_crop_bbox"])

    first = [run(i, 0) for i in range(200)]
    assert first == [run(i, 0) for i in range(200)] and first != [run(i, 1) for i in range(200)]
    both = sum(v and h for v, h, *_ in first)
    assert 25 < both < 75  # independent halves: about a quarter flip both ways (not half, as one shared draw gives)


def test_seeded_draws_are_the_same_in_another_process():
    import subprocess
    import sys

    script = """
import numpy as np
from mgx.core.plugins import PluginManager
from mgx.core.registry import build
PluginManager(["mgx.plugins.data"]).activate()
shuffle = build(dict(type="DegradationsWithShuffle", keys=["img"], degradations=[
    dict(type="RandomNoise", params=dict(noise_type=["gaussian"], noise_prob=[1], gaussian_sigma=[1, 9],
                                         gaussian_gray_noise_prob=0.5))]), "transform")
crop = build(dict(type="Crop", keys=["img"], crop_size=(3, 3)), "transform")
image = np.zeros((8, 8, 3), np.uint8)
out = [crop(shuffle({"img": image, "sample_idx": i, "seed": 5, "epoch": 2})) for i in range(4)]
print(repr([(round(float(o["img"].std()), 6), o["img_crop_bbox"]) for o in out]))
"""
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.strip()

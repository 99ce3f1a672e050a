import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build


def transform(**cfg):
    return build(cfg, "transform")


def image(height=12, width=16, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def test_resize_scale_forms_and_auto_keys():
    sample = {"img": image(), "gt": image(12, 16, 1), "label": 3, "img_path": "x.png"}
    out = transform(type="Resize", scale=(8, 4))(dict(sample))  # MMagic's default keys='img'
    assert out["img"].shape == (4, 8, 3) and out["gt"].shape == (12, 16, 1) and out["img"].dtype == np.uint8
    both = transform(type="Resize", scale=(8, 4), keys=["img", "gt"])(dict(sample))
    assert both["gt"].shape == (4, 8, 1) and both["img_shape"] == (4, 8, 3) and both["gt_shape"] == (4, 8, 1)
    assert out["label"] == 3 and out["img_path"] == "x.png"
    only = transform(type="Resize", scale=10, keys=["img"])(dict(sample))
    assert only["img"].shape == (10, 10, 3) and only["gt"].shape == (12, 16, 1)
    assert transform(type="Resize", scale=(8, 8), keep_ratio=True)({"img": image()})["img"].shape == (6, 8, 3)
    assert transform(type="Resize", scale=(-1, 6))({"img": image()})["img"].shape == (6, 8, 3)
    assert transform(type="Resize", scale=0.5)({"img": image()})["img"].shape == (6, 8, 3)
    floats = transform(type="Resize", scale=(8, 6), interpolation="nearest")({"img": image().astype(np.float32)})
    assert floats["img"].dtype == np.float32 and floats["img"].shape == (6, 8, 3)
    with pytest.raises(ConfigError, match="scale"):
        transform(type="Resize", scale=(0, 3))
    with pytest.raises(ConfigError, match="interpolation"):
        transform(type="Resize", scale=4, interpolation="lanczos9")


def test_resize_matches_pillow_bilinear():
    source = image(9, 13)
    expected = np.asarray(Image.fromarray(source).resize((20, 7), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(transform(type="Resize", scale=(20, 7), backend="pillow")({"img": source})["img"],
                                  expected)


def test_flip_applies_one_decision_to_every_key():
    sample = {"img": image(), "lq": image(seed=1)}
    flipped = transform(type="Flip", flip_ratio=1.0)(dict(sample))
    np.testing.assert_array_equal(flipped["img"], sample["img"][:, ::-1])
    np.testing.assert_array_equal(flipped["lq"], sample["lq"][:, ::-1])
    vertical = transform(type="Flip", flip_ratio=1.0, direction="vertical", keys="img")(dict(sample))
    np.testing.assert_array_equal(vertical["img"], sample["img"][::-1])
    np.testing.assert_array_equal(vertical["lq"], sample["lq"])
    kept = transform(type="Flip", flip_ratio=0.0)(dict(sample))
    np.testing.assert_array_equal(kept["img"], sample["img"])


def test_flip_is_reproducible_from_sample_idx_and_epoch():
    flip = transform(type="Flip")
    base = image(2, 3)

    def decisions(epoch):
        return [not np.array_equal(flip({"img": base, "sample_idx": i, "epoch": epoch})["img"], base)
                for i in range(200)]

    first = decisions(0)
    assert first == decisions(0)
    assert first != decisions(1)
    assert 60 < sum(first) < 140
    np.random.seed(0)
    global_draws = [not np.array_equal(flip({"img": base, "sample_idx": 0})["img"], base) for _ in range(50)]
    assert 0 < sum(global_draws) < 50  # no epoch/seed field: the global RNG decides each time


def test_without_epoch_or_seed_transforms_draw_from_numpys_global_rng_itself():
    """MMagic's rule: numpy's global state, so ``numpy.random.seed`` repeats the draws (PyTorch seeds
    it in each worker) and each draw advances it as MMagic's direct ``np.random`` calls do."""
    crop = transform(type="Crop", keys="img", crop_size=(2, 2), random_crop=True)
    base = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)

    def boxes(seed):
        np.random.seed(seed)
        return [crop({"img": base, "sample_idx": 0})["img_crop_bbox"] for _ in range(20)]

    first = boxes(7)
    assert first == boxes(7) and first != boxes(8) and len({tuple(box) for box in first}) > 5
    np.random.seed(7)
    expected = np.random.Generator(np.random.MT19937(0))  # the same stream, drawn by hand
    expected.bit_generator.state = np.random.get_bit_generator().state
    x, y = int(expected.integers(0, 9)), int(expected.integers(0, 9))
    assert crop({"img": base})["img_crop_bbox"] == [x, y, 2, 2]
    after, wanted = np.random.get_bit_generator().state["state"], expected.bit_generator.state["state"]
    assert np.array_equal(after["key"], wanted["key"]) and after["pos"] == wanted["pos"]


def test_normalize_gives_float32():
    out = transform(type="Normalize", mean=[127.5] * 3, std=[127.5] * 3)({"img": np.full((2, 2, 3), 255, np.uint8)})
    assert out["img"].dtype == np.float32 and np.allclose(out["img"], 1.0)
    with pytest.raises(MgxError, match="2 values but field 'img' has 3 channels"):
        transform(type="Normalize", mean=[0, 0], std=[1, 1])({"img": image()})
    packed = transform(type="PackInputs")(out)
    assert packed["inputs"].dtype == torch.float32 and packed["inputs"].shape == (3, 2, 2)


def test_degrade_for_restoration_makes_a_blurred_same_size_copy():
    ys, xs = np.mgrid[0:32, 0:32]
    gt = np.stack([((xs // 2 + ys // 2) % 2) * 255] * 3, -1).astype(np.uint8)  # 2-px checkerboard
    out = transform(type="DegradeForRestoration", scale=4)({"gt": gt})
    assert out["lq"].shape == gt.shape and out["lq"].dtype == np.uint8
    np.testing.assert_array_equal(out["gt"], gt)
    down = Image.fromarray(gt).resize((8, 8), Image.Resampling.BICUBIC)
    np.testing.assert_array_equal(out["lq"], np.asarray(down.resize((32, 32), Image.Resampling.BICUBIC)))
    assert np.abs(np.diff(out["lq"].astype(float), axis=1)).mean() < 0.5 * np.abs(np.diff(gt.astype(float), axis=1)).mean()


def test_pack_inputs_names_fields():
    sample = {"img": image(4, 5), "gt": image(4, 5, seed=1), "lq": image(2, 3, seed=2), "mask": image(4, 5, 1),
              "label": 7, "img_path": "a.png"}
    img_only = transform(type="PackInputs")({k: sample[k] for k in ("img", "mask", "label", "img_path")})
    assert set(img_only) == {"inputs", "gt_img", "mask", "label", "img_path"}
    assert img_only["inputs"].dtype == torch.uint8 and img_only["inputs"].shape == (3, 4, 5)
    assert torch.equal(img_only["inputs"], torch.from_numpy(sample["img"]).permute(2, 0, 1))
    assert torch.equal(img_only["gt_img"], img_only["inputs"])
    assert img_only["mask"].shape == (1, 4, 5) and img_only["label"] == 7 and img_only["img_path"] == "a.png"
    paired = transform(type="PackInputs")({k: sample[k] for k in ("gt", "lq")})
    assert set(paired) == {"inputs", "gt_img", "lq_img"} and paired["lq_img"].shape == (3, 2, 3)
    assert paired["inputs"] is paired["lq_img"]
    with pytest.raises(MgxError, match="already has field"):
        transform(type="PackInputs")({"img": sample["img"], "inputs": 1})


def test_transforms_fail_clearly_on_missing_or_packed_fields():
    with pytest.raises(MgxError, match="no field 'gt'"):
        transform(type="DegradeForRestoration")({"img": image()})
    packed = transform(type="PackInputs")({"img": image()})
    with pytest.raises(MgxError, match="before PackInputs"):
        transform(type="Resize", scale=4, keys="inputs")(packed)
    with pytest.raises(ConfigError, match="Did you mean 'Resize'"):
        transform(type="Resise", scale=4)

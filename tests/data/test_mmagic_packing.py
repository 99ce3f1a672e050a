"""PackInputs, LoadImageFromFile and BasicImageDataset against MMagic 1.2.0's definitions (docs/data.md)."""
import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build


def transform(**cfg):
    return build(cfg, "transform")


def rgb(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def chw(image):
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


# -- PackInputs -------------------------------------------------------------------

def test_unconditional_gan_loaded_as_gt_gives_the_generator_real_images(tmp_path):
    # MMagic's unconditional configs: LoadImageFromFile(key='gt') (BGR by default), Resize(keys='gt'), PackInputs()
    write_png(tmp_path / "a.png", rgb(8, 8))
    dataset = build(dict(type="BasicImageDataset", data_root=str(tmp_path), data_prefix=dict(gt=""), pipeline=[
        dict(type="LoadImageFromFile", key="gt"), dict(type="Resize", keys="gt", scale=(4, 4)),
        dict(type="PackInputs")]), "dataset")
    batch = torch.utils.data.default_collate([dataset[0], dataset[0]])
    assert batch["inputs"].shape == batch["gt_img"].shape == (2, 3, 4, 4) and batch["inputs"].dtype == torch.uint8
    assert torch.equal(batch["inputs"], batch["gt_img"]) and "lq_img" not in batch
    # loaded BGR, packed RGB: the channels are the file's own order again
    expected = transform(type="Resize", keys="gt", scale=(4, 4))({"gt": rgb(8, 8)})["gt"]
    assert torch.equal(batch["gt_img"][0], chw(expected))
    assert batch["gt_channel_order"] == ["rgb", "rgb"] and batch["gt_path"][0].endswith("a.png")


def test_restoration_img_and_gt_pack_to_an_input_ground_truth_pair():
    lq, gt = rgb(4, 5, 1), rgb(8, 10, 2)
    packed = transform(type="PackInputs")({"img": lq, "gt": gt, "scale": 2, "key": "0001", "img_path": "LR/0001.png"})
    assert torch.equal(packed["inputs"], chw(lq)) and torch.equal(packed["gt_img"], chw(gt))
    assert packed["lq_img"] is packed["inputs"]
    assert packed["scale"] == 2 and packed["key"] == "0001" and packed["img_path"] == "LR/0001.png"
    assert "img" not in packed and "gt" not in packed


def test_mgx_lq_key_is_the_input_and_img_beside_it_the_ground_truth():
    clean, degraded = rgb(6, 6, 3), rgb(6, 6, 4)
    packed = transform(type="PackInputs")({"img": clean, "lq": degraded})
    assert torch.equal(packed["inputs"], chw(degraded)) and torch.equal(packed["lq_img"], chw(degraded))
    assert torch.equal(packed["gt_img"], chw(clean))


def test_pack_inputs_keys_data_keys_meta_keys_and_mmagic_names():
    a, b, gt, merged = rgb(3, 3, 5), rgb(3, 3, 6), rgb(3, 3, 7), rgb(3, 3, 8)
    several = transform(type="PackInputs", keys=["imgL", "imgR"])({"imgL": a, "imgR": b, "gt": gt})
    assert set(several["inputs"]) == {"imgL", "imgR"} and torch.equal(several["inputs"]["imgR"], chw(b))
    assert torch.equal(several["gt_img"], chw(gt)) and "lq_img" not in several
    own_names = transform(type="PackInputs", keys=["img_a"], data_keys=["img_b"], meta_keys=["note"])(
        {"img_a": a, "img_b": b, "note": (1, "x")})
    assert torch.equal(own_names["inputs"], chw(a)) and torch.equal(own_names["img_b"], chw(b))
    assert own_names["note"] == (1, "x")
    matting = transform(type="PackInputs")({"merged": merged, "alpha": gt[..., :1]})
    assert torch.equal(matting["inputs"], chw(merged)) and torch.equal(matting["gt_merged"], chw(merged))
    assert matting["gt_alpha"].shape == (1, 3, 3)
    as_gt = transform(type="PackInputs", keys="gt")({"gt": gt})
    assert torch.equal(as_gt["inputs"], chw(gt)) and torch.equal(as_gt["gt_img"], chw(gt))


def test_pack_inputs_drops_uncollatable_records_and_keeps_float32():
    sample = transform(type="Flip", keys="img", flip_ratio=1.0)({"img": rgb(2, 2).astype(np.float32) / 3})
    sample = transform(type="Resize", scale=(4, 4))(sample)
    assert sample["flip_infos"] == [dict(keys=["img"], direction="horizontal", ratio=1.0, flip=True)]
    assert sample["backend"] is None
    packed = transform(type="PackInputs")(sample)
    assert "flip_infos" not in packed and "backend" not in packed and packed["inputs"].dtype == torch.float32
    torch.utils.data.default_collate([packed, packed])  # everything left batches
    with pytest.raises(ConfigError, match="can not be None"):
        transform(type="PackInputs", keys=None)


# -- LoadImageFromFile -------------------------------------------------------------

def test_load_image_channel_order_color_type_float32_and_records(tmp_path):
    pixels = rgb(5, 7, 9)
    write_png(tmp_path / "x.png", pixels)
    rgba = np.concatenate([pixels, np.full((5, 7, 1), 77, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    Image.fromarray((np.arange(35, dtype=np.uint16).reshape(5, 7) * 1000)).save(tmp_path / "deep.png")
    path = str(tmp_path / "x.png")
    loaded = transform(type="LoadImageFromFile", key="gt", channel_order="rgb", imdecode_backend="cv2")({"gt_path": path})
    np.testing.assert_array_equal(loaded["gt"], pixels)
    assert loaded["ori_gt_shape"] == (5, 7, 3) and loaded["gt_channel_order"] == "rgb"
    assert loaded["gt_color_type"] == "color"
    bgr = transform(type="LoadImageFromFile", key="gt")({"gt_path": path})  # MMagic's default: 'bgr'
    np.testing.assert_array_equal(bgr["gt"], pixels[..., ::-1])
    assert bgr["gt_channel_order"] == "bgr"
    gray = transform(type="LoadImageFromFile", key="gt", color_type="grayscale")({"gt_path": path})["gt"]
    luma = 0.299 * pixels[..., 0] + 0.587 * pixels[..., 1] + 0.114 * pixels[..., 2]  # ITU-R 601
    assert gray.shape == (5, 7, 1) and np.abs(gray[..., 0].astype(float) - luma).max() <= 1.0
    floats = transform(type="LoadImageFromFile", key="gt", channel_order="rgb", to_float32=True)({"gt_path": path})
    assert floats["gt"].dtype == np.float32 and np.array_equal(floats["gt"], pixels.astype(np.float32))
    unchanged = transform(type="LoadImageFromFile", key="gt", color_type="unchanged")(
        {"gt_path": str(tmp_path / "alpha.png")})["gt"]
    np.testing.assert_array_equal(unchanged, np.concatenate([pixels[..., ::-1], rgba[..., 3:]], axis=2))
    deep = transform(type="LoadImageFromFile", key="gt", color_type="unchanged")(
        {"gt_path": str(tmp_path / "deep.png")})["gt"]
    assert deep.dtype == np.uint16 and deep[-1, -1, 0] == 34000
    deep_gray = transform(type="LoadImageFromFile", key="gt", color_type="grayscale")(
        {"gt_path": str(tmp_path / "deep.png")})["gt"]
    assert deep_gray.dtype == np.uint8 and deep_gray[-1, -1, 0] == 34000 >> 8  # the high byte, as OpenCV
    y = transform(type="LoadImageFromFile", key="gt", channel_order="rgb", to_y_channel=True)({"gt_path": path})["gt"]
    expected_y = (65.481 * pixels[..., 0] + 128.553 * pixels[..., 1] + 24.966 * pixels[..., 2]) / 255 + 16
    np.testing.assert_array_equal(y[..., 0], np.rint(expected_y).astype(np.uint8))
    for bad in (dict(channel_order="rgba"), dict(color_type="colour"), dict(imdecode_backend="magic")):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            transform(type="LoadImageFromFile", key="gt", **bad)
    with pytest.raises(MgxError, match="neither 'gt_path' nor 'img_path'"):
        transform(type="LoadImageFromFile", key="gt")({})
    cached = transform(type="LoadImageFromFile", key="gt", use_cache=True, save_original_img=True)
    first = cached({"gt_path": path})
    first["gt"][0, 0, 0] ^= 1
    (tmp_path / "x.png").unlink()  # served from the cache now, unchanged by the edit above
    second = cached({"gt_path": path})
    np.testing.assert_array_equal(second["gt"], pixels[..., ::-1])
    np.testing.assert_array_equal(second["ori_gt"], second["gt"])


# -- BasicImageDataset ----------------------------------------------------------------

@pytest.fixture
def div2k_like(tmp_path):
    root = tmp_path / "DIV2K"
    for index in (1, 2, 3):
        write_png(root / "HR" / f"{index:04d}.png", rgb(8, 8, index))
        write_png(root / "LR" / f"{index:04d}_x2.png", rgb(4, 4, 10 + index))
    (root / "meta_info.txt").write_text("0002.png (8,8,3)\n\n0001.png (8,8,3)\n")
    return root


def test_ann_file_lists_images_under_data_root_with_filename_tmpl(div2k_like):
    dataset = build(dict(type="BasicImageDataset", ann_file="meta_info.txt", metainfo=dict(dataset_type="div2k",
                         task_name="sisr"), data_root=str(div2k_like), data_prefix=dict(img="LR", gt="HR"),
                         filename_tmpl=dict(img="{}_x2", gt="{}")), "dataset")
    assert [s["key"] for s in dataset.samples] == ["0002", "0001"]  # the file's order
    assert dataset.samples[0]["img_path"] == str(div2k_like / "LR" / "0002_x2.png")
    assert dataset.samples[0]["gt_path"] == str(div2k_like / "HR" / "0002.png")
    assert dataset.metainfo == dict(dataset_type="div2k", task_name="sisr")
    (div2k_like / "bad.txt").write_text("0009.png\n")
    with pytest.raises(ConfigError, match=r"lists 0009.png but its 'img' file .*0009_x2.png"):
        build(dict(type="BasicImageDataset", ann_file="bad.txt", data_root=str(div2k_like),
                   data_prefix=dict(img="LR", gt="HR"), filename_tmpl=dict(img="{}_x2")), "dataset")
    with pytest.raises(ConfigError, match="ann_file .*missing.txt.* does not exist"):
        build(dict(type="BasicImageDataset", ann_file="missing.txt", data_root=str(div2k_like)), "dataset")


def test_folder_listing_strips_the_search_template_and_trains_a_paired_pipeline(div2k_like):
    dataset = build(dict(type="BasicImageDataset", data_root=str(div2k_like), data_prefix=dict(img="LR", gt="HR"),
                         filename_tmpl=dict(img="{}_x2"), pipeline=[
                             dict(type="LoadImageFromFile", key="img", channel_order="rgb"),
                             dict(type="LoadImageFromFile", key="gt", channel_order="rgb"),
                             dict(type="SetValues", dictionary=dict(scale=2)),
                             dict(type="PairedRandomCrop", gt_patch_size=4),
                             dict(type="Flip", keys=["img", "gt"], flip_ratio=0.5, direction="horizontal"),
                             dict(type="RandomTransposeHW", keys=["img", "gt"], transpose_ratio=0.5),
                             dict(type="PackInputs")]), "dataset")
    assert [s["key"] for s in dataset.samples] == ["0001", "0002", "0003"]
    batch = torch.utils.data.default_collate([dataset[i] for i in range(3)])
    assert batch["inputs"].shape == batch["lq_img"].shape == (3, 3, 2, 2) and batch["gt_img"].shape == (3, 3, 4, 4)
    assert batch["scale"].tolist() == [2, 2, 2]
    search_gt = build(dict(type="BasicImageDataset", data_root=str(div2k_like), data_prefix=dict(gt="HR", img="LR"),
                           filename_tmpl=dict(img="{}_x2")), "dataset")
    assert search_gt.samples[2]["img_path"].endswith("LR/0003_x2.png")
    with pytest.raises(ConfigError, match="data_root is not set"):
        build(dict(type="BasicImageDataset", data_prefix=dict(gt="")), "dataset")
    with pytest.raises(ConfigError, match="filename_tmpl names 'lq'"):
        build(dict(type="BasicImageDataset", data_root=str(div2k_like), data_prefix=dict(gt="HR"),
                   filename_tmpl=dict(lq="{}")), "dataset")

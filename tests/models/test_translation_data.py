"""MMagic's translation data: PairedImageDataset / UnpairedImageDataset layouts, LoadPairedImageFromFile,
FixedCrop, and MMCV's KeyMapper / TransformBroadcaster as MMagic's configs use them."""
import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from gan_zoo_helpers import write_paired_layout, write_unpaired_layout

KEY_MAPPER = dict(type="KeyMapper", mapping={"img_photo": "img_A", "img_mask": "img_B"},
                  remapping={"img_photo": "img_photo", "img_mask": "img_mask"})
PACK = dict(type="PackInputs", keys=["img_photo", "img_mask"], data_keys=["img_photo", "img_mask"])


def test_paired_dataset_splits_pairs_and_packs_domains(tmp_path):
    root = write_paired_layout(tmp_path / "facades", size=8, counts={"train": 3, "val": 2})
    pipeline = [dict(type="LoadPairedImageFromFile", key="pair", domain_a="A", domain_b="B", color_type="color"),
                dict(type="TransformBroadcaster", mapping={"img": ["img_A", "img_B"]}, auto_remap=True,
                     share_random_params=True, transforms=[dict(type="Resize", scale=(8, 8), keys="img",
                                                                interpolation="bicubic")]),
                KEY_MAPPER, PACK]
    train = build(dict(type="PairedImageDataset", data_root=str(root), pipeline=pipeline), "dataset")
    test = build(dict(type="PairedImageDataset", data_root=str(root), pipeline=pipeline, test_mode=True,
                      test_dir="val"), "dataset")
    assert len(train) == 3 and len(test) == 2 and test.pair_paths[0].endswith("val/0.png")
    sample = train[0]
    pair = np.asarray(Image.open(root / "train" / "0.png"))
    photo, mask = sample["inputs"]["img_photo"], sample["inputs"]["img_mask"]
    assert photo.shape == (3, 8, 8) and torch.equal(sample["img_photo"], photo)
    # RGB out (the halves carry the pair's channel order), A left and B right (B is A's inverse here)
    assert np.array_equal(photo.permute(1, 2, 0).numpy(), pair[:, :8])
    assert np.array_equal(mask.permute(1, 2, 0).numpy(), pair[:, 8:])
    with pytest.raises(ConfigError, match="does not exist"):
        build(dict(type="PairedImageDataset", data_root=str(root), pipeline=[], test_mode=True), "dataset")


def test_paired_loader_rejects_odd_widths(tmp_path):
    (tmp_path / "train").mkdir()
    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(tmp_path / "train" / "x.png")
    dataset = build(dict(type="PairedImageDataset", data_root=str(tmp_path),
                         pipeline=[dict(type="LoadPairedImageFromFile", key="pair")]), "dataset")
    with pytest.raises(MgxError, match="width must be even"):
        dataset[0]


def test_unpaired_dataset_layout_and_shared_crop(tmp_path):
    root = write_unpaired_layout(tmp_path / "h2z", size=8, counts={"trainA": 3, "trainB": 2, "testA": 1,
                                                                    "testB": 2})
    pipeline = [dict(type="LoadImageFromFile", key="img_A", color_type="color"),
                dict(type="LoadImageFromFile", key="img_B", color_type="color"),
                dict(type="TransformBroadcaster", mapping={"img": ["img_A", "img_B"]}, auto_remap=True,
                     share_random_params=True,
                     transforms=[dict(type="Crop", keys=["img"], crop_size=(3, 3), random_crop=True)])]
    train = build(dict(type="UnpairedImageDataset", data_root=str(root), pipeline=pipeline), "dataset")
    test = build(dict(type="UnpairedImageDataset", data_root=str(root), pipeline=[], test_mode=True), "dataset")
    assert len(train) == 3 and len(test) == 2
    assert test[1]["img_A_path"].endswith("testA/0.png") and test[1]["img_B_path"].endswith("testB/1.png")
    for index in range(3):
        sample = train[index]
        assert sample["img_A"].shape == sample["img_B"].shape == (3, 3, 3)
        a = np.asarray(Image.open(sample["img_A_path"]))[..., ::-1]  # loaded BGR, MMagic's default
        b = np.asarray(Image.open(sample["img_B_path"]))[..., ::-1]
        windows = [(y, x) for y in range(6) for x in range(6)
                   if np.array_equal(a[y:y + 3, x:x + 3], sample["img_A"])
                   and np.array_equal(b[y:y + 3, x:x + 3], sample["img_B"])]
        assert windows  # one window for both images: share_random_params


def test_broadcaster_without_sharing_draws_per_field():
    broadcaster = build(dict(type="TransformBroadcaster", mapping={"img": ["a", "b"]}, share_random_params=False,
                             transforms=dict(type="Crop", keys=["img"], crop_size=(1, 1))), "transform")
    image = np.arange(64, dtype=np.uint8).reshape(8, 8, 1)
    different = 0
    for seed in range(8):
        out = broadcaster({"a": image, "b": image.copy(), "seed": seed, "sample_idx": 0})
        different += int(out["a"][0, 0, 0] != out["b"][0, 0, 0])
    assert different >= 6


def test_fixed_crop_and_key_mapper():
    image = np.arange(6 * 6 * 3, dtype=np.uint8).reshape(6, 6, 3)
    crop = build(dict(type="FixedCrop", keys=["x", "y"], crop_size=(2, 3), crop_pos=(1, 2)), "transform")
    out = crop({"x": image, "y": image + 1})
    assert np.array_equal(out["x"], image[2:4, 1:4]) and out["y_crop_bbox"] == [1, 2, 3, 2]
    with pytest.raises(MgxError, match="one size"):
        crop({"x": image, "y": image[:5]})
    mapper = build(KEY_MAPPER, "transform")
    out = mapper({"img_A": image, "img_B": image + 1, "img_A_channel_order": "bgr", "img_B_channel_order": "bgr"})
    assert out["img_photo"] is out["img_A"] and out["img_photo_channel_order"] == "bgr"
    with pytest.raises(MgxError, match="lacks"):
        mapper({"img_A": image})
    with pytest.raises(ConfigError, match="mapping must map"):
        build(dict(type="TransformBroadcaster", mapping={"img": "img_A"}, transforms=[]), "transform")

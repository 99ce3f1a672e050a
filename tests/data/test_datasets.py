import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def gradient(height, width, offset=0):
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([(xs * 7 + offset) % 256, (ys * 5) % 256, np.full_like(xs, offset % 256)], -1).astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "images"
    write_png(root / "b.png", gradient(20, 30, 1))
    write_png(root / "a.png", gradient(10, 12, 2))
    write_png(root / "sub" / "c.png", gradient(16, 16, 3))
    (root / "notes.txt").write_text("not an image")
    return root


def test_basic_image_dataset_lists_sorted_files_recursively_and_runs_the_pipeline(image_folder):
    dataset = build(dict(type="BasicImageDataset", data_root=str(image_folder), pipeline=[
        dict(type="LoadImageFromFile", key="img"), dict(type="Resize", scale=(8, 6)), dict(type="PackInputs")]),
        "dataset")
    assert len(dataset) == 3
    assert [s["img_path"] for s in dataset.samples] == [str(image_folder / n) for n in ("a.png", "b.png", "sub/c.png")]
    sample = dataset[1]
    assert sample["sample_idx"] == 1 and sample["img_path"].endswith("b.png")
    assert sample["inputs"].dtype == torch.uint8 and sample["inputs"].shape == (3, 6, 8)
    assert torch.equal(sample["inputs"], sample["gt_img"])
    loader = torch.utils.data.DataLoader(dataset, batch_size=3)
    batch = next(iter(loader))
    assert batch["gt_img"].shape == (3, 3, 6, 8) and batch["sample_idx"].tolist() == [0, 1, 2]


def test_basic_image_dataset_loads_exact_pixels(image_folder):
    dataset = build(dict(type="BasicImageDataset", data_root=str(image_folder), recursive=False,
                         pipeline=[dict(type="LoadImageFromFile", channel_order="rgb")]), "dataset")
    assert len(dataset) == 2
    np.testing.assert_array_equal(dataset[0]["img"], gradient(10, 12, 2))
    bgr = build(dict(type="LoadImageFromFile"), "transform")({"img_path": dataset.samples[0]["img_path"]})
    np.testing.assert_array_equal(bgr["img"], gradient(10, 12, 2)[..., ::-1])
    gray = build(dict(type="LoadImageFromFile", key="gt", color_type="grayscale"), "transform")(
        {"img_path": dataset.samples[0]["img_path"]})
    assert gray["gt"].shape == (10, 12, 1) and gray["gt_path"].endswith("a.png")


def test_empty_and_missing_folders_are_config_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("x")
    with pytest.raises(ConfigError, match=r"no images in .*empty.*\.png, \.jpg"):
        build(dict(type="BasicImageDataset", data_root=str(tmp_path / "empty")), "dataset")
    with pytest.raises(ConfigError, match="nowhere.*does not exist"):
        build(dict(type="BasicImageDataset", data_root=str(tmp_path / "nowhere")), "dataset")


def test_corrupt_and_truncated_images_name_the_file(tmp_path):
    write_png(tmp_path / "good.png", gradient(8, 8))
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    full = (tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(full[: len(full) // 2])
    dataset = build(dict(type="BasicImageDataset", data_root=str(tmp_path),
                         pipeline=[dict(type="LoadImageFromFile")]), "dataset")
    with pytest.raises(MgxError, match="broken.png"):
        dataset[0]
    with pytest.raises(MgxError, match="cut.png"):
        dataset[1]
    assert dataset[2]["img"].shape == (8, 8, 3)


def test_paired_folders_match_by_relative_name(tmp_path):
    for name in ("x", "y"):
        write_png(tmp_path / "HR" / f"{name}.png", gradient(8, 8))
        write_png(tmp_path / "LR" / f"{name}.png", gradient(4, 4))
    dataset = build(dict(type="BasicImageDataset", data_root=str(tmp_path), data_prefix=dict(gt="HR", lq="LR"),
                         pipeline=[dict(type="LoadImageFromFile", key="gt"), dict(type="LoadImageFromFile", key="lq"),
                                   dict(type="PackInputs")]), "dataset")
    sample = dataset[1]
    assert sample["gt_img"].shape == (3, 8, 8) and sample["lq_img"].shape == (3, 4, 4)
    assert sample["gt_path"].endswith("HR/y.png") and sample["lq_path"].endswith("LR/y.png")
    (tmp_path / "LR" / "y.png").unlink()
    with pytest.raises(ConfigError, match="lists y.png but its 'lq' file .*LR/y.png.* does not exist"):
        build(dict(type="BasicImageDataset", data_root=str(tmp_path), data_prefix=dict(gt="HR", lq="LR")), "dataset")


def test_digits_dataset_shapes_splits_and_determinism():
    full = build(dict(type="DigitsDataset"), "dataset")
    assert len(full) == 1797
    sample = full[5]
    image = sample["img"]
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])
    assert sample["label"] == 5 and sample["sample_idx"] == 5
    assert max(int(full[i]["img"].max()) for i in range(20)) == 255
    train = build(dict(type="DigitsDataset", split="train", image_size=16), "dataset")
    val = build(dict(type="DigitsDataset", split="val", image_size=16), "dataset")
    assert len(val) == 180 and len(train) + len(val) == 1797
    assert not set(train.indices.tolist()) & set(val.indices.tolist())
    again = build(dict(type="DigitsDataset", split="val", image_size=16), "dataset")
    assert np.array_equal(again.indices, val.indices) and np.array_equal(again[3]["img"], val[3]["img"])
    assert val[0]["img"].shape == (16, 16, 3)
    packed = build(dict(type="DigitsDataset", pipeline=[dict(type="PackInputs")]), "dataset")[0]
    assert packed["inputs"].shape == (3, 32, 32) and packed["inputs"].dtype == torch.uint8
    with pytest.raises(ConfigError, match="split"):
        build(dict(type="DigitsDataset", split="test"), "dataset")



def test_digits_are_scikit_learns():
    """DigitsDataset reads scikit-learn's digits file itself (importing sklearn costs ~1.4 s of CPU in
    every `mgx` process; tests/engine/test_image_grid.py checks a run does not import it): the same
    images and labels as ``load_digits``."""
    from sklearn.datasets import load_digits

    from mgx.plugins.data.datasets import _load_digits

    images, labels = _load_digits()
    digits = load_digits()
    assert images.dtype == digits.images.dtype and np.array_equal(images, digits.images)
    assert np.array_equal(labels, digits.target)

def test_torchvision_dataset_without_data_says_to_download(tmp_path):
    with pytest.raises(ConfigError, match="download=True"):
        build(dict(type="TorchvisionDataset", name="CIFAR10", root=str(tmp_path)), "dataset")
    with pytest.raises(ConfigError, match="Did you mean 'MNIST'"):
        build(dict(type="TorchvisionDataset", name="MNSIT", root=str(tmp_path)), "dataset")


def _write_idx(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_dataset_reads_a_local_mnist_folder(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", np.array([4, 1, 9]))
    dataset = build(dict(type="TorchvisionDataset", name="MNIST", root=str(tmp_path), train=False,
                         pipeline=[dict(type="PackInputs")]), "dataset")
    sample = dataset[2]
    assert len(dataset) == 3 and sample["label"] == 9 and sample["sample_idx"] == 2
    assert sample["gt_img"].shape == (3, 28, 28)
    assert torch.equal(sample["gt_img"][1], torch.from_numpy(images[2].astype(np.uint8)))


def test_torchvision_dataset_passes_extra_arguments():
    dataset = build(dict(type="TorchvisionDataset", name="FakeData", root="unused",
                         dataset_kwargs=dict(size=4, image_size=(1, 6, 5), num_classes=3)), "dataset")
    sample = dataset[3]
    assert len(dataset) == 4 and sample["img"].shape == (6, 5, 3) and sample["img"].dtype == np.uint8
    assert 0 <= sample["label"] < 3

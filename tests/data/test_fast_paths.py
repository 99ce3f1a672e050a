"""The data path's faster implementations give exactly what the plain numpy/Pillow definitions give:
``flipped`` (Flip's horizontal flip through torch's kernel or a per-pixel view) and ``read_image`` (no convert() copy
when the file is already in the asked mode)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mgx.core.registry import build
from mgx.plugins.data.images import flipped, read_image


def _arrays():
    rng = np.random.default_rng(3)
    contiguous = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    yield contiguous
    yield rng.integers(0, 256, (5, 6, 1), dtype=np.uint8)
    yield rng.integers(0, 256, (5, 6, 4), dtype=np.uint8)
    yield rng.integers(0, 65536, (4, 5, 3), dtype=np.uint16)
    yield rng.random((6, 4, 3), dtype=np.float32)
    yield rng.random((6, 4, 3)).astype(">f8")  # non-native byte order
    yield rng.integers(0, 256, (5, 8), dtype=np.uint8)  # H×W
    yield contiguous[1:6, 2:8]  # a crop (not contiguous)
    yield contiguous[:, :, ::-1]  # negative strides
    yield np.zeros((0, 4, 3), dtype=np.uint8)
    yield rng.random((2, 3, 4, 3)).astype(np.float32)  # a stack of frames
    read_only = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    read_only.setflags(write=False)
    yield read_only
    yield rng.random((4, 5, 3)) > 0.5  # bool


@pytest.mark.parametrize("axis", [0, 1])
def test_flipped_equals_numpy_flip(axis: int) -> None:
    for array in _arrays():
        expected = np.flip(array, axis=axis).copy()
        result = flipped(array, axis)
        assert result.dtype == expected.dtype and result.shape == expected.shape
        assert np.array_equal(result, expected)
        assert result.flags.c_contiguous and result.flags.writeable and not np.shares_memory(result, array)


def test_flip_transform_output_pinned() -> None:
    rng = np.random.default_rng(0)
    lq, gt = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), rng.random((32, 32, 3), dtype=np.float32)
    out = build(dict(type="Flip", keys=["img", "gt"], flip_ratio=1.0), "transform")(
        {"img": lq.copy(), "gt": [gt.copy(), gt[::2, ::2].copy()]})
    assert np.array_equal(out["img"], lq[:, ::-1]) and out["img"].dtype == np.uint8
    assert [np.array_equal(frame, want[:, ::-1]) for frame, want in zip(out["gt"], [gt, gt[::2, ::2]])] == [True, True]
    vertical = build(dict(type="Flip", keys="img", flip_ratio=1.0, direction="vertical"), "transform")(
        {"img": lq.copy()})
    assert np.array_equal(vertical["img"], lq[::-1])
    assert out["flip_infos"] == [dict(keys=["img", "gt"], direction="horizontal", ratio=1.0, flip=True)]


def _pillow_reference(path, color_type: str, channel_order: str) -> np.ndarray:
    """The definition: Pillow's conversion to the asked mode (palette images through RGB/RGBA first)."""
    with Image.open(path) as handle:
        image = handle.convert("RGB" if color_type == "color" else "L") if color_type != "unchanged" else handle.copy()
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    array = np.asarray(image)
    array = array[..., None] if array.ndim == 2 else array
    if channel_order == "bgr" and array.shape[2] in (3, 4):
        array = np.concatenate([array[..., 2::-1], array[..., 3:]], axis=2)
    return array


def test_read_image_matches_pillow_conversion(tmp_path) -> None:
    rng = np.random.default_rng(1)
    rgba = Image.fromarray(rng.integers(0, 256, (6, 5, 4), dtype=np.uint8), "RGBA")
    files = {"rgb": rgba.convert("RGB"), "gray": rgba.convert("L"), "rgba": rgba, "la": rgba.convert("LA"),
             "palette": rgba.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=8)}
    transparent = files["palette"].copy()
    transparent.info["transparency"] = 0
    files["palette_transparent"] = transparent
    for name, image in files.items():
        path = tmp_path / f"{name}.png"
        image.save(path, **({"transparency": 0} if name == "palette_transparent" else {}))
        for color_type in ("color", "grayscale", "unchanged"):
            for order in ("rgb", "bgr"):
                result = read_image(path, color_type, order)
                expected = _pillow_reference(path, color_type, order)
                assert result.dtype == expected.dtype and np.array_equal(result, expected), (name, color_type, order)
                assert result.flags.writeable and result.flags.c_contiguous


def test_set_values_copies_containers_and_keeps_numbers() -> None:
    dictionary = dict(scale=4, name="x", ratio=0.5, nested=dict(sizes=[1, 2]), missing=None)
    transform = build(dict(type="SetValues", dictionary=dictionary), "transform")
    first, second = transform({"img_path": "a.png"}), transform({})
    assert {key: first[key] for key in dictionary} == dictionary and first["img_path"] == "a.png"
    first["nested"]["sizes"].append(3)
    assert second["nested"] == dict(sizes=[1, 2]) and dictionary["nested"] == dict(sizes=[1, 2])

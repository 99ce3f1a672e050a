import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build


def test_normalize_and_destruct_are_inverse_with_mmagic_defaults():
    pre = build(dict(type="DataPreprocessor"), "model")
    images = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8)
    normalized = pre(images)
    expected = images.double() / 127.5 - 1.0
    assert normalized.dtype == torch.float32
    torch.testing.assert_close(normalized.double(), expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(pre.destruct(normalized).double(), images.double(), rtol=0, atol=1e-4)
    assert pre.state_dict() == {}  # mean/std come from the config, never from checkpoints


def test_restoration_range_channel_order_and_padding():
    pre = build(dict(type="DataPreprocessor", mean=[0., 0., 0.], std=[255., 255., 255.],
                     output_channel_order="BGR", pad_size_divisor=4), "model")
    images = torch.zeros(1, 3, 5, 6)
    images[:, 0] = 255.0  # pure red
    out = pre(images)
    assert out.shape == (1, 3, 8, 8)
    assert out[0, 2, 0, 0] == 1.0 and out[0, 0, 0, 0] == 0.0  # red is the last channel in BGR
    back = pre.destruct(out * 2, size=(5, 6))  # clamped, cropped, RGB again
    assert back.shape == (1, 3, 5, 6) and back[0, 0].eq(255).all() and back[0, 1:].eq(0).all()


def test_bad_arguments_name_the_field():
    with pytest.raises(ConfigError, match="std must not contain 0"):
        build(dict(type="DataPreprocessor", mean=0, std=[1, 0, 1]), "model")
    with pytest.raises(ConfigError, match="output_channel_order"):
        build(dict(type="DataPreprocessor", output_channel_order="rgb"), "model")
    with pytest.raises(ConfigError, match="3 values but the images have 1"):
        build(dict(type="DataPreprocessor", mean=[0, 0, 0], std=[1, 1, 1]), "model").normalize(torch.zeros(1, 1, 2, 2))

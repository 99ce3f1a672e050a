"""Inpainting's parts against their definitions: the partial convolution (float64 loops over windows),
MaskedTVLoss, and MMagic's mask transforms (LoadMask's modes, seeding, GetMaskedImage)."""
import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.errors import ConfigError
from mgx.plugins.data.masks import GetMaskedImage, LoadMask
from mgx.plugins.models.losses import DiscShiftLoss, MaskedTVLoss
from mgx.plugins.models.ops.partial_conv import MaskConvModule, PartialConv2d


def partial_conv_reference(x, mask, weight, bias, stride, padding, multi_channel):
    """out = W·(X⊙M)·numel/ΣM + b where ΣM > 0, else 0; new mask = [ΣM > 0] — float64, window by window."""
    x, mask, weight = (np.asarray(t, dtype=np.float64) for t in (x, mask, weight))
    n, cin, h, w = x.shape
    cout, _, k, _ = weight.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    mask = np.pad(mask, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    mask_full = mask if multi_channel else np.repeat(mask, cin, axis=1)
    numel = cin * k * k if multi_channel else k * k
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    out, new_mask = np.zeros((n, cout, oh, ow)), np.zeros((n, cout if multi_channel else 1, oh, ow))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                window = (slice(i * stride, i * stride + k), slice(j * stride, j * stride + k))
                xs, ms = x[b][:, window[0], window[1]], mask_full[b][:, window[0], window[1]]
                valid = ms.sum() if multi_channel else mask[b, 0][window].sum()
                if valid > 0:
                    new_mask[b, :, i, j] = 1
                    for o in range(cout):
                        shift = bias[o] if bias is not None else 0
                        out[b, o, i, j] = (weight[o] * xs * ms).sum() * numel / valid + shift
    return out, new_mask


@pytest.mark.parametrize("multi_channel,bias", [(True, True), (False, True), (True, False)])
def test_partial_conv_matches_its_definition(multi_channel, bias):
    torch.manual_seed(0)
    layer = PartialConv2d(2, 3, 3, stride=2, padding=1, bias=bias, multi_channel=multi_channel)
    x = torch.randn(2, 2, 7, 7)
    mask = (torch.rand(2, 2 if multi_channel else 1, 7, 7) > 0.6).float()
    mask[0, :, :4, :4] = 0  # a window with no valid pixel
    out, new_mask = layer(x, mask)
    expected, expected_mask = partial_conv_reference(x, mask, layer.weight.detach(),
                                                     layer.bias.detach().numpy() if bias else None, 2, 1,
                                                     multi_channel)
    assert (expected_mask == 0).any() and (expected_mask == 1).any()
    np.testing.assert_array_equal(new_mask.numpy(), expected_mask)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    # without a mask it is the plain convolution
    torch.testing.assert_close(layer(x), torch.nn.functional.conv2d(x, layer.weight, layer.bias, 2, 1))


def test_mask_conv_module_is_conv_norm_act_and_checks_conv_cfg():
    module = MaskConvModule(3, 4, 3, padding=1, conv_cfg=dict(type="PConv", multi_channel=True),
                            norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU")).eval()
    assert sorted(module.state_dict()) == ["bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var",
                                           "bn.weight", "conv.weight", "conv.weight_mask_updater"]
    x, mask = torch.randn(1, 3, 6, 6), (torch.rand(1, 3, 6, 6) > 0.5).float()
    out, new_mask = module(x, mask)
    conv_out, conv_mask = module.conv(x, mask)
    torch.testing.assert_close(out, torch.relu(module.bn(conv_out)))
    torch.testing.assert_close(new_mask, conv_mask)
    with pytest.raises(ConfigError, match="PConv"):
        MaskConvModule(3, 4, 3, conv_cfg=dict(type="Conv2d"))


def test_masked_tv_loss_and_disc_shift_match_their_definitions():
    torch.manual_seed(1)
    pred, mask = torch.randn(2, 3, 5, 6, dtype=torch.float64), (torch.rand(2, 1, 5, 6) > 0.5).double()
    p, m = pred.numpy(), mask.numpy()
    vertical = (np.abs(p[:, :, :-1] - p[:, :, 1:]) * m[:, :, :-1]).sum() / (3 * m[:, :, :-1].sum())
    horizontal = (np.abs(p[..., :-1] - p[..., 1:]) * m[..., :-1]).sum() / (3 * m[..., :-1].sum())
    torch.testing.assert_close(MaskedTVLoss(loss_weight=0.1)(pred, mask=mask),
                               torch.tensor(0.1 * (vertical + horizontal), dtype=torch.float64))
    scores = torch.randn(4, 1, dtype=torch.float64)
    torch.testing.assert_close(DiscShiftLoss()(scores), 0.1 * (scores ** 2).mean())


BBOX = dict(max_bbox_shape=(12, 10), max_bbox_delta=4, min_margin=3, img_shape=(32, 30))
IRREGULAR = dict(num_vertices=(4, 10), max_angle=6.0, length_range=(3, 16), brush_width=(2, 6),
                 area_ratio_range=(0.15, 0.65), img_shape=(32, 32))


def test_bbox_masks_keep_margins_and_sizes_and_repeat_per_sample():
    transform = LoadMask("bbox", BBOX)
    boxes = set()
    for index in range(40):
        sample = transform({"sample_idx": index})
        top, left, height, width = sample["mask_bbox"]
        assert 10 <= height <= 12 and 8 <= width <= 10 and top >= 3 and left >= 3
        assert top + height <= 32 - 3 + 2 and left + width <= 30 - 3 + 2
        expected = np.zeros((32, 30, 1), np.uint8)
        expected[top:top + height, left:left + width] = 1
        np.testing.assert_array_equal(sample["mask"], expected)
        boxes.add(sample["mask_bbox"])
        # another transform of the same configuration (another process) draws the same mask for the sample
        assert LoadMask("bbox", dict(BBOX))({"sample_idx": index})["mask_bbox"] == sample["mask_bbox"]
    assert len(boxes) > 10
    with pytest.raises(ConfigError, match="min_margin"):
        LoadMask("bbox", dict(BBOX, min_margin=12))
    with pytest.raises(ConfigError, match="unknown"):
        LoadMask("bbox", dict(BBOX, max_angle=3))


FREE_FORM = dict(img_shape=(32, 32), brush_width=(2, 5))


@pytest.mark.parametrize("mode,config", [("irregular", IRREGULAR), ("ff", FREE_FORM)])
def test_stroke_masks_are_binary_within_ratio_and_repeatable(mode, config):
    transform = LoadMask(mode, config)
    masks = [transform({"sample_idx": index})["mask"] for index in range(6)]
    for index, mask in enumerate(masks):
        assert mask.shape == (32, 32, 1) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        if mode == "irregular":
            assert 0.15 < mask.mean() < 0.65
        np.testing.assert_array_equal(mask, transform({"sample_idx": index})["mask"])
    assert any((masks[0] != other).any() for other in masks[1:])


def test_mask_set_and_masked_image(tmp_path):
    for index in range(2):
        image = np.zeros((8, 8), np.uint8)
        image[index:index + 3, 2:5] = 255
        Image.fromarray(image).save(tmp_path / f"m{index}.png")
    (tmp_path / "list.txt").write_text("m0.png\nm1.png\n")
    transform = LoadMask("set", dict(mask_list_file=str(tmp_path / "list.txt"), prefix=str(tmp_path),
                                     io_backend="local", color_type="unchanged", file_client_kwargs=dict()))
    seen = {int(np.argmax(transform({"sample_idx": i})["mask"][:, 3, 0])) for i in range(12)}
    assert seen == {0, 1}
    gt = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    sample = GetMaskedImage()({"gt": gt, "mask": transform({"sample_idx": 0})["mask"]})
    hole = sample["mask"][:, :, 0] == 1
    assert sample["img"].dtype == np.float32
    np.testing.assert_array_equal(sample["img"][hole], 127.5)
    np.testing.assert_array_equal(sample["img"][~hole], gt[~hole])
    with pytest.raises(Exception, match="img_shape"):
        GetMaskedImage()({"gt": gt, "mask": np.zeros((4, 4, 1), np.uint8)})

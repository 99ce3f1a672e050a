"""PairedDigitsDataset and the paired sample grid (input upsampled | output | ground truth at the GT size)."""
import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.core.evaluation.validation import EvalSet, Validator, paired_grid


@pytest.mark.parametrize("scale, gt_size", [(2, 32), (3, 24), (4, 32)])
def test_paired_digits_are_bicubic_downsampled_pairs(scale, gt_size):
    dataset = build(dict(type="PairedDigitsDataset", scale=scale, gt_size=gt_size, split="val",
                         pipeline=[dict(type="PackInputs")]), "dataset")
    raw = build(dict(type="PairedDigitsDataset", scale=scale, gt_size=gt_size, split="val"), "dataset")[3]
    assert raw["gt"].shape == (gt_size, gt_size, 3) and raw["lq"].shape == (gt_size // scale, gt_size // scale, 3)
    expected = np.asarray(Image.fromarray(raw["gt"]).resize((gt_size // scale,) * 2, Image.Resampling.BICUBIC))
    assert np.array_equal(raw["lq"], expected)
    digits = build(dict(type="DigitsDataset", image_size=gt_size, split="val"), "dataset")[3]
    assert np.array_equal(raw["gt"], digits["img"]) and raw["label"] == digits["label"]
    # the one-gather batch equals per-sample packing + collation
    fast = dataset.get_batch([5, 1, 7])
    slow = torch.utils.data.default_collate([dataset[i] for i in (5, 1, 7)])
    assert set(fast) == set(slow) and {"gt_img", "lq_img", "label", "sample_idx"} <= set(fast)
    for key in fast:
        assert torch.equal(fast[key], slow[key]), key


def test_paired_digits_arguments():
    with pytest.raises(ConfigError, match="multiple of scale=3"):
        build(dict(type="PairedDigitsDataset", scale=3, gt_size=32), "dataset")
    mmagic_names = build(dict(type="PairedDigitsDataset", scale=2, lq_key="img"), "dataset")
    assert set(mmagic_names[0]) == {"gt", "img", "label", "sample_idx"}


def test_sample_grid_of_a_x4_model_is_input_output_gt_at_gt_size(tmp_path):
    model = build(dict(type="BaseEditModel", generator=dict(type="SRCNNNet", channels=(3, 4, 4, 3), upscale_factor=4),
                       pixel_loss=dict(type="L1Loss"),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[0.] * 3, std=[255.] * 3)), "model")
    dataset = build(dict(type="PairedDigitsDataset", scale=4, gt_size=32, split="val",
                         pipeline=[dict(type="PackInputs")]), "dataset")
    loader = torch.utils.data.DataLoader(dataset, batch_size=10)
    validator = Validator([EvalSet(loader, None, None)], model=model, ema=None, device=torch.device("cpu"),
                          amp=False, seed=0, work_dir=tmp_path)
    path = validator.save_sample_grid(tmp_path / "grid.png")
    grid = np.asarray(Image.open(path))
    assert grid.shape == (8 * 34 + 2, 3 * 34 + 2, 3)  # 8 samples, 3 columns of 32 px (+2 px padding)
    batch = next(iter(loader))
    tiles = paired_grid(batch, model.eval().val_step(batch))
    gt_tile = tiles[:, 2 + 34 * 1:2 + 34 * 1 + 32, 2 + 34 * 2:2 + 34 * 2 + 32]  # row 1, column 3
    assert torch.allclose(gt_tile, batch["gt_img"][1].float() / 255)
    upsampled = torch.nn.functional.interpolate(batch["lq_img"][1:2].float(), size=(32, 32), mode="bicubic")
    assert torch.allclose(tiles[:, 36:68, 2:34], upsampled[0].clamp(0, 255) / 255, atol=1e-6)
    # unconditional packing ('inputs' is the ground truth): no input column
    same = {"inputs": batch["gt_img"], "gt_img": batch["gt_img"]}
    assert paired_grid(same, {"pred_img": batch["gt_img"].float()}).shape[-1] == 2 * 34 + 2

"""The data sections of MMagic 1.2.0's SRCNN ×4 (DIV2K/Set5) and DCGAN (LSUN 64×64) configs, verbatim but
for data_root, on small folders: the batches restoration and GAN models receive (docs/data.md)."""
import numpy as np
import pytest
import torch
from PIL import Image

from mgx.core.registry import build

SCALE = 4
# srcnn_x4k915_1xb16-1000k_div2k.py (gt_patch_size 128 -> 32 for small images)
SRCNN_TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile', key='img', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='LoadImageFromFile', key='gt', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='SetValues', dictionary=dict(scale=SCALE)),
    dict(type='PairedRandomCrop', gt_patch_size=32),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs'),
]
SRCNN_VAL_PIPELINE = [
    dict(type='LoadImageFromFile', key='img', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='LoadImageFromFile', key='gt', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='PackInputs'),
]
# _base_/datasets/unconditional_imgs_64x64.py
GAN_PIPELINE = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='Resize', keys='gt', scale=(64, 64)),
    dict(type='PackInputs'),
]


@pytest.fixture
def div2k(tmp_path):
    rng = np.random.default_rng(0)
    for folder in ("DIV2K/DIV2K_train_HR_sub", "DIV2K/DIV2K_train_LR_bicubic/X4_sub", "Set5/GTmod12", "Set5/LRbicx4"):
        (tmp_path / folder).mkdir(parents=True)
    names = []
    for index in range(3):
        hr = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
        lr = np.asarray(Image.fromarray(hr).resize((10, 12), Image.Resampling.BICUBIC))
        name = f"{index + 1:04d}_s001.png"
        Image.fromarray(hr).save(tmp_path / "DIV2K/DIV2K_train_HR_sub" / name)
        Image.fromarray(lr).save(tmp_path / "DIV2K/DIV2K_train_LR_bicubic/X4_sub" / name)
        Image.fromarray(hr).save(tmp_path / "Set5/GTmod12" / f"img{index}.png")
        Image.fromarray(lr).save(tmp_path / "Set5/LRbicx4" / f"img{index}.png")
        names.append(f"{name} (48,40,3)")
    (tmp_path / "DIV2K/meta_info_DIV2K800sub_GT.txt").write_text("\n".join(names) + "\n")
    return tmp_path


def test_srcnn_x4_div2k_data_sections(div2k):
    train = build(dict(type='BasicImageDataset', ann_file='meta_info_DIV2K800sub_GT.txt',
                       metainfo=dict(dataset_type='div2k', task_name='sisr'), data_root=str(div2k / 'DIV2K'),
                       data_prefix=dict(img='DIV2K_train_LR_bicubic/X4_sub', gt='DIV2K_train_HR_sub'),
                       filename_tmpl=dict(img='{}', gt='{}'), pipeline=SRCNN_TRAIN_PIPELINE), "dataset")
    batch = torch.utils.data.default_collate([train[i] for i in range(3)])
    assert batch["inputs"].shape == (3, 3, 8, 8) and batch["gt_img"].shape == (3, 3, 32, 32)
    assert torch.equal(batch["lq_img"], batch["inputs"]) and batch["key"] == ["0001_s001", "0002_s001", "0003_s001"]
    val = build(dict(type='BasicImageDataset', metainfo=dict(dataset_type='set5', task_name='sisr'),
                     data_root=str(div2k / 'Set5'), data_prefix=dict(img='LRbicx4', gt='GTmod12'),
                     pipeline=SRCNN_VAL_PIPELINE), "dataset")
    sample = val[1]
    hr = np.array(Image.open(div2k / "Set5/GTmod12/img1.png"))
    lr = np.array(Image.open(div2k / "Set5/LRbicx4/img1.png"))
    assert torch.equal(sample["gt_img"], torch.from_numpy(hr).permute(2, 0, 1))  # RGB, exact pixels
    assert torch.equal(sample["inputs"], torch.from_numpy(lr).permute(2, 0, 1))


def test_dcgan_lsun_data_section(div2k):
    dataset = build(dict(type='BasicImageDataset', data_prefix=dict(gt=''), data_root=str(div2k / 'Set5/GTmod12'),
                         pipeline=GAN_PIPELINE), "dataset")
    batch = torch.utils.data.default_collate([dataset[i] for i in range(3)])
    assert batch["inputs"].shape == batch["gt_img"].shape == (3, 3, 64, 64) and batch["inputs"].dtype == torch.uint8
    assert torch.equal(batch["inputs"], batch["gt_img"])
    # the real images a GAN sees are the file's RGB pixels (loaded BGR as MMagic does, packed RGB)
    hr = np.asarray(Image.open(div2k / "Set5/GTmod12/img0.png"))
    expected = build(dict(type='Resize', keys='gt', scale=(64, 64)), "transform")({"gt": hr})["gt"]
    assert torch.equal(batch["gt_img"][0], torch.from_numpy(expected).permute(2, 0, 1))

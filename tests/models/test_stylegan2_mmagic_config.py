"""MMagic 1.2.0's own StyleGAN2 config trains with only the data path, sizes and fake_nums changed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

class FakeNvidiaInception(torch.nn.Module):
    """Call signature of NVIDIA's TorchScript Inception (inception-2015-12-05.pt), tiny and random."""

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False):
        flat = x.float().mean(dim=(2, 3)) / 255.0
        features = torch.cat([flat, flat.square(), flat.sqrt()], dim=1).repeat(1, 4)
        return features if return_features else torch.softmax(features[:, :3], dim=1)


class FakeNvidiaVGG16(torch.nn.Module):
    """Call signature of NVIDIA's TorchScript VGG16 (vgg16.pt), tiny and random."""

    def forward(self, x: torch.Tensor, resize_images: bool = True, return_lpips: bool = False,
                return_features: bool = False):
        pooled = torch.nn.functional.adaptive_avg_pool2d(x.float() / 255.0, 4).flatten(1)
        return pooled / (pooled.square().sum(dim=1, keepdim=True).sqrt() + 1e-8)

# MMagic 1.2.0's config and its _base_ chain, copied as test data (MGX_MMAGIC_CONFIGS: an unpacked wheel's)
MMAGIC_CONFIGS = Path(os.environ.get("MGX_MMAGIC_CONFIGS", Path(__file__).parents[1] / "mmagic" / "configs"))
CONFIG = MMAGIC_CONFIGS / "styleganv2" / "stylegan2_c2_8xb4-800kiters_ffhq-256x256.py"


def write_images(folder: Path, count: int, size: int) -> None:
    import zlib
    import struct

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):  # minimal RGB PNGs, no imaging library needed
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
        (folder / f"{index:05d}.png").write_bytes(png)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mmagic_stylegan2_ffhq_config_trains_two_iterations(tmp_path):
    if not CONFIG.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"MMagic's configs are missing at {MMAGIC_CONFIGS} (set MGX_MMAGIC_CONFIGS)")
        pytest.skip(f"MMagic 1.2.0's configs are not at {MMAGIC_CONFIGS} (set MGX_MMAGIC_CONFIGS)")
    data = tmp_path / "ffhq"
    write_images(data, 8, 32)
    overrides = [f"{name}.dataset.data_root={data}" for name in ("train_dataloader", "val_dataloader", "test_dataloader")]
    overrides += ["model.generator.out_size=32", "model.discriminator.in_size=32", "train_cfg.max_iters=2"]
    overrides += [f"{evaluator}.metrics.{i}.fake_nums=8" for evaluator in ("val_evaluator", "test_evaluator")
                  for i in range(3)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["OMP_NUM_THREADS"] = "1"
    # the metrics' networks given by local paths (their interfaces, not their weights: nothing is downloaded)
    for name, net, variable in (("inception-2015-12-05.pt", FakeNvidiaInception(), "MGX_INCEPTION_STYLEGAN_PATH"),
                                ("vgg16.pt", FakeNvidiaVGG16(), "MGX_VGG16_SCRIPT_PATH")):
        torch.jit.save(torch.jit.script(net), str(tmp_path / name))
        env[variable] = str(tmp_path / name)
    env["MGX_CACHE_DIR"] = str(tmp_path / "cache")
    result = subprocess.run([sys.executable, "-m", "mgx.cli", "run", "train", str(CONFIG), "--work-dir",
                             str(tmp_path / "work"), "--no-track", "--cfg-options", *overrides],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=850)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "training finished at iteration 2" in result.stderr
    assert (tmp_path / "work" / "iter_2.pth").exists() or any((tmp_path / "work").glob("*.pth"))

"""Synthetic data in MMagic's layouts (paired, unpaired, a flat image folder, CIFAR-10, class folders), a tiny
Inception stand-in, loader overrides and an in-process ``mgx`` for the tests that run MMagic's GAN configs."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from mgx.benchmarks import zoo_data

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "tests" / "mmagic" / "configs"


def write_paired_layout(root: Path, size: int = 32, counts: dict | None = None) -> Path:
    """``root/train``, ``root/test``: A|B pairs side by side (``size`` × 2·``size``), MMagic's paired layout."""
    for phase, count in (counts or {"train": 3, "test": 2}).items():
        zoo_data.write_pair_images(root / phase, count, size)
    return root


def write_unpaired_layout(root: Path, size: int = 32, counts: dict | None = None) -> Path:
    """``root/trainA``, ``trainB``, ``testA``, ``testB``: unrelated images, MMagic's unpaired layout."""
    for seed, (phase, count) in enumerate((counts or {"trainA": 3, "trainB": 2, "testA": 2, "testB": 2}).items()):
        zoo_data.write_images(root / phase, count, size, seed)
    return root


def write_image_folder(root: Path, size: int = 12, count: int = 4) -> Path:
    """A flat folder of RGB images (MMagic's unconditional layout: data_root holds the images)."""
    return zoo_data.write_images(root, count, size)


def write_cifar10_layout(root: Path, count: int = 4, num_classes: int = 10) -> Path:
    """``root/cifar10/cifar-10-batches-py``: CIFAR-10's python pickles, ``count`` images each."""
    zoo_data.write_cifar10(dict(data_root="", data_prefix="cifar10"), root, zoo_data.Sizes(count=count), num_classes)
    return root


def write_class_folders(root: Path, size: int = 40, classes: int = 3, per_class: int = 2) -> Path:
    """``root/train/class<i>/<j>.png`` (ImageNet's layout) and ``root/meta/train.txt`` listing them."""
    zoo_data.write_conditional_dataset(dict(data_root="", data_prefix="train", ann_file="meta/train.txt"), root,
                                       zoo_data.Sizes(image=size, count=classes * per_class), classes)
    return root


def loader_options(data: Path, batch_size: int = 2) -> list[str]:
    """--cfg-options for the three loaders: data_root, batch size, and no worker processes (a test's
    two iterations do not pay for starting them)."""
    options = []
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options += [f"{loader}.dataset.data_root={data}", f"{loader}.batch_size={batch_size}",
                    f"{loader}.num_workers=0", f"{loader}.persistent_workers=False"]
    return options


TINY_INCEPTION = '''
import torch
from torch import nn
from mgx.core.hookspecs import hookimpl


class TinyInception(nn.Module):
    """Features and class probabilities of a fixed random conv: the metrics' plumbing, not Inception's numbers."""

    def __init__(self, **kwargs):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.head = nn.Linear(8, 10)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)

    def forward(self, images):
        return torch.tanh(self.conv(images.float() / 127.5 - 1)).mean(dim=(2, 3))

    def class_probabilities(self, images):
        return torch.softmax(self.head(self(images)) * 3, dim=1)


@hookimpl
def mgx_register_feature_extractors(register):
    register(TinyInception)
'''


def tiny_metric_options(folder: Path, metrics: dict | None = None) -> list[str]:
    """Writes ``tiny_inception.py`` into ``folder`` (the run's working directory, which custom_imports
    searches) and returns the --cfg-options that give the Inception metrics this extractor (the real
    pytorch-fid/StyleGAN Inception would be a ~95 MB download and ~10 s per test on 2 CPU cores) and
    every metric ``fake_nums=2``. ``metrics``: evaluator -> metric indices using Inception (default:
    the translation configs' TransIS and TransFID, 0 and 1, in both evaluators)."""
    (folder / "tiny_inception.py").write_text(textwrap.dedent(TINY_INCEPTION))
    options = ["custom_imports=dict(imports=['tiny_inception'])"]
    default = {"val_evaluator": (0, 1), "test_evaluator": (0, 1)}
    for evaluator, indices in (default if metrics is None else metrics).items():
        for index in indices:
            options.append(f"{evaluator}.metrics.{index}.feature_extractor=dict(type='TinyInception')")
            options.append(f"{evaluator}.metrics.{index}.fake_nums=2")
    return options


def run_mgx(args: list[str], cwd: Path, monkeypatch):
    """``mgx ARGS`` in this process (CliRunner), from ``cwd``; returns click's Result."""
    from click.testing import CliRunner

    import mgx.core.registry as registry_module
    from mgx.cli.context import plugin_manager
    from mgx.cli.main import cli

    monkeypatch.chdir(cwd)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    saved = registry_module._activate_callback, registry_module._active
    plugin_manager.cache_clear()
    try:
        return CliRunner().invoke(cli, args, prog_name="mgx", catch_exceptions=False)
    finally:
        plugin_manager.cache_clear()
        registry_module._activate_callback, registry_module._active = saved
        sys.modules.pop("tiny_inception", None)


def run_ok(args: list[str], cwd: Path, monkeypatch):
    """``mgx ARGS`` in this process; fails the test with the end of its output unless it exits 0."""
    result = run_mgx(args, cwd, monkeypatch)
    assert result.exit_code == 0, result.output[-3000:]
    return result


def evaluate_checkpoint(config: Path, checkpoint: Path, work_dir: Path, options: list[str], monkeypatch,
                 launch: tuple = ()) -> dict:
    """``mgx run test CONFIG CHECKPOINT`` (with ``launch`` flags); returns its metrics."""
    import json

    run_ok(["run", "test", str(config), str(checkpoint), "--work-dir", str(work_dir), "--no-track", *launch,
            "--cfg-options", *options], work_dir.parent, monkeypatch)
    return json.loads((work_dir / "test_results.json").read_text())["metrics"]


def train_and_test(config: Path, tmp_path: Path, options: list[str], monkeypatch) -> dict:
    """``mgx run train`` (2 iterations as ``options`` say) then ``mgx run test`` on its last checkpoint;
    checks that a sample grid was saved and returns the test metrics."""
    work = tmp_path / "work"
    run_ok(["run", "train", str(config), "--work-dir", str(work), "--no-track", "--cfg-options", *options],
           tmp_path, monkeypatch)
    assert (work / "iter_2.pth").exists() and list((work / "samples").glob("*.png"))
    return evaluate_checkpoint(config, work / "iter_2.pth", tmp_path / "test", options, monkeypatch)

"""Sample grids are written without torchvision (whose import pulls in torch._dynamo, ~1.5 s per
`mgx run test`) and equal torchvision's ``make_grid`` + ``save_image`` pixel for pixel; an `mgx`
process imports neither torchvision nor scikit-learn where it needs neither."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import make_grid as torchvision_make_grid
from torchvision.utils import save_image

from mgx.core.evaluation.image_grid import make_grid, save_png


def same_pixels(a, b) -> bool:
    return np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


@pytest.mark.parametrize("shape, nrow", [((64, 3, 8, 8), 8), ((5, 3, 6, 4), 3), ((3, 1, 5, 5), 8),
                                         ((1, 3, 7, 9), 8), ((9, 3, 4, 4), 4)])
def test_grid_and_png_equal_torchvisions(tmp_path, shape, nrow):
    images = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape)))
    images[0, 0, 0, 0] = 1.0  # the rounding at both ends of the range
    images[-1, 0, -1, -1] = 0.0
    expected = torchvision_make_grid(images, nrow=nrow, padding=2)
    grid = make_grid(images, nrow=nrow, padding=2)
    assert grid.shape == expected.shape and torch.equal(grid, expected)
    save_image(expected, tmp_path / "torchvision.png")
    save_png(grid, tmp_path / "mgx.png")
    assert same_pixels(tmp_path / "mgx.png", tmp_path / "torchvision.png")
    save_image(images, tmp_path / "torchvision_batch.png")  # the N×C×H×W form: tiled 8 to a row
    save_png(images, tmp_path / "mgx_batch.png")
    assert same_pixels(tmp_path / "mgx_batch.png", tmp_path / "torchvision_batch.png")


def test_plugins_a_digits_dataset_and_a_grid_import_neither_torchvision_nor_sklearn(tmp_path):
    """What every `mgx run test` of a digits config does (load the plugins, build DigitsDataset, write
    the sample grid) imports neither torchvision (it pulls in torch._dynamo, ~1.5 s of CPU) nor
    scikit-learn (~1.4 s)."""
    probe = ("import sys, torch; from mgx.cli.context import plugin_manager; from mgx.core.registry import build; "
             "from mgx.core.evaluation import validation; plugin_manager(); "
             "build(dict(type='DigitsDataset', image_size=8), 'dataset'); "
             "validation.save_png(validation.columns_grid([torch.zeros(2, 3, 4, 4), torch.ones(2, 1, 4, 4)]), "
             "sys.argv[1]); print(sorted(m for m in sys.modules if m.split('.')[0] in ('torchvision', 'sklearn')))")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "grid.png")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape == (2 * 6 + 2, 2 * 6 + 2, 3)

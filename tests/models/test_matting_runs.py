"""MMagic's matting configs through the CLI on a synthetic Composition-1k layout (benchmarks/zoo_data/matting.py):
one per family trains 2 iterations and tests (SAD, MattingMSE, GradientError, ConnectivityError) with a sample
grid; IndexNet resumes bit-exactly, and 2 evaluation processes give its 1-process metrics."""
import json

import pytest
import torch
from PIL import Image

from mgx.benchmarks.zoo_data import Sizes
from mgx.benchmarks.zoo_data.matting import matting_size_options, write_adobe_comp1k
from mgx.core.config import load_config, to_plain
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS, evaluate_checkpoint, run_ok

METRICS = {"SAD", "MattingMSE", "GradientError", "ConnectivityError"}
DIM = CONFIGS / "dim" / "dim_stage2-v16-pln_1xb1-1000k_comp1k.py"
GCA = CONFIGS / "gca" / "gca_r34_4xb10-200k_comp1k.py"
INDEXNET = CONFIGS / "indexnet" / "indexnet_mobv2_1xb16-78k_comp1k.py"
# GCA at the smallest depth its arguments allow (one block per stage): the same layers, a few seconds on CPU
GCA_TINY = ["model.backbone.encoder.layers=[1,1,1,1]", "model.backbone.decoder.layers=[1,1,1,1]"]


def matting_options(config, folder, extra=(), iterations=2, batch_size=2):
    """Data (relative data_root, as the config's CompositeFg/RandomLoadResizeBg paths are) written under
    ``folder``, sizes for 32-px crops, ``batch_size``, no workers, no pretrained encoder, ``iterations``."""
    cfg = to_plain(load_config(str(config), list(extra)))
    sizes = Sizes(crop=32, image=32, count=4)
    for loader in ("train_dataloader", "val_dataloader"):
        write_adobe_comp1k(cfg[loader]["dataset"], folder, sizes)
    options = list(extra) + matting_size_options(cfg, sizes) + [
        f"train_cfg.max_iters={iterations}", f"train_cfg.val_interval={iterations}",
        f"default_hooks.checkpoint.interval={iterations}", "default_hooks.logger.interval=1",
        "model.backbone.encoder.init_cfg=None"]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options += [f"{loader}.batch_size={batch_size}", f"{loader}.num_workers=0",
                    f"{loader}.persistent_workers=False"]
    return options


def same(a, b):
    """Nested dicts/lists of tensors and numbers equal exactly."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    return a == b


def train(config, tmp_path, options, monkeypatch, work="work", resume=None):
    args = ["run", "train", str(config), "--work-dir", str(tmp_path / work), "--no-track", "--deterministic"]
    run_ok(args + (["--resume", str(resume)] if resume else []) + ["--cfg-options", *options], tmp_path, monkeypatch)
    return tmp_path / work


@pytest.mark.parametrize("config,extra,batch_size", [(DIM, [], 1), (GCA, GCA_TINY, 2)], ids=["dim_stage2", "gca"])
def test_mmagic_config_trains_and_tests(config, extra, batch_size, tmp_path, monkeypatch):
    # DIM's VGG16 has no width argument: full width (26 M parameters) at 32 px, one image per batch; stage 2
    # trains the refiner on the frozen backbone (stages 1 and 3: benchmarks/zoo_trials.py)
    options = matting_options(config, tmp_path, extra, batch_size=batch_size)
    work = train(config, tmp_path, options, monkeypatch)
    grids = list((work / "samples").glob("*.png"))
    assert grids and Image.open(grids[0]).size[0] == 4 * (40 + 2) + 2  # image / trimap / prediction / truth
    metrics = evaluate_checkpoint(config, work / "iter_2.pth", tmp_path / "test", options, monkeypatch)
    assert set(metrics) == METRICS and all(value == value and value >= 0 for value in metrics.values())


def test_indexnet_config_trains_resumes_bit_exactly_and_tests(tmp_path, monkeypatch):
    # the random trimaps, crops and flips of the pipeline are drawn per sample, so the resumed run sees them too
    options = matting_options(INDEXNET, tmp_path, iterations=4) + ["default_hooks.checkpoint.interval=2"]
    straight = train(INDEXNET, tmp_path, options, monkeypatch, "straight")
    assert list((straight / "samples").glob("*.png"))
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "iter_2.pth").write_bytes((straight / "iter_2.pth").read_bytes())
    train(INDEXNET, tmp_path, options, monkeypatch, "resumed", resume=resumed / "iter_2.pth")
    expected = torch.load(straight / "iter_4.pth", weights_only=True)
    final = torch.load(resumed / "iter_4.pth", weights_only=True)
    for key, value in expected["model"].items():  # weights and BatchNorm statistics
        assert torch.equal(final["model"][key], value), key
    assert same(final["optimizers"], expected["optimizers"])  # Adam's moments and step counts
    metrics = evaluate_checkpoint(INDEXNET, straight / "iter_4.pth", tmp_path / "test", options, monkeypatch)
    assert set(metrics) == METRICS


@pytest.mark.slow  # two worker processes start
def test_two_process_evaluation_equals_one_process(tmp_path, monkeypatch):
    options = matting_options(INDEXNET, tmp_path) + ["test_dataloader.batch_size=1"]
    cfg = to_plain(load_config(str(INDEXNET), options))
    torch.manual_seed(0)
    torch.save({"model": build(cfg["model"], "model").state_dict()}, tmp_path / "weights.pth")
    results = {name: evaluate_checkpoint(INDEXNET, tmp_path / "weights.pth", tmp_path / name, options, monkeypatch,
                                         launch)
               for name, launch in (("one", ()), ("two", ("--launcher", "dist", "--gpus", "2")))}
    assert "2 process(es)" in "".join(path.read_text() for path in (tmp_path / "two").glob("*.log"))
    assert set(results["one"]) == METRICS == set(results["two"])
    for key, value in results["one"].items():  # per-image float64 values; only the order of the sum differs
        assert results["two"][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    per_image = json.loads((tmp_path / "one" / "test_results.json").read_text())
    assert per_image["metrics"] == results["one"]

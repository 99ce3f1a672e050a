"""Metrics declare which way is better per key; save_best's rule and `mgx runs compare` follow it.
`runs compare` takes the short ids it prints; `runs list` tells trainings from tests."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mgx.core.engine.checkpoint import CheckpointPolicy
from mgx.core.errors import MgxError
from mgx.core.evaluation import BaseMetric, Evaluator
from mgx.core.evaluation.direction import direction_of
from mgx.core.plugins import PluginManager
from tracking_helpers import TINY_GAN_TRAIN

TRAIN_CONFIG = TINY_GAN_TRAIN + """
train_cfg = dict(by_epoch=False, max_iters=4, val_interval=2)
val_dataloader = dict(batch_size=32,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='SWD', prefix='SWD', fake_nums=32, image_shape=(3, 16, 16)),
    dict(type='MS_SSIM', prefix='MS-SSIM', fake_nums=16)])
default_hooks = dict(logger=dict(interval=2), checkpoint=dict(interval=2, save_best='MS-SSIM/avg'))
randomness = dict(seed=3)
"""


@pytest.fixture(scope="module")
def builtin_metrics():
    PluginManager(["mgx.plugins.metrics"]).activate()


def _evaluator(*metrics: dict) -> Evaluator:
    return Evaluator(list(metrics))


def test_builtin_metrics_declare_their_directions(builtin_metrics):
    declared = _evaluator(dict(type="SWD", prefix="SWD", fake_nums=32, image_shape=(3, 16, 16)),
                          dict(type="MS_SSIM", prefix="MS-SSIM", fake_nums=16),
                          dict(type="FID", prefix="FID-Full-50k", fake_nums=10),
                          dict(type="IS", fake_nums=10),
                          dict(type="PR", fake_nums=10),
                          dict(type="PSNR"), dict(type="MAE")).declared_directions()
    expected = {"SWD/32": "lower", "SWD/avg": "lower", "MS-SSIM/avg": "lower", "FID-Full-50k/fid": "lower",
                "IS/is": "higher", "IS/is_std": None, "PR/precision": "higher", "PR/recall": "higher",
                "PSNR": "higher", "MAE": "lower"}
    assert {key: direction_of(key, declared) for key in expected} == expected


def test_save_best_rule_follows_the_metric_not_the_name(builtin_metrics):
    declared = _evaluator(dict(type="MS_SSIM", prefix="MS-SSIM", fake_nums=16)).declared_directions()
    policy = CheckpointPolicy(save_best="MS-SSIM/avg")
    assert policy.use_declared_directions(declared) is None
    assert policy.rule == "less"
    assert policy.is_better(0.5) and (setattr(policy, "best_score", 0.5) or True)
    assert policy.is_better(0.3) and not policy.is_better(0.7)
    explicit = CheckpointPolicy(save_best="MS-SSIM/avg", rule="greater")
    explicit.use_declared_directions(declared)
    assert explicit.rule == "greater"  # the user's rule wins


class ThirdPartyScore(BaseMetric):
    default_prefix = "Mine"
    directions = {"err": "lower", "spread": None}
    default_direction = "higher"


def test_a_plugin_metric_declares_per_key_and_by_default():
    declared = ThirdPartyScore().declared_directions()
    assert direction_of("Mine/err", declared) == "lower"
    assert direction_of("Mine/accuracy_at_5", declared) == "higher"  # any other key of the metric
    assert direction_of("Mine/spread", declared) is None
    policy = CheckpointPolicy(save_best="Mine/spread")
    assert "rule=" in policy.use_declared_directions(declared)  # nobody says: a warning, then 'greater'
    assert policy.rule == "greater"


def test_an_invalid_declaration_fails_when_the_class_is_defined():
    with pytest.raises(MgxError, match="'bigger'"):
        class Wrong(BaseMetric):  # noqa: F841
            directions = {"x": "bigger"}


def _mgx(args, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("MLFLOW_TRACKING_URI", "MGX_WORKSPACE")}
    result = subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _cli(args) -> str:
    from click.testing import CliRunner

    from mgx.cli.main import cli

    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_compare_list_and_console_names_on_real_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = tmp_path / "tiny.py"
    config.write_text(TRAIN_CONFIG)
    trained = _mgx(["run", "train", str(config), "--work-dir", str(tmp_path / "wd"), "--run-name", "tiny-train"],
                   tmp_path)
    # console losses carry the names MLflow records
    assert re.search(r"train/loss_disc: ", trained.stderr), trained.stderr[-2000:]
    assert not re.search(r"(?<!/)\bloss_disc: ", trained.stderr)
    best = sorted((tmp_path / "wd").glob("best_MS-SSIM_avg_*.pth"))
    assert len(best) == 1
    _mgx(["run", "test", str(config), str(best[0]), "--work-dir", str(tmp_path / "wd"), "--run-name", "tiny-test"],
         tmp_path)

    listed = _cli(["runs", "list", "--workspace", str(tmp_path)])
    assert "KIND" in listed.splitlines()[0]
    kinds = {line.split()[1]: line.split()[2] for line in listed.splitlines()[2:]}
    assert kinds == {"tiny-train": "training", "tiny-test": "test"}

    run_ids = {line.split()[1]: line.split()[0] for line in listed.splitlines()[2:]}
    compared = _cli(["runs", "compare", run_ids["tiny-train"][:8], "tiny-test", "--workspace", str(tmp_path)])
    assert f"tiny-train ({run_ids['tiny-train'][:8]})" in compared
    lines = compared.splitlines()

    def best_row(key):  # the row under the metric's "final" row
        return lines[next(i for i, line in enumerate(lines) if line.startswith(key + " ")) + 1]
    assert best_row("MS-SSIM/avg").split()[0] == "best(min)"
    assert best_row("SWD/avg").split()[0] == "best(min)"

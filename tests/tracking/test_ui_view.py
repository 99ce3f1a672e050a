"""Which experiment a run goes to, and the runs-page layout `mgx ui` stores on an experiment."""
from __future__ import annotations

import json

import pytest

from mgx.core.config.loader import Config
from mgx.core.errors import ConfigError
from mgx.core.run.settings import tracking_settings
from mgx.core.tracking.ui_view import SHARED_VIEW_TAG_PREFIX, VIEW_KEY, publish_runs_view


def test_experiment_is_the_flag_then_tracking_key_then_experiment_name_then_config_stem():
    path = "configs/edsr_x2c64b16_1xb16-300k_div2k.py"
    bare = Config({})
    assert tracking_settings(bare, {}, path).experiment == "edsr_x2c64b16_1xb16-300k_div2k"
    named = Config({"experiment_name": "edsr-div2k"})
    assert tracking_settings(named, {}, path).experiment == "edsr-div2k"
    keyed = Config({"experiment_name": "edsr-div2k", "tracking": {"experiment": "team"}})
    assert tracking_settings(keyed, {}, path).experiment == "team"
    assert tracking_settings(keyed, {"experiment": "mine"}, path).experiment == "mine"
    assert tracking_settings(None, {}).experiment is None  # the launching process: no config, no decision
    with pytest.raises(ConfigError, match="experiment_name must be a non-empty string"):
        tracking_settings(Config({"experiment_name": ""}), {}, path)


def _client(tmp_path):
    from mlflow import MlflowClient

    from mgx.core.tracking.store import get_or_create_experiment, init_workspace, workspace_uri

    init_workspace(tmp_path)
    uri = workspace_uri(tmp_path)
    client = MlflowClient(uri)
    return client, get_or_create_experiment(client, uri, "edsr"), uri


def _run(client, experiment_id, params: dict, metrics: dict, tags: dict | None = None) -> str:
    run_id = client.create_run(experiment_id, tags=tags or {}).info.run_id
    for key, value in params.items():
        client.log_param(run_id, key, value)
    for key, value in metrics.items():
        client.log_metric(run_id, key, value, step=1)
    client.set_terminated(run_id)
    return run_id


def test_runs_view_shows_best_metric_first_and_differing_params(tmp_path):
    client, experiment_id, uri = _client(tmp_path)
    directions = {"mgx.metric_directions": json.dumps({"PSNR": "higher", "SSIM": "higher"})}
    common = {"model.type": "BaseEditModel", "default_hooks.checkpoint.save_best": "SSIM", "train_cfg.max_iters": "10"}
    metrics = {"PSNR": 30.0, "SSIM": 0.9, "train/loss": 0.1, "lr": 1e-4, "system/cpu_utilization_percentage": 50}
    _run(client, experiment_id, {**common, "optim_wrapper.optimizer.lr": "1e-4"}, metrics, directions)
    _run(client, experiment_id, {**common, "optim_wrapper.optimizer.lr": "2e-4"}, {**metrics, "SSIM": 0.8},
         directions)
    state = publish_runs_view(client, experiment_id)
    stored = client.get_experiment(experiment_id).tags[SHARED_VIEW_TAG_PREFIX + VIEW_KEY]
    assert json.loads(stored) == state
    assert state["selectedColumns"] == ["metrics.`SSIM`", "metrics.`PSNR`", "params.`model.type`",
                                        "params.`optim_wrapper.optimizer.lr`"]
    assert state["orderByKey"] == "metrics.`SSIM`" and state["orderByAsc"] is False  # higher is better

    # without save_best: the first validation metric, its direction guessed from the name (lower FID)
    from mgx.core.tracking.store import get_or_create_experiment

    other = get_or_create_experiment(client, uri, "gan")
    _run(client, other, {"model.type": "DCGAN"}, {"FID-Full-50k/fid": 40.0, "train/loss_gen": 1.0})
    state = publish_runs_view(client, other)
    assert state == {"selectedColumns": ["metrics.`FID-Full-50k/fid`", "params.`model.type`"],
                     "orderByKey": "metrics.`FID-Full-50k/fid`", "orderByAsc": True}


def test_a_sweep_experiment_keeps_its_points_folded_unsorted(tmp_path):
    client, experiment_id, _uri = _client(tmp_path)
    parent = _run(client, experiment_id, {}, {}, {"mgx.sweep": "parent"})
    for lr in ("1e-3", "2e-4"):
        _run(client, experiment_id, {"model.type": "DCGAN", "lr_config.lr": lr}, {"SWD/avg": float(lr) * 1e3},
             {"mlflow.parentRunId": parent})
    state = publish_runs_view(client, experiment_id)
    # the parent (no params) does not make every param 'differing'; no sort, or MLflow unfolds the points
    assert state == {"selectedColumns": ["metrics.`SWD/avg`", "params.`model.type`", "params.`lr_config.lr`"]}

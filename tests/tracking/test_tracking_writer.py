"""The Tracker against a SQLite store: batching, params, artifacts, images, checkpoints, statuses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mgx.core.tracking import Tracker
from mgx.core.tracking.run_info import MAX_PARAM_VALUE_LENGTH
from mgx.core.tracking.spool import pending_files, spool_dir

from tracking_helpers import fast_settings


def _artifact_paths(client, run_id, path=None):
    found = []
    for item in client.list_artifacts(run_id, path):
        found += _artifact_paths(client, run_id, item.path) if item.is_dir else [item.path]
    return found


@pytest.mark.timeout(120)
def test_metrics_are_enqueued_then_batched(workspace, tmp_path):
    settings = fast_settings(workspace=workspace, experiment="batching", flush_interval_s=30.0)
    tracker = Tracker.start(settings, tmp_path / "wd", log_environment=False)
    client = MlflowClient(tracker.tracking_uri)
    tracker.log_metrics({"loss": 0.5, "lr": 0.01}, step=0)
    # log_metrics only enqueued: with a 30 s flush interval nothing is in the store yet.
    assert client.get_metric_history(tracker.run_id, "loss") == []
    for step in range(1, 2500):
        tracker.log_metrics({"loss": 1.0 / step, "lr": 0.01}, step=step)
    assert tracker.flush(30)
    history = client.get_metric_history(tracker.run_id, "loss")
    assert len(history) == 2500 and sorted(m.step for m in history) == list(range(2500))
    # 5000 values (+ tags) in log_batch calls of <= 1000 metrics, not one call per value.
    assert tracker._writer.calls <= 8
    assert tracker.finish() is True
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["loss"] == pytest.approx(1 / 2499)
    assert not pending_files(spool_dir(tmp_path / "wd"))


@pytest.mark.timeout(120)
def test_params_tags_and_artifacts(workspace, tmp_path):
    config = {f"group{g}.key{k}": str(g * k) for g in range(5) for k in range(50)}  # 250 params: 3 batches
    config["long"] = "v" * (MAX_PARAM_VALUE_LENGTH + 1000)
    cfg_file = tmp_path / "my_config.py"
    cfg_file.write_text("model = dict(type='X')\n")
    settings = fast_settings(workspace=workspace, experiment="params", run_name="params-run")
    tracker = Tracker.start(settings, tmp_path / "wd", config_flat=config, tags={"mgx.launcher": "none"},
                            config_file=cfg_file, resolved_config_text="model = {'type': 'X'}\n")
    png = tmp_path / "grid.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (0, 128, 255)).save(png)
    tracker.log_image(png, "samples/grid", step=100)
    tracker.log_image(png, "samples/grid", step=200)
    results = tmp_path / "test_results.json"
    results.write_text(json.dumps({"PSNR": 30.1}))
    tracker.log_artifact(results, "test")
    tracker.log_dict({"FID-Full-50k/fid": 3.65}, "test/metrics.json")
    tracker.log_artifact(tmp_path / "missing.txt")  # reported, not raised
    assert tracker.finish() is True
    client = MlflowClient(tracker.tracking_uri)
    run = client.get_run(tracker.run_id)
    assert len(run.data.params) == 251
    assert run.data.params["group4.key49"] == "196"
    assert len(run.data.params["long"]) <= MAX_PARAM_VALUE_LENGTH and "truncated" in run.data.params["long"]
    assert run.data.tags["mlflow.runName"] == "params-run" and run.data.tags["mgx.launcher"] == "none"
    paths = _artifact_paths(client, tracker.run_id)
    assert "config/my_config.py" in paths and "config/resolved_my_config.py" in paths
    assert "environment/requirements.txt" in paths and "test/test_results.json" in paths
    downloaded = client.download_artifacts(tracker.run_id, "test/metrics.json", str(tmp_path))
    assert json.loads(Path(downloaded).read_text()) == {"FID-Full-50k/fid": 3.65}
    images = [p for p in paths if p.startswith("images/samples~grid+step+")]
    assert {p.split("+step+")[1].split("+")[0] for p in images} == {"100", "200"}
    assert len([p for p in images if p.endswith(".png")]) == 2 and len(images) == 4
    assert any("missing.txt" in problem for problem in tracker.problems)


@pytest.mark.timeout(120)
def test_checkpoint_policy(workspace, tmp_path):
    wd = tmp_path / "wd"
    wd.mkdir()
    for name in ("best.pth", "last.pth", "iter_10.pth"):
        (wd / name).write_bytes(b"weights")
    uploaded, uploaded_run_ids = {}, {}
    for policy in ("best+last", "all", "none"):
        tracker = Tracker.start(fast_settings(workspace=workspace, log_checkpoints=policy), wd,
                                log_environment=False)
        queued = [tracker.log_checkpoint(wd / "best.pth", "best"), tracker.log_checkpoint(wd / "last.pth", "last"),
                  tracker.log_checkpoint(wd / "iter_10.pth", "periodic")]
        tracker.finish()
        uploaded[policy] = (queued, _artifact_paths(MlflowClient(tracker.tracking_uri), tracker.run_id))
        uploaded_run_ids[policy] = tracker.run_id
    def with_checksums(paths):  # every uploaded checkpoint has its sha256 sidecar (for --resume-run)
        return sorted([*paths, *(f"{p}.sha256.json" for p in paths)])

    assert uploaded["best+last"] == ([True, True, False],
                                     with_checksums(["checkpoints/best/best.pth", "checkpoints/last/last.pth"]))
    assert uploaded["all"][1] == with_checksums(["checkpoints/best/best.pth", "checkpoints/last/last.pth",
                                                 "checkpoints/periodic/iter_10.pth"])
    assert uploaded["none"] == ([False, False, False], [])
    import hashlib

    sidecar = json.loads((Path(MlflowClient(tracker.tracking_uri).download_artifacts(
        uploaded_run_ids["all"], "checkpoints/last/last.pth.sha256.json", str(tmp_path)))).read_text())
    assert sidecar == {"file": "last.pth", "sha256": hashlib.sha256(b"weights").hexdigest(), "size": 7}


@pytest.mark.timeout(120)
def test_statuses_preemption_and_disabled(workspace, tmp_path):
    client = None
    statuses = {}
    for status in ("FAILED", "KILLED"):
        tracker = Tracker.start(fast_settings(workspace=workspace), tmp_path / status, log_environment=False)
        tracker.log_metrics({"x": 1.0}, step=1)
        tracker.finish(status)
        client = MlflowClient(tracker.tracking_uri)
        statuses[status] = client.get_run(tracker.run_id).info.status
    assert statuses == {"FAILED": "FAILED", "KILLED": "KILLED"}
    tracker = Tracker.start(fast_settings(workspace=workspace), tmp_path / "pre", log_environment=False)
    tracker.log_metrics({"x": 2.0}, step=7)
    tracker.leave_open_preempted()
    run = client.get_run(tracker.run_id)
    assert run.info.status == "RUNNING" and run.data.tags["mgx.preempted"] == "true"
    assert run.data.metrics["x"] == 2.0
    off = Tracker.start(fast_settings(workspace=workspace, enabled=False), tmp_path / "off")
    off.log_metrics({"x": 1.0}, step=0)
    off.log_artifact(tmp_path / "nothing")
    assert off.run_id is None and off.finish() is True
    with pytest.raises(ValueError, match="DONE"):
        Tracker.start(fast_settings(workspace=workspace), tmp_path / "bad", log_environment=False).finish("DONE")


@pytest.mark.timeout(120)
def test_refused_values_are_reported_and_the_rest_logged(workspace, tmp_path):
    tracker = Tracker.start(fast_settings(workspace=workspace), tmp_path / "wd", log_environment=False)
    tracker.log_metrics({"good": 1.0, "bad key!": 2.0, "not_a_number": "abc"}, step=3)
    tracker.finish()
    run = MlflowClient(tracker.tracking_uri).get_run(tracker.run_id)
    assert run.data.metrics == {"good": 1.0}
    assert any("bad key!" in p for p in tracker.problems) and any("not_a_number" in p for p in tracker.problems)
    rejected = (spool_dir(tmp_path / "wd") / "rejected.log").read_text()
    assert "bad key!" in rejected


@pytest.mark.timeout(60)
def test_system_metrics(workspace, tmp_path):
    import time

    tracker = Tracker.start(fast_settings(workspace=workspace, system_metrics=True, system_metrics_interval_s=0.1),
                            tmp_path / "wd", log_environment=False)
    time.sleep(0.8)
    tracker.finish()
    client = MlflowClient(tracker.tracking_uri)
    metrics = client.get_run(tracker.run_id).data.metrics
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes",
            "system/disk_usage_percentage", "system/process_rss_megabytes"} <= set(metrics)
    steps = [m.step for m in client.get_metric_history(tracker.run_id, "system/process_rss_megabytes")]
    assert steps == list(range(len(steps))) and len(steps) >= 3

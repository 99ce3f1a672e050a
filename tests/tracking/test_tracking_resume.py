"""Resume continues the same run; curves take the latest value per step; deleted runs/experiments."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mgx.cli.tracking_commands import sync
from mgx.core.tracking import Tracker, spool_dir
from mgx.core.tracking.query import effective_history
from mgx.core.tracking.spool import pending_files

from tracking_helpers import fast_settings


@pytest.mark.timeout(120)
def test_resume_by_id_continues_the_run_and_latest_value_per_step_wins(workspace, tmp_path):
    wd = tmp_path / "wd"
    settings = fast_settings(workspace=workspace, experiment="resume", run_name="r")
    first = Tracker.start(settings, wd, config_flat={"lr": "0.1", "iters": "100"}, log_environment=False)
    run_id = first.run_id
    for step in range(100):  # checkpoint at step 50, crash at 99
        first.log_metrics({"loss": 1000.0 + step}, step=step)
    first.finish("FAILED")

    second = Tracker.start(settings, wd, run_id_to_resume=run_id, resume_step=50,
                           config_flat={"lr": "0.1", "iters": "150", "new_key": "x"}, log_environment=False)
    assert second.run_id == run_id
    for step in range(51, 150):  # steps 51..99 run again, then continue
        second.log_metrics({"loss": float(step)}, step=step)
    second.finish()

    client = MlflowClient(second.tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mgx.resumed_from_step"] == "50"
    assert run.data.tags["mgx.resume_points"].startswith("50@")
    assert run.data.params["iters"] == "100" and run.data.params["new_key"] == "x"  # first value kept
    assert run.data.tags["mgx.resume_changed_params"] == "iters=150"
    raw = client.get_metric_history(run_id, "loss")
    assert len(raw) == 100 + 99  # nothing lost: the crashed session's values stay in the history
    curve = effective_history(raw)
    assert [s for s, _ in curve] == list(range(150))
    assert dict(curve)[50] == 1050.0 and dict(curve)[51] == 51.0 and dict(curve)[99] == 99.0
    assert run.data.metrics["loss"] == 149.0


@pytest.mark.timeout(120)
def test_resume_of_a_vanished_run_starts_a_linked_new_run(workspace, tmp_path, caplog):
    gone = "0123456789abcdef0123456789abcdef"
    with caplog.at_level(logging.WARNING, logger="mgx.tracking"):
        tracker = Tracker.start(fast_settings(workspace=workspace), tmp_path / "wd", run_id_to_resume=gone,
                                resume_step=10, log_environment=False)
    tracker.finish()
    assert tracker.run_id != gone
    assert any(gone in r.getMessage() and "no longer exists" in r.getMessage() for r in caplog.records)
    run = MlflowClient(tracker.tracking_uri).get_run(tracker.run_id)
    assert run.data.tags["mgx.previous_run_id"] == gone


@pytest.mark.timeout(120)
def test_experiment_deleted_while_live_spools_and_syncs_after_restore(workspace, tmp_path):
    wd = tmp_path / "wd"
    tracker = Tracker.start(fast_settings(workspace=workspace, experiment="doomed"), wd, log_environment=False)
    client = MlflowClient(tracker.tracking_uri)
    for step in range(10):
        tracker.log_metrics({"loss": float(step)}, step=step)
    tracker.flush(10)
    experiment_id = client.get_run(tracker.run_id).info.experiment_id
    client.delete_experiment(experiment_id)
    for step in range(10, 30):
        tracker.log_metrics({"loss": float(step)}, step=step)
    tracker.finish()  # training is not interrupted; the values are spooled
    assert any("not writable" in p for p in tracker.problems)
    assert pending_files(spool_dir(wd))
    failed = CliRunner().invoke(sync, [str(wd)])
    assert failed.exit_code != 0 and "restore" in failed.output + str(failed.exception)
    client.restore_experiment(experiment_id)
    done = CliRunner().invoke(sync, [str(wd)])
    assert done.exit_code == 0, done.output
    assert sorted(m.step for m in client.get_metric_history(tracker.run_id, "loss")) == list(range(30))
    assert client.get_run(tracker.run_id).info.status == "FINISHED"


@pytest.mark.timeout(120)
def test_resume_removes_the_staged_file_of_an_upload_the_killed_session_left(workspace, tmp_path):
    """Issue 23: a kill during an upload leaves MLflow's staged `.artifact.uploading.*` file in the run's
    artifacts (hidden in the UI, on disk for good); the resumed session removes it, and keeps the rest."""
    from urllib.parse import unquote, urlparse

    from mgx.core.tracking.operations import STAGED_UPLOAD_PREFIX

    wd = tmp_path / "wd"
    settings = fast_settings(workspace=workspace, experiment="staged", run_name="s")
    first = Tracker.start(settings, wd, log_environment=False)
    run_id = first.run_id
    first.finish("FAILED")
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "iter_2.pth").write_bytes(b"x" * 10)
    client = MlflowClient(first.tracking_uri)
    client.log_artifact(run_id, str(folder / "iter_2.pth"), "checkpoints")
    artifacts = Path(unquote(urlparse(client.get_run(run_id).info.artifact_uri).path))
    staged = artifacts / "checkpoints" / f"{STAGED_UPLOAD_PREFIX}k3x9q"
    staged.write_bytes(b"half a checkpoint")

    second = Tracker.start(settings, wd, run_id_to_resume=run_id, resume_step=2, log_environment=False)
    second.finish()
    assert not staged.exists()
    assert (artifacts / "checkpoints" / "iter_2.pth").read_bytes() == b"x" * 10

"""Store down: spool, then replay idempotently (Tracker.start and `mgx sync`)."""
from __future__ import annotations

import shutil
import time

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mgx.cli.tracking_commands import sync
from mgx.core.tracking import Tracker, replay_spool_dir, spool_dir
from mgx.core.tracking.replay import OFFLINE_ID_TAG
from mgx.core.tracking.server import free_port
from mgx.core.tracking.spool import load_id_map, pending_files, read_records

from tracking_helpers import fast_settings


def _spool_offline_run(tmp_path, steps=300):
    """A whole run against a store nobody listens on; returns (tracker, work dir)."""
    wd = tmp_path / "wd"
    settings = fast_settings(tracking_uri=f"http://127.0.0.1:{free_port()}", experiment="offline", run_name="off")
    tracker = Tracker.start(settings, wd, config_flat={"lr": "0.1"}, tags={"mgx.launcher": "none"},
                            log_environment=False)
    assert tracker.run_id.startswith("offline-")
    note = tmp_path / "note.txt"
    note.write_text("spooled artifact")
    tracker.log_artifact(note, "notes")
    for step in range(steps):
        tracker.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    started = time.monotonic()
    assert tracker.finish() is False  # something was spooled
    assert time.monotonic() - started < 15
    return tracker, wd


@pytest.mark.timeout(120)
def test_unreachable_store_spools_and_sync_replays_idempotently(tmp_path, workspace):
    tracker, wd = _spool_offline_run(tmp_path)
    files = pending_files(spool_dir(wd))
    assert len(files) == 1
    ops = [r["op"] for r in read_records(files[0])[1]]
    assert ops[0] == "create_run" and ops[-1] == "terminate" and "artifact" in ops
    backup = tmp_path / "spool-copy.jsonl"
    shutil.copy(files[0], backup)

    target = f"sqlite:///{workspace / 'mlflow.db'}"
    result = CliRunner().invoke(sync, [str(tmp_path), "--tracking-uri", target])
    assert result.exit_code == 0, result.output
    assert "300 metric values written" in result.output
    real_id = load_id_map(spool_dir(wd))[tracker.run_id]
    client = MlflowClient(target)
    run = client.get_run(real_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "off"
    assert run.data.tags[OFFLINE_ID_TAG] == tracker.run_id and run.data.params == {"lr": "0.1"}
    assert len(client.get_metric_history(real_id, "loss")) == 300
    assert [a.path for a in client.list_artifacts(real_id, "notes")] == ["notes/note.txt"]
    assert not pending_files(spool_dir(wd))

    again = CliRunner().invoke(sync, [str(tmp_path), "--tracking-uri", target])
    assert again.exit_code == 0 and "nothing to sync" in again.output

    # Replaying the same records again (a sync that died after writing) adds nothing.
    shutil.copy(backup, spool_dir(wd) / backup.name)
    (spool_dir(wd) / "run_ids.json").unlink()  # even without the id map: the run is found by its tag
    report = replay_spool_dir(spool_dir(wd), target)
    assert report.metrics_written == 0 and report.metrics_present == 300 and not report.runs_created
    assert len(client.get_metric_history(real_id, "loss")) == 300
    assert len(client.search_runs([run.info.experiment_id])) == 1


@pytest.mark.timeout(120)
def test_resuming_an_offline_run_id_after_sync_continues_the_real_run(tmp_path, workspace):
    tracker, wd = _spool_offline_run(tmp_path, steps=50)
    header_uri = read_records(pending_files(spool_dir(wd))[0])[0]["tracking_uri"]
    assert header_uri.startswith("http://127.0.0.1:")
    target = f"sqlite:///{workspace / 'mlflow.db'}"
    replay_spool_dir(spool_dir(wd), target)
    real_id = load_id_map(spool_dir(wd))[tracker.run_id]
    # A new session resumes the offline id: it maps to the real run.
    resumed = Tracker.start(fast_settings(tracking_uri=target, experiment="offline"), wd,
                            run_id_to_resume=tracker.run_id, resume_step=49, log_environment=False)
    assert resumed.run_id == real_id
    resumed.log_metrics({"loss": 0.001}, step=50)
    resumed.finish()
    assert len(MlflowClient(target).get_metric_history(real_id, "loss")) == 51


def test_torn_last_line_is_ignored(tmp_path):
    folder = spool_dir(tmp_path)
    folder.mkdir(parents=True)
    path = folder / "x.jsonl"
    path.write_text('{"op": "header", "tracking_uri": "sqlite:///x.db"}\n'
                    '{"op": "tags", "run": "r", "t": {"a": "1"}}\n{"op": "metr')
    header, records = read_records(path)
    assert header["tracking_uri"] == "sqlite:///x.db" and records == [{"op": "tags", "run": "r", "t": {"a": "1"}}]


def test_sync_with_nothing_to_do(tmp_path):
    result = CliRunner().invoke(sync, [str(tmp_path)])
    assert result.exit_code == 0 and "nothing to sync" in result.output



def test_sync_with_a_bad_tracking_uri_is_a_usage_error_even_with_nothing_to_sync(tmp_path):
    from mgx.cli.main import cli

    result = CliRunner().invoke(cli, ["sync", str(tmp_path), "--tracking-uri", "htp://typo:5000"], prog_name="mgx")
    assert result.exit_code == 2, result.output
    assert "--tracking-uri='htp://typo:5000'" in result.output and "scheme 'htp'" in result.output

"""The tracking helper process: log_batch outside the training process's GIL, errors
sorted as the writer expects, a helper that dies is replaced, and a Tracker that uses it."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import torch
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from mgx.core.errors import ConfigError
from mgx.core.tracking import Tracker, TrackingSettings
from mgx.core.tracking import operations as ops
from mgx.core.tracking.batch_process import BatchProcessError, OutOfProcessBatches
from mgx.core.tracking.store import prepare_store

from tracking_helpers import fast_settings


def _run_and_helper(tmp_path):
    """A SQLite store with one run, and a started helper for it: (client, run id, batches)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    prepare_store(uri)
    client = MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("helper")).info.run_id
    batches = OutOfProcessBatches(client, uri)
    batches.start()
    return client, run_id, batches


@pytest.fixture
def store(tmp_path):
    client, run_id, batches = _run_and_helper(tmp_path)
    assert batches.wait_ready(60)  # these tests are about the helper's calls (till then this process writes)
    yield client, run_id, batches
    batches.close()


@pytest.mark.timeout(120)
def test_batches_reach_the_store_from_the_helper(store):
    client, run_id, batches = store
    batches.log_batch(run_id, metrics=[Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(300)],
                      params=[Param("lr", "0.01")])
    helper = batches._process
    assert helper is not None and helper.poll() is None and helper.pid != os.getpid()
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(300))
    assert client.get_run(run_id).data.params == {"lr": "0.01"}
    assert batches.get_run(run_id).info.run_id == run_id  # everything else goes to the client here
    batches.close()
    assert helper.poll() == 0  # exits when its pipe closes


@pytest.mark.timeout(120)
def test_store_errors_come_back_as_the_writer_sorts_them(store):
    client, run_id, batches = store
    batches.log_batch(run_id, params=[Param("lr", "0.01")])
    with pytest.raises(Exception) as refused:  # MLflow refuses to change a logged param
        batches.log_batch(run_id, params=[Param("lr", "0.02")])
    assert ops.classify_error(refused.value) == ops.INVALID and "lr" in str(refused.value)
    client.delete_run(run_id)
    with pytest.raises(Exception) as deleted:
        batches.log_batch(run_id, metrics=[Metric("loss", 1.0, 1000, 0)])
    assert ops.classify_error(deleted.value) == ops.INACTIVE


@pytest.mark.timeout(120)
def test_a_helper_that_dies_mid_call_is_a_transient_error_and_is_replaced(store):
    client, run_id, batches = store
    batches.log_batch(run_id, metrics=[Metric("loss", 1.0, 1000, 0)])
    first = batches._process
    os.kill(first.pid, signal.SIGSTOP)  # the next call waits for an answer that never comes...
    outcome = {}

    def call():
        try:
            batches.log_batch(run_id, metrics=[Metric("loss", 2.0, 1001, 1)])
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(1.0)
    os.kill(first.pid, signal.SIGKILL)  # ...until the helper dies
    caller.join(timeout=30)
    error = outcome.get("error")
    assert isinstance(error, BatchProcessError), outcome
    assert ops.classify_error(error) == ops.TRANSIENT and ops.is_store_failure(error)
    batches.log_batch(run_id, metrics=[Metric("loss", 3.0, 1002, 2)])  # the writer's retry: a new helper
    assert batches._process is not first and batches.wait_ready(60)
    assert [m.value for m in sorted(client.get_metric_history(run_id, "loss"), key=lambda m: m.step)] == [1.0, 3.0]

    batches.kill()  # a helper found dead between calls is simply replaced
    batches._process.wait(timeout=10)
    batches.log_batch(run_id, metrics=[Metric("loss", 4.0, 1003, 3)])
    assert len(client.get_metric_history(run_id, "loss")) == 3


@pytest.mark.timeout(120)
def test_a_tracker_writes_through_the_helper_and_stops_it(workspace, tmp_path):
    settings = fast_settings(workspace=workspace, experiment="helper-tracker", batch_process=True)
    tracker = Tracker.start(settings, tmp_path / "wd", config_flat={"model.type": "X"}, log_environment=False)
    assert tracker._batch_client.wait_ready(60)  # started with the tracker; till ready, this process writes
    for step in range(500):
        tracker.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    assert tracker.flush_metrics(30)
    helper = tracker._batch_client._process
    assert helper is not None and helper.poll() is None
    assert tracker.finish() is True
    assert helper.poll() == 0
    run = MlflowClient(tracker.tracking_uri).get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"model.type": "X"}
    assert len(MlflowClient(tracker.tracking_uri).get_metric_history(tracker.run_id, "loss")) == 500


def test_batch_process_setting(monkeypatch):
    sqlite, http = "sqlite:////tmp/x.db", "http://127.0.0.1:5000"
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert TrackingSettings().writes_in_helper_process(sqlite)
    assert not TrackingSettings().writes_in_helper_process(http)  # the server does the SQL work
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert not TrackingSettings().writes_in_helper_process(sqlite)  # torch's threads use both cores
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert TrackingSettings().writes_in_helper_process(sqlite)  # one core is free for the helper
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert not TrackingSettings().writes_in_helper_process(sqlite)  # two 1-thread processes use both
    assert TrackingSettings(batch_process=True).writes_in_helper_process(sqlite)
    with pytest.raises(ConfigError, match="batch_process='yes'"):
        TrackingSettings(batch_process="yes")


@pytest.mark.timeout(120)
def test_the_helpers_start_up_is_not_taken_for_a_slow_store(workspace, tmp_path):
    """The helper starts with the tracker and imports MLflow (seconds); a checkpoint right after the
    start waits for that, then gives the store its own short budget — and does not go offline."""
    settings = fast_settings(workspace=workspace, experiment="helper-start", batch_process=True, store_wait_s=0.5)
    tracker = Tracker.start(settings, tmp_path / "wd", config_flat={"model.type": "X"}, log_environment=False)
    assert tracker._batch_client._process is not None  # started before anything was written
    tracker.log_metrics({"loss": 0.5}, step=1)
    started = time.monotonic()
    assert tracker.secure_for_checkpoint() is True
    assert not tracker.store_offline and time.monotonic() - started < 60
    assert tracker.finish() is True
    assert [m.value for m in MlflowClient(tracker.tracking_uri).get_metric_history(tracker.run_id, "loss")] == [0.5]


def test_metric_values_reach_the_writer_without_waking_it_and_before_a_flush(workspace, tmp_path):
    """log_metrics only appends (the writer is not woken each log line); a flush right after still
    writes every value logged before it, in order."""
    settings = fast_settings(workspace=workspace, experiment="no-wake", batch_process=False, flush_interval_s=30.0)
    tracker = Tracker.start(settings, tmp_path / "wd", config_flat={}, log_environment=False)
    writer, queued = tracker._writer, []
    put = tracker._put
    tracker._put = lambda item: (queued.append(item[0]), put(item))
    for step in range(50):
        tracker.log_metrics({"loss": float(step)}, step=step)
    assert len(writer.metric_rows) == 50 and queued == []  # handed over, nothing queued to wake the writer
    assert tracker.flush_metrics(30)
    assert not writer.metric_rows
    history = MlflowClient(tracker.tracking_uri).get_metric_history(tracker.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(50)) and all(m.value == m.step for m in history)
    assert tracker.finish() is True


@pytest.mark.timeout(120)
def test_this_process_writes_while_the_helper_starts_and_a_starting_helper_is_ended(tmp_path):
    client, run_id, batches = _run_and_helper(tmp_path)
    helper = batches._process
    os.kill(helper.pid, signal.SIGSTOP)  # held before it can say ready
    try:
        started = time.monotonic()
        batches.log_batch(run_id, metrics=[Metric("loss", 1.0, 1000, 0)])  # written here, not waited for
        assert client.get_metric_history(run_id, "loss")[0].value == 1.0 and time.monotonic() - started < 10
        assert not batches.wait_ready(0.1)
    finally:
        os.kill(helper.pid, signal.SIGCONT)
    batches.close()  # not ready: ended, not waited for
    assert helper.wait(timeout=30) is not None

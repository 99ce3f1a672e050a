"""Team mode: a real `mlflow server` over HTTP, killed mid-logging and restarted."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mgx.cli.tracking_commands import sync
from mgx.core.tracking import Tracker, spool_dir
from mgx.core.tracking.spool import pending_files

from tracking_helpers import LocalServer, fast_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module (each start costs seconds); the crash test kills and restarts it."""
    local = LocalServer(tmp_path_factory.mktemp("server")).start()
    yield local
    local.stop()


@pytest.mark.timeout(120)
def test_team_server_logging_with_credentials_in_env(server, tmp_path, monkeypatch):
    # MLflow sends these as basic auth; a server without auth ignores them. They must not break logging.
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "secret")
    settings = fast_settings(tracking_uri=server.url, experiment="team", run_name="team-run")
    tracker = Tracker.start(settings, tmp_path / "wd", config_flat={"a": "1"}, log_environment=False)
    for step in range(1500):
        tracker.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    note = tmp_path / "n.txt"
    note.write_text("hi")
    tracker.log_artifact(note)
    assert tracker.finish() is True
    client = MlflowClient(server.url)
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "team-run"
    assert len(client.get_metric_history(tracker.run_id, "loss")) == 1500
    assert [a.path for a in client.list_artifacts(tracker.run_id)] == ["n.txt"]


@pytest.mark.timeout(120)
def test_finish_is_bounded_when_the_server_hangs(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "4")
    wd = tmp_path / "wd"
    tracker = Tracker.start(fast_settings(tracking_uri=server.url, experiment="frozen", flush_timeout_s=3.0), wd,
                            log_environment=False)
    tracker.log_metrics({"loss": -1.0}, step=0)
    assert tracker.flush(20)
    server.freeze(True)
    try:
        for step in range(1, 301):
            tracker.log_metrics({"loss": float(step)}, step=step)
        started = time.monotonic()
        assert tracker.finish() is False  # not everything reached the store in time
        assert time.monotonic() - started < 6  # 3 s budget + spooling
        assert any("did not take everything within 3 s" in p for p in tracker.problems)
    finally:
        server.freeze(False)
    deadline = time.monotonic() + 30
    while tracker._writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)  # the abandoned writer finishes its hung call, then exits (and unlocks)
    result = CliRunner().invoke(sync, [str(wd)])
    assert result.exit_code == 0, result.output
    client = MlflowClient(server.url)
    history = client.get_metric_history(tracker.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(301))  # all there, none twice
    assert client.get_run(tracker.run_id).info.status == "FINISHED"


@pytest.mark.timeout(300)
def test_server_killed_mid_logging_loses_nothing(server, tmp_path):
    settings = fast_settings(tracking_uri=server.url, experiment="crash", offline_retry_s=0.5)
    wd = tmp_path / "wd"
    tracker = Tracker.start(settings, wd, log_environment=False)
    total = 0
    note = tmp_path / "during-outage.txt"
    note.write_text("uploaded while the server was down")
    late_wd = tmp_path / "late"
    for phase in ("up", "down", "back"):
        for _ in range(200):
            tracker.log_metrics({"loss": float(total), "acc": total / 1000}, step=total)
            total += 1
            time.sleep(0.002)  # ~0.4 s of "training" per phase: several writer flushes
        if phase == "up":
            tracker.flush(10)
            server.kill()
        elif phase == "down":
            tracker.log_artifact(note, "outage")
            tracker.flush(20)  # the writer meets the dead server and spools
            assert any("failed" in p for p in tracker.problems)
            # Meanwhile another job starts while the store is down: it runs on, spooled.
            late = Tracker.start(fast_settings(tracking_uri=server.url, experiment="late"), late_wd,
                                 log_environment=False)
            offline_id = late.run_id
            assert offline_id.startswith("offline-")
            for step in range(100):
                late.log_metrics({"loss": float(step)}, step=step)
            late.finish("FAILED")
            assert len(pending_files(spool_dir(late_wd))) == 1
            server.start()  # same port, same database
    tracker.finish()
    # Whatever the writer did not replay by itself, sync does; then nothing is pending.
    result = CliRunner().invoke(sync, [str(wd)])
    assert result.exit_code == 0, result.output
    assert not pending_files(spool_dir(wd))
    client = MlflowClient(server.url)
    for key in ("loss", "acc"):
        history = client.get_metric_history(tracker.run_id, key)
        assert len(history) == total == 600  # every value once: none lost, none doubled
        assert sorted(m.step for m in history) == list(range(600))
    assert client.get_run(tracker.run_id).info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(tracker.run_id, "outage")] == ["outage/during-outage.txt"]

    # The late job resumes: its start replays the spool (creating the run) and continues it.
    second = Tracker.start(fast_settings(tracking_uri=server.url, experiment="late"), late_wd,
                           run_id_to_resume=offline_id, resume_step=99, log_environment=False)
    assert not second.run_id.startswith("offline-")
    assert not pending_files(spool_dir(late_wd))
    second.log_metrics({"loss": 100.0}, step=100)
    second.finish()
    assert len(client.get_metric_history(second.run_id, "loss")) == 101
    run = client.get_run(second.run_id)
    assert run.data.tags["mgx.resumed_from_step"] == "99" and run.info.status == "FINISHED"


@pytest.mark.timeout(300)
def test_after_a_reconnect_replayed_the_spool_finish_reports_nothing_left(server, tmp_path, caplog):
    # issue 12, item 13: the end-of-run warning counted records a reconnect had already replayed
    tracker = Tracker.start(fast_settings(tracking_uri=server.url, experiment="reconnect", offline_retry_s=0.5),
                            tmp_path / "wd", log_environment=False)
    for step in range(20):
        tracker.log_metrics({"loss": float(step)}, step=step)
    tracker.flush(10)
    server.kill()
    for step in range(20, 50):
        tracker.log_metrics({"loss": float(step)}, step=step)
    tracker.flush(20)
    assert tracker._state.offline and pending_files(spool_dir(tmp_path / "wd")), "the outage was not spooled"
    server.start()
    deadline = time.monotonic() + 60
    while tracker._state.offline and time.monotonic() < deadline:
        time.sleep(0.2)  # the writer probes the store, replays the spool, goes online again
    assert not tracker._state.offline, "the writer did not reconnect"
    with caplog.at_level("WARNING", logger="mgx.tracking"):
        assert tracker.finish() is True
    assert not any("in the spool" in record.getMessage() for record in caplog.records), caplog.text
    assert not pending_files(spool_dir(tmp_path / "wd"))
    history = MlflowClient(server.url).get_metric_history(tracker.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(50))


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@pytest.mark.timeout(120)
def test_a_store_that_was_only_slow_at_a_checkpoint_is_back_online_when_its_call_returns(server, tmp_path):
    # a slow moment of the server (> store_wait_s at a checkpoint) left the run offline until the
    # next periodic probe: a short training then ended offline and skipped logging its model
    tracker = Tracker.start(fast_settings(tracking_uri=server.url, experiment="slow", store_wait_s=0.5,
                                          offline_retry_s=600.0), tmp_path / "wd", log_environment=False)
    tracker.log_metrics({"loss": 0.0}, step=0)
    assert tracker.flush(20)
    server.freeze(True)
    try:
        for step in range(1, 11):
            tracker.log_metrics({"loss": float(step)}, step=step)
        assert tracker.secure_for_checkpoint() is False  # diverted to the spool after 0.5 s
        assert tracker.store_offline
    finally:
        server.freeze(False)
    assert _wait_until(lambda: not tracker.store_offline, 30), tracker.problems
    tracker.log_metrics({"loss": 11.0}, step=11)
    assert tracker.finish() is True
    history = MlflowClient(server.url).get_metric_history(tracker.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(12))  # the replay doubled nothing


@pytest.mark.timeout(120)
def test_reconnect_tries_an_offline_store_now_and_replays_the_spool(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    tracker = Tracker.start(fast_settings(tracking_uri=server.url, experiment="reconnect-now", offline_retry_s=600.0),
                            tmp_path / "wd", log_environment=False)
    tracker.log_metrics({"loss": 0.0}, step=0)
    assert tracker.flush(20)
    server.freeze(True)
    try:
        tracker.log_metrics({"loss": 1.0}, step=1)
        assert _wait_until(lambda: tracker.store_offline, 30)  # the call timed out: offline
        tracker.log_metrics({"loss": 2.0}, step=2)
        assert tracker.flush(10)  # spooled
        started = time.monotonic()
        assert tracker.reconnect(2.0) is False  # still frozen: bounded wait, still offline
        assert time.monotonic() - started < 3
    finally:
        server.freeze(False)
    assert _wait_until(lambda: tracker.reconnect(5.0), 40), tracker.problems
    assert tracker.finish() is True
    history = MlflowClient(server.url).get_metric_history(tracker.run_id, "loss")
    assert sorted(m.step for m in history) == [0, 1, 2]


@pytest.mark.timeout(180)
def test_the_trained_model_is_logged_when_the_store_answers_again_by_the_end(server, tmp_path, monkeypatch):
    # CI: a run offline since a slow checkpoint skipped `tracking.register_model` at its end
    import logging

    import torch

    import mgx.core.registry as registry_module
    from mgx.core.plugins import PluginManager
    from mgx.core.tracking.model_registry import log_model_at_end

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    model_cfg = dict(type="BaseEditModel", generator=dict(type="SRCNNNet", channels=(3, 4, 2, 3), upscale_factor=2),
                     pixel_loss=dict(type="L1Loss"))
    saved_registry = registry_module._activate_callback, registry_module._active
    PluginManager(["mgx.plugins.models"]).activate()
    try:
        checkpoint = tmp_path / "iter_2.pth"
        torch.save({"model": registry_module.build(dict(model_cfg), "model").state_dict(),
                    "meta": {"iteration": 2}}, checkpoint)
        tracker = Tracker.start(fast_settings(tracking_uri=server.url, experiment="late-model", offline_retry_s=600.0,
                                              register_model="late-sr"), tmp_path / "wd", log_environment=False)
        server.freeze(True)
        try:
            tracker.log_metrics({"loss": 1.0}, step=1)
            assert _wait_until(lambda: tracker.store_offline, 30)
        finally:
            server.freeze(False)
        log_model_at_end(tracker, model_cfg, checkpoint, False, logging.getLogger("test"))
    finally:
        registry_module._activate_callback, registry_module._active = saved_registry
    assert tracker.finish() is True
    client = MlflowClient(server.url, registry_uri=server.url)
    (version,) = client.search_model_versions("name='late-sr'")
    assert version.run_id == tracker.run_id

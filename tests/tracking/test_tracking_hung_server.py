"""A hung tracking server (a real `mlflow server`, SIGSTOPped mid-run) holds a real `mgx run train`
for a bounded, short time per checkpoint; the spool takes over and `mgx sync` replays it all
(issue 12, item 6)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tracking_helpers import LocalServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from engine_helpers import mgx_command, mgx_env, run_mgx, write_tiny_config  # noqa: E402

MAX_ITERS = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server for the module (each test freezes it and thaws it again, and uses its own
    experiments): a server start is several seconds of a loaded CI machine."""
    local = LocalServer(tmp_path_factory.mktemp("server")).start()
    yield local
    local.freeze(False)
    local.stop()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_hung_server_stalls_each_checkpoint_briefly_and_sync_replays_everything(tmp_path: Path,
                                                                                  server: LocalServer) -> None:
    config = write_tiny_config(tmp_path, max_iters=MAX_ITERS, val_interval=1000, ckpt_interval=2,
                               extra="\ndefault_hooks['logger']['interval'] = 1\n")
    work = tmp_path / "work"
    env = mgx_env()
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        env.pop(name, None)  # mgx's own bounded HTTP defaults, as a user gets them
    process = subprocess.Popen(mgx_command("run", "train", str(config), "--work-dir", str(work),
                                           "--tracking-uri", server.url, "--experiment", "hung"),
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    while not any(f"Iter [1/{MAX_ITERS}]" in line for line in lines):
        line = process.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    server.freeze(True)
    frozen_at = time.time()
    try:
        _, rest = process.communicate(timeout=300)
        ended_at = time.time()
    finally:
        server.freeze(False)
    assert process.returncode == 0, "".join(lines) + rest

    saved = sorted((int(p.stem.split("_")[1]), p.stat().st_mtime) for p in work.glob("iter_*.pth"))
    times = [frozen_at] + [mtime for _, mtime in saved]
    stalls = [round(later - earlier, 2) for earlier, later in zip(times, times[1:])]
    print(f"\nhung server: gaps between checkpoints {stalls} s; end of run {ended_at - times[-1]:.1f} s")
    assert [step for step, _ in saved] == list(range(2, MAX_ITERS + 1, 2))
    # two iterations of a tiny model take milliseconds: each gap is the wait for the store
    assert max(stalls) < 6, f"a checkpoint waited {max(stalls)} s for the hung store"
    # one wait per outage: once the store is known offline, later checkpoints spool without waiting
    # (the last gap also holds the end of the training: not counted)
    assert max(stalls[1:-1]) < 1.5, f"more than one checkpoint waited for the hung store: {stalls}"
    assert ended_at - times[-1] < 15, "the end of the run waited too long for the hung store"
    assert "mgx sync" in rest

    synced = run_mgx("sync", str(work), cwd=tmp_path, timeout=300)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    client = MlflowClient(server.url)
    (run,) = client.search_runs([client.get_experiment_by_name("hung").experiment_id])
    history = client.get_metric_history(run.info.run_id, "train/loss_gen")
    assert sorted(m.step for m in history) == list(range(1, MAX_ITERS + 1)), "values lost or doubled"
    assert run.info.status == "FINISHED"
    assert client.get_run(run.info.run_id).data.params["train_cfg.max_iters"] == str(MAX_ITERS)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_server_frozen_before_start_holds_start_up_at_most_once(tmp_path: Path, server: LocalServer) -> None:
    """Frozen before `mgx run train` starts: start-up asks /health once (2 s bound) and opens an offline
    run instead of waiting out MLflow's HTTP timeouts and retries (~45 s); the checkpoints do not wait
    again (the whole run takes a few seconds more than the same run with the store answering);
    `mgx sync` after the thaw puts the whole run in the store."""
    config = write_tiny_config(tmp_path, max_iters=MAX_ITERS, val_interval=1000, ckpt_interval=2,
                               extra="\ndefault_hooks['logger']['interval'] = 1\n")
    env = mgx_env()
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        env.pop(name, None)
    started = time.time()
    baseline = subprocess.run(mgx_command("run", "train", str(config), "--work-dir", str(tmp_path / "live"),
                                          "--tracking-uri", server.url, "--experiment", "live"),
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    live_s = time.time() - started
    assert baseline.returncode == 0, baseline.stderr[-3000:]
    server.freeze(True)
    try:
        started = time.time()
        frozen = subprocess.run(mgx_command("run", "train", str(config), "--work-dir", str(tmp_path / "work"),
                                            "--tracking-uri", server.url, "--experiment", "frozen",
                                            "--cfg-options", "tracking.register_model=frozen-gan"),
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        frozen_s = time.time() - started
    finally:
        server.freeze(False)
    assert frozen.returncode == 0, frozen.stderr[-3000:]
    print(f"\nfrozen from the start: {frozen_s:.1f} s, with the store answering {live_s:.1f} s")
    assert "unreachable" in frozen.stderr and "mgx sync" in frozen.stderr
    # start (2 s) and end (2 s): far from the 45 s of MLflow's own timeouts and retries at start-up
    assert frozen_s - live_s < 10, f"{frozen_s:.1f} s against {live_s:.1f} s with the store answering"
    synced = run_mgx("sync", str(tmp_path / "work"), cwd=tmp_path, timeout=300)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    client = MlflowClient(server.url)
    (run,) = client.search_runs([client.get_experiment_by_name("frozen").experiment_id])
    history = client.get_metric_history(run.info.run_id, "train/loss_gen")
    assert sorted(m.step for m in history) == list(range(1, MAX_ITERS + 1))
    assert run.info.status == "FINISHED"
    # the model the end of the training could not log: logged and registered by the sync
    assert "1 trained model(s) logged" in synced.stdout, synced.stdout
    assert "mgx.logged_model" in run.data.tags
    (version,) = client.search_model_versions("name='frozen-gan'")
    assert version.run_id == run.info.run_id
    again = run_mgx("sync", str(tmp_path / "work"), cwd=tmp_path, timeout=300)
    assert again.returncode == 0 and "nothing to sync" in again.stdout, again.stdout + again.stderr

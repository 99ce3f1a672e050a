"""`mgx run train --from-run RUN` and `--resume-run RUN` on the embedded SQLite store: real
trainings in subprocesses, the source run found by name or short id, the recorded config and
checkpoint downloaded, bit-identical results; bad references and corrupt artifacts exit 2."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from run_record_helpers import assert_identical, load_state, run_mgx, train_then_sigterm, write_tiny_config
from mlflow_runs import every_run


def _client(tmp_path: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def _runs(client: MlflowClient) -> list:
    return every_run(client)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_from_run_reproduces_the_source_run_and_tags_it(tmp_path):
    config = write_tiny_config(tmp_path, max_iters=6, val_interval=3, ckpt_interval=3)
    source = run_mgx("run", "train", str(config), "--work-dir", "src", "--run-name", "source-run", cwd=tmp_path)
    assert source.returncode == 0, source.stderr
    config.unlink()  # the record alone must be enough
    client = _client(tmp_path)
    (source_run,) = _runs(client)

    rerun = run_mgx("run", "train", "--from-run", "source-run", "--work-dir", "rerun", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "warning: differs" not in rerun.stderr  # same environment: nothing to report
    assert_identical(load_state(tmp_path / "src/iter_6.pth")["model"], load_state(tmp_path / "rerun/iter_6.pth")["model"])
    new_run = next(r for r in _runs(client) if r.info.run_id != source_run.info.run_id)
    assert new_run.info.status == "FINISHED"
    assert new_run.data.tags["mgx.source_run_id"] == source_run.info.run_id
    assert new_run.data.params["randomness.seed"] == source_run.data.params["randomness.seed"]

    # a recorded environment that differs: a warning, or with --strict an error before any run starts
    client.set_tag(source_run.info.run_id, "mgx.version", "0.0.1")
    strict = run_mgx("run", "train", "--from-run", source_run.info.run_id[:8], "--strict", "--work-dir", "strict",
                     cwd=tmp_path)
    assert strict.returncode == 2, strict.stderr
    assert "--strict" in strict.stderr and "mgx version: recorded 0.0.1" in strict.stderr
    assert "Traceback" not in strict.stderr
    warned = run_mgx("run", "train", "--from-run", source_run.info.run_id, "--work-dir", "warned",
                     "--cfg-options", "train_cfg.max_iters=3", cwd=tmp_path)
    assert warned.returncode == 0, warned.stderr
    assert f"warning: differs from run {source_run.info.run_id}: mgx version: recorded 0.0.1" in warned.stderr
    assert (tmp_path / "warned/iter_3.pth").exists() and not (tmp_path / "warned/iter_6.pth").exists()
    assert [r for r in _runs(client) if r.info.status == "RUNNING"] == []


@pytest.mark.timeout(300)
def test_bad_run_references_exit_2_and_start_nothing(tmp_path):
    from mgx.core.tracking.store import ensure_sqlite_store

    ensure_sqlite_store(tmp_path / "mlflow.db")  # from the template, with mgx's artifact root
    client = _client(tmp_path)
    twins = [client.create_run("0", run_name="twin").info.run_id for _ in range(2)]
    foreign = client.create_run("0", run_name="made-elsewhere").info.run_id
    for run_id in (*twins, foreign):
        client.set_terminated(run_id)

    ambiguous = run_mgx("run", "train", "--from-run", "twin", cwd=tmp_path)
    assert ambiguous.returncode == 2
    assert "ambiguous" in ambiguous.stderr and all(run_id in ambiguous.stderr for run_id in twins)
    unknown = run_mgx("run", "train", "--resume-run", "no-such-run", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown run 'no-such-run'" in unknown.stderr
    no_config = run_mgx("run", "train", "--from-run", "made-elsewhere", cwd=tmp_path)
    assert no_config.returncode == 2 and "has no config artifact" in no_config.stderr
    both = run_mgx("run", "train", "x.py", "--from-run", "made-elsewhere", cwd=tmp_path)
    assert both.returncode == 2 and "drop the CONFIG argument" in both.stderr
    (tmp_path / "sub").mkdir()
    elsewhere = run_mgx("run", "train", "--from-run", "twin", cwd=tmp_path / "sub")
    assert elsewhere.returncode == 2 and "no tracking store" in elsewhere.stderr
    assert not (tmp_path / "sub/mlflow.db").exists()
    for result in (ambiguous, unknown, no_config, both, elsewhere):
        assert "Traceback" not in result.stderr
    assert {r.info.run_id for r in _runs(client)} == {*twins, foreign}
    assert all(r.info.status == "FINISHED" for r in _runs(client))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_resume_run_into_a_fresh_folder_is_bit_identical_and_continues_the_same_run(tmp_path):
    config = write_tiny_config(tmp_path, max_iters=12, val_interval=6, ckpt_interval=100)
    straight = run_mgx("run", "train", str(config), "--work-dir", "straight", "--no-track", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    expected = load_state(tmp_path / "straight/iter_12.pth")

    # stopped after the validation at 6: the run has a best checkpoint uploaded (checkpoints/best)
    train_then_sigterm(tmp_path, config, tmp_path / "machine-a", 7, "--run-name", "victim")
    client = _client(tmp_path)
    (killed,) = _runs(client)
    assert killed.info.status == "KILLED"
    run_id = killed.info.run_id

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "note.txt").write_text("x")
    refused = run_mgx("run", "train", "--resume-run", "victim", "--work-dir", str(occupied), cwd=tmp_path)
    assert refused.returncode == 2 and "holds files" in refused.stderr

    resumed = run_mgx("run", "train", "--resume-run", run_id[:7], "--work-dir", "machine-b", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"continuing run {run_id}" in resumed.stderr and "resumed from" in resumed.stderr
    # the best file came back with the last one, so the run's model is its best, as on machine-a
    assert "(best so far: best_" in resumed.stderr, resumed.stderr[-3000:]
    assert "weights of best_" in resumed.stderr, resumed.stderr[-3000:]
    final = load_state(tmp_path / "machine-b/iter_12.pth")
    for part in ("model", "ema", "optimizers", "schedulers"):
        assert_identical(final[part], expected[part], part)

    (run,) = _runs(client)
    assert run.info.run_id == run_id and run.info.status == "FINISHED"
    for key in run.data.metrics:
        steps = [m.step for m in client.get_metric_history(run_id, key)]
        assert len(steps) == len(set(steps)), f"metric {key} logged a step twice: {sorted(steps)}"
    loss_key = next(k for k in run.data.metrics if k.startswith("loss") or "/loss" in k)
    assert sorted(m.step for m in client.get_metric_history(run_id, loss_key)) == list(range(1, 13))

    # a stored checkpoint that no longer matches its recorded checksum is refused, nothing is written
    experiment_dir = tmp_path / "mlartifacts" / run.info.experiment_id / run_id / "artifacts/checkpoints/last"
    stored = experiment_dir / "iter_12.pth"
    recorded = json.loads((experiment_dir / "iter_12.pth.sha256.json").read_text())
    assert recorded["size"] == stored.stat().st_size
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    corrupt = run_mgx("run", "train", "--resume-run", run_id, "--work-dir", "machine-c", cwd=tmp_path)
    assert corrupt.returncode == 2 and "does not match its recorded checksum" in corrupt.stderr
    assert not (tmp_path / "machine-c").exists()
    assert client.get_run(run_id).info.status == "FINISHED"

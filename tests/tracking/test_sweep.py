"""`mgx sweep` on the real embedded store: grid parsing and checks, a 2x2 local sweep with one
parent and four FINISHED nested children (rerun skips them), `runs compare --parent`, and
the MLflow UI (headless Chromium) showing the children under the parent."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from mgx.core.config import load_config
from mgx.core.errors import ConfigError
from mgx.core.run.sweep import check_grid_keys, grid_points, override_items, parse_grid, parse_grid_item
from mgx.plugins.launchers.slurm_array import array_spec

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
sys.path.insert(0, str(ENGINE_TESTS))
from engine_helpers import write_tiny_config  # noqa: E402
from mlflow_runs import every_run

LR = "optim_wrapper.generator.optimizer.lr"
BATCH = "train_dataloader.batch_size"


def _mgx(*args, cwd, timeout=600):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "MGX_SWEEP_"))
           and k not in ("MLFLOW_TRACKING_URI", "MGX_WORKSPACE")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _runs(workspace: Path):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
    return every_run(client)


# -- planning ---------------------------------------------------------------------------


def test_grid_items_parse_literals_and_words():
    assert parse_grid_item("a.b=[1e-3, 2e-4]") == ("a.b", [1e-3, 2e-4])
    assert parse_grid_item("opt.type=[Adam,SGD]") == ("opt.type", ["Adam", "SGD"])
    assert parse_grid_item("betas=[(0.5, 0.9), (0.0, 0.99)]") == ("betas", [(0.5, 0.9), (0.0, 0.99)])
    for bad, needle in (("a.b=[]", "empty"), ("a.b", r"KEY=\[v1"), ("a.b=3", "bracketed")):
        with pytest.raises(ConfigError, match=needle):
            parse_grid_item(bad)
    with pytest.raises(ConfigError, match="empty grid"):
        parse_grid([])
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["a=[1]", "a=[2]"])


def test_points_are_the_product_or_a_seeded_sample():
    grid = {"a": [1, 2], "b": ["x", "y", "z"]}
    points = grid_points(grid)
    assert points == [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]
    sample = grid_points(grid, 3, seed=5)
    assert len(sample) == 3 and all(p in points for p in sample) and len({json.dumps(p) for p in sample}) == 3
    assert grid_points(grid, 3, seed=5) == sample
    assert [grid_points(grid, 3, seed=s) for s in range(6)].count(sample) < 6  # the seed matters
    with pytest.raises(ConfigError, match="more than the 6"):
        grid_points(grid, 7, seed=0)


def test_grid_keys_must_exist_with_a_did_you_mean(tmp_path):
    config = write_tiny_config(tmp_path)
    cfg = load_config(config)
    check_grid_keys(cfg, {LR: [1], "val_evaluator.metrics.0.fake_nums": [8]}, str(config))
    with pytest.raises(ConfigError, match=r"has no key 'optim_wrapper.generator.optimizer.lrr'.*did you mean "
                                          r"optim_wrapper.generator.optimizer.lr"):
        check_grid_keys(cfg, {LR + "r": [1]}, str(config))


def test_point_overrides_read_back_as_the_same_values(tmp_path):
    config = write_tiny_config(tmp_path)
    point = {LR: 2e-4, "optim_wrapper.generator.optimizer.betas": (0.0, 0.99), "model.type": "DCGAN"}
    cfg = load_config(config, override_items(point))
    generator = cfg["optim_wrapper"]["generator"]["optimizer"]
    assert generator["lr"] == 2e-4 and tuple(generator["betas"]) == (0.0, 0.99) and cfg["model"]["type"] == "DCGAN"


def test_array_spec_throttles_and_lists_only_the_points_to_run():
    assert array_spec([0, 1, 2], 2) == "0-2%2"
    assert array_spec([0, 2, 3], None) == "0,2,3"
    assert array_spec([4], 1) == "4%1"


@pytest.mark.parametrize("grid, message", [
    ([f"--grid={LR}r=[1e-3,1e-4]"], "did you mean optim_wrapper.generator.optimizer.lr"),
    ([f"--grid={LR}=[]"], "is empty"),
    ([], "empty grid"),
])
def test_bad_grid_exits_2_before_any_run(grid, message, tmp_path):
    config = write_tiny_config(tmp_path)
    result = _mgx("sweep", str(config), *grid, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "mlflow.db").exists() or not _runs(tmp_path)
    assert not (tmp_path / "work_dirs").exists()


# -- a real 2x2 sweep ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 2x2 sweep run twice in a fresh workspace: (workspace, first result, second result)."""
    workspace = tmp_path_factory.mktemp("sweep")
    config = write_tiny_config(workspace, max_iters=4, val_interval=2, ckpt_interval=2)
    args = ["sweep", str(config), "--grid", f"{LR}=[1e-3,2e-4]", "--grid", f"{BATCH}=[8,16]",
            "--max-parallel", "2", "--experiment", "sweeps"]
    first = _mgx(*args, cwd=workspace)
    second = _mgx(*args, cwd=workspace)
    return workspace, first, second


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_local_2x2_sweep_gives_a_parent_and_four_finished_children_and_a_rerun_skips_them(swept):
    workspace, first, second = swept
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    runs = _runs(workspace)
    parents = [r for r in runs if r.data.tags.get("mgx.sweep") == "parent"]
    assert len(parents) == 1 and len(runs) == 5
    (parent,) = parents
    assert parent.info.status == "FINISHED"
    assert json.loads(parent.data.params[f"sweep.grid.{LR}"]) == [1e-3, 2e-4]
    assert parent.data.params["sweep.points"] == "4" and parent.data.params["sweep.keys"] == f"{LR},{BATCH}"
    children = [r for r in runs if r is not parent]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children)
    assert all(r.info.status == "FINISHED" and r.info.experiment_id == parent.info.experiment_id for r in children)
    seen = {(float(r.data.params[LR]), int(r.data.params[BATCH])) for r in children}
    assert seen == {(1e-3, 8), (1e-3, 16), (2e-4, 8), (2e-4, 16)}
    assert sorted(r.data.tags["mgx.sweep.point"] for r in children) == ["0", "1", "2", "3"]
    folders = sorted(p.name for p in (workspace / "work_dirs").glob("sweep-tiny-*/point_*"))
    assert folders == ["point_000", "point_001", "point_002", "point_003"]

    assert second.returncode == 0, second.stderr[-3000:]
    assert "skipping 4 finished point(s)" in second.stdout and "point 0:" not in second.stdout
    again = _runs(workspace)
    assert len(again) == 5 and all(r.info.status == "FINISHED" for r in again)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_compare_parent_ranks_children_by_the_metric_with_swept_columns(swept):
    workspace, first, _ = swept
    assert first.returncode == 0, first.stderr[-3000:]
    parent = next(r for r in _runs(workspace) if r.data.tags.get("mgx.sweep") == "parent")
    result = _mgx("runs", "compare", "--parent", parent.info.run_name, "--metric", "SWD/avg", "--plot",
                  str(workspace / "sweep.png"), cwd=workspace)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "ranked by SWD/avg" in lines[0] and "lower is better" in lines[0]
    header = lines[1].split()
    assert header[-3:] == [LR, BATCH, "SWD/avg"]
    values = [float(line.split()[-1]) for line in lines[3:7]]
    assert values == sorted(values)  # SWD: lower is better, best first
    children = {r.info.run_id[:8]: r.data.metrics["SWD/avg"] for r in _runs(workspace)
                if r.data.tags.get("mlflow.parentRunId")}
    for line, value in zip(lines[3:7], values):
        short = line.split("(")[1].split(")")[0]
        assert children[short] == pytest.approx(value, rel=1e-5)
    assert (workspace / "sweep.png").stat().st_size > 5_000
    unknown = _mgx("runs", "compare", "--parent", parent.info.run_name, "--metric", "nope", cwd=workspace)
    assert unknown.returncode == 2 and "logged metric 'nope'" in unknown.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mlflow_ui_shows_the_children_nested_under_the_parent(swept):
    from test_tracking_browser import ARTIFACTS_DIR, _chromium, _render, start_ui

    from mgx.core.tracking.server import free_port, stop_server

    chromium = _chromium()
    workspace, first, _ = swept
    assert first.returncode == 0, first.stderr[-3000:]
    runs = _runs(workspace)
    parent = next(r for r in runs if r.data.tags.get("mgx.sweep") == "parent")
    children = [r for r in runs if r is not parent]
    process, links = start_ui(workspace, free_port(), cwd=workspace)
    url = links["MLflow UI (Ctrl-C stops it):"]
    try:
        shots = ARTIFACTS_DIR / "sweeps"
        dom = _render(chromium, url, shots / "sweep_runs_page.png")
        # one row: the parent, with the expand button of the run-name cell; the children are folded in it
        assert parent.info.run_name in dom, dom[-2000:]
        before_parent = dom[:dom.index(f'href="#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}"')]
        assert "runnamecellrenderer" in before_parent[-3000:]
        assert not any(r.info.run_name in dom for r in children)
        child = children[0]
        base = url.split("#")[0]
        dom = _render(chromium, f"{base}#/experiments/{child.info.experiment_id}/runs/{child.info.run_id}",
                      shots / "sweep_child_page.png")
        parent_cell = dom[dom.index('data-testid="key-value-Parent run"'):][:600]
        assert parent.info.run_id in parent_cell and parent.info.run_name in parent_cell
        ids = urllib.parse.quote(json.dumps([r.info.run_id for r in children]))
        experiments = urllib.parse.quote(json.dumps([parent.info.experiment_id]))
        dom = _render(chromium, f"{base}#/compare-runs?runs={ids}&experiments={experiments}",
                      shots / "sweep_parallel_coordinates.png")
        assert 'class="parcoords"' in dom
        import re

        axes = re.findall(r'<text[^>]*class="[^"]*axis-title[^"]*"[^>]*>([^<]*)<', dom)
        assert LR in axes and BATCH in axes, axes
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        finally:
            stop_server(process)


def test_point_status_prefers_a_finished_attempt_and_the_parent_ends_when_all_finished(tmp_path):
    from mlflow import MlflowClient

    from mgx.core.run.sweep import finish_parent_if_done, point_statuses
    from mgx.core.tracking.store import get_or_create_experiment, prepare_store

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    prepare_store(uri)
    client = MlflowClient(uri)
    experiment = get_or_create_experiment(client, uri, "s")
    parent = client.create_run(experiment, run_name="p").info.run_id

    def child(point, status):
        run = client.create_run(experiment, tags={"mlflow.parentRunId": parent, "mgx.sweep.point": str(point)})
        if status != "RUNNING":
            client.set_terminated(run.info.run_id, status)
    child(0, "FAILED")
    child(0, "FINISHED")  # a rerun finished the point
    child(1, "KILLED")
    child(1, "RUNNING")  # resumed, still going
    assert point_statuses(client, parent, experiment) == {0: "FINISHED", 1: "RUNNING"}
    assert finish_parent_if_done(client, parent, experiment, 2) is None
    assert client.get_run(parent).info.status == "RUNNING"
    child(1, "FINISHED")
    assert finish_parent_if_done(client, parent, experiment, 2) == "FINISHED"
    assert client.get_run(parent).info.status == "FINISHED"


def test_a_sweep_folder_belongs_to_one_definition(tmp_path):
    from mgx.core.run.sweep import SweepPlan, check_folder_holds, write_state

    config = write_tiny_config(tmp_path)
    first = SweepPlan(config, {LR: [1e-3, 2e-4]}, grid_points({LR: [1e-3, 2e-4]}))
    same = SweepPlan(config, {LR: [1e-3, 2e-4]}, grid_points({LR: [1e-3, 2e-4]}))
    other = SweepPlan(config, {LR: [1e-3]}, grid_points({LR: [1e-3]}))
    assert first.sweep_id == same.sweep_id != other.sweep_id and first.name.startswith("sweep-tiny-")
    write_state(tmp_path / "s", {"sweep_id": first.sweep_id, "name": first.name})
    check_folder_holds(tmp_path / "s", same)
    with pytest.raises(ConfigError, match="holds another sweep"):
        check_folder_holds(tmp_path / "s", other)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_interrupted_sweep_resumes_its_unfinished_point_into_the_same_child_run(tmp_path):
    import os
    import time

    config = write_tiny_config(tmp_path, max_iters=60, val_interval=30, ckpt_interval=2)
    args = ["sweep", str(config), "--grid", f"{LR}=[1e-3]", "--work-dir", str(tmp_path / "s")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "MGX_SWEEP_"))
           and k not in ("MLFLOW_TRACKING_URI", "MGX_WORKSPACE")}
    env["OMP_NUM_THREADS"] = "1"
    process = subprocess.Popen([sys.executable, "-m", "mgx.cli", *args], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 400
    while not (tmp_path / "s" / "point_000" / "iter_4.pth").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()[-3000:]
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal: the sweep and its point
    process.communicate(timeout=120)
    (parent,) = [r for r in _runs(tmp_path) if r.data.tags.get("mgx.sweep") == "parent"]
    (child,) = [r for r in _runs(tmp_path) if r is not parent and r.data.tags.get("mlflow.parentRunId")]
    assert parent.info.status == "KILLED" and child.info.status != "FINISHED"

    again = _mgx(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    runs = _runs(tmp_path)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert [r.info.run_id for r in children] == [child.info.run_id]  # resumed into the same child run
    assert children[0].info.status == "FINISHED" and "mgx.resume_points" in children[0].data.tags
    assert next(r for r in runs if r.info.run_id == parent.info.run_id).info.status == "FINISHED"
    assert (tmp_path / "s" / "point_000" / "iter_60.pth").exists()

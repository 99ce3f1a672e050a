"""`mgx ui` over a workspace, and the MLflow pages rendered by headless Chromium.

Chromium comes from Debian (`.ci/install-chromium.sh`). Without it the browser test
skips, except under CI=true where it fails.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from mgx.core.tracking.server import free_port, stop_server

TRAIN_CONFIG = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
train_dataloader = dict(batch_size=16, drop_last=True,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=[dict(type='PackInputs')]))
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr={lr})),
                     discriminator=dict(optimizer=dict(type='Adam', lr={lr})))
train_cfg = dict(by_epoch=False, max_iters=4, val_interval=2)
val_dataloader = dict(batch_size=32,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='Evaluator', metrics=[dict(type='SWD', prefix='SWD', fake_nums=32, image_shape=(3, 16, 16))])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, save_best='SWD/avg', rule='less'))
randomness = dict(seed=3)
"""


def train_two_runs(workspace: Path) -> list[SimpleNamespace]:
    """Two runs of one config file (``browser.py``, lr differing) made by `mgx run train` with no
    --experiment: they land in the experiment named after the config."""
    from mlflow import MlflowClient

    made = []
    config = workspace / "browser.py"
    for name, lr in (("alpha-run", "1e-3"), ("beta-run", "2e-4")):
        config.write_text(TRAIN_CONFIG.format(lr=lr))
        result = subprocess.run([sys.executable, "-m", "mgx.cli", "run", "train", str(config), "--run-name", name,
                                 "--work-dir", str(workspace / name)],
                                cwd=workspace, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        client = MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
        experiment_id = client.get_experiment_by_name("browser").experiment_id
        (run,) = client.search_runs([experiment_id], filter_string=f"attributes.run_name = '{name}'")
        made.append(SimpleNamespace(run_id=run.info.run_id, experiment_id=experiment_id))
    return made

ARTIFACTS_DIR = Path(os.environ.get("MGX_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,900"]


def start_ui(workspace: Path, port: int, cwd: Path):
    """`mgx ui WORKSPACE --port PORT` as a subprocess started in ``cwd``; returns (process, {heading: URL})."""
    process = subprocess.Popen([sys.executable, "-m", "mgx.cli.main", "ui", str(workspace), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               cwd=cwd)
    deadline = time.monotonic() + 150
    links, heading = {}, None
    while time.monotonic() < deadline:
        line = process.stdout.readline().rstrip("\n")
        if line.startswith("  http://"):  # a link alone on its line, after its heading (so it stays clickable)
            links[heading] = line.strip()
            continue
        assert len(line) <= 80, line  # anything else within 80 columns
        if line.startswith("server log:"):
            return process, links
        heading = line
        if not line and process.poll() is not None:
            break
    stop_server(process)
    raise AssertionError(f"mgx ui printed no URL (exit {process.poll()}): {links}")


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A workspace with two runs of `mgx run train`, served by `mgx ui`: (runs, runs-page URL, port)."""
    root = tmp_path_factory.mktemp("ui")
    workspace = root / "ws"
    workspace.mkdir()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    trackers = train_two_runs(workspace)
    port = free_port()
    elsewhere = root / "elsewhere"  # the folder `mgx ui` is started from: it must stay empty
    elsewhere.mkdir()
    process, links = start_ui(workspace, port, cwd=elsewhere)
    yield SimpleNamespace(runs=trackers, url=links["MLflow UI (Ctrl-C stops it):"], links=links, port=port,
                          workspace=workspace, cwd=elsewhere)
    process.send_signal(signal.SIGINT)  # Ctrl-C: `mgx ui` stops its server, then exits
    try:
        process.wait(60)
    finally:
        stop_server(process)
    assert _server_down(port), f"mgx ui left its mlflow server on port {port}"


def _server_down(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    except OSError:
        return True
    return False


@pytest.mark.timeout(400)
def test_mgx_ui_prints_runs_page_and_serves_the_workspace(ui):
    (alpha, _beta), url, port = ui.runs, ui.url, ui.port
    assert url == (f"http://127.0.0.1:{port}/#/experiments/{alpha.experiment_id}/runs?workflowType=machine_learning"
                   "&viewStateShareKey=mgx-runs")
    assert b"<html" in urllib.request.urlopen(url.split("#")[0], timeout=10).read().lower()
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/get?run_id={alpha.run_id}"
    assert b"alpha-run" in urllib.request.urlopen(api, timeout=10).read()
    # the server's log is in the workspace; the folder `mgx ui` ran from is left alone
    assert (ui.workspace / "mlflow-ui.log").stat().st_size > 0
    assert list(ui.cwd.iterdir()) == []


def _experiment_tags(port: int, experiment_id: str) -> dict[str, str]:
    api = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get?experiment_id={experiment_id}"
    experiment = json.loads(urllib.request.urlopen(api, timeout=10).read())["experiment"]
    return {tag["key"]: tag["value"] for tag in experiment.get("tags", [])}


def test_experiment_is_marked_for_the_model_training_view(ui):
    """MLflow 3 chooses the experiment page by the tag mlflow.experimentKind (GenAI view otherwise)."""
    (alpha, _beta), port = ui.runs, ui.port
    assert _experiment_tags(port, alpha.experiment_id)["mlflow.experimentKind"] == "custom_model_development"


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required under CI=true: run .ci/install-chromium.sh")
        pytest.skip("chromium not installed (run .ci/install-chromium.sh)")
    return found


def _render(chromium: str, url: str, screenshot: Path) -> str:
    """The DOM of ``url`` after the page's scripts ran; a screenshot from the same load."""
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mgx-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--run-all-compositor-stages-before-draw",
                   "--virtual-time-budget=20000", f"--screenshot={screenshot}", "--dump-dom", url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return result.stdout


def test_runs_page_layout_is_stored_on_the_experiment(ui):
    """The view `mgx ui` links: SWD and the lr params as columns, sorted by SWD, lower first."""
    (alpha, _beta), port = ui.runs, ui.port
    state = json.loads(_experiment_tags(port, alpha.experiment_id)["mlflow.sharedViewState.mgx-runs"])
    assert state["orderByKey"] == "metrics.`SWD/avg`" and state["orderByAsc"] is True, state
    assert state["selectedColumns"][0] == "metrics.`SWD/avg`"
    assert "params.`optim_wrapper.generator.optimizer.lr`" in state["selectedColumns"]
    assert not any(column.startswith("metrics.`train/") for column in state["selectedColumns"])


@pytest.mark.timeout(400)
def test_browser_renders_runs_run_and_compare_pages(ui):
    """Each page `mgx ui` links, rendered by Chromium; screenshots under test-artifacts/tracking/."""
    chromium = _chromium()
    (alpha, beta), links = ui.runs, ui.links
    shots = ARTIFACTS_DIR / "tracking"
    runs_dom = _render(chromium, links["MLflow UI (Ctrl-C stops it):"], shots / "runs_page.png")
    run_dom = _render(chromium, links["newest run:"], shots / "run_page.png")
    compare_dom = _render(chromium, links["the 2 newest runs compared:"], shots / "compare_page.png")
    for dom in (runs_dom, run_dom, compare_dom):
        # the model-training view: no GenAI entries (prompts, judges, evaluation runs) in the side bar
        assert "Model training" in dom and "Evaluation runs" not in dom and "Prompts" not in dom, dom[-3000:]
        assert "browser" in dom  # the experiment named after the config
    assert "alpha-run" in runs_dom and "beta-run" in runs_dom, runs_dom[-2000:]
    # the metric and the differing params are columns of the runs table, sorted by the metric
    assert "SWD/avg" in runs_dom and "optim_wrapper.generator.optimizer.lr" in runs_dom, runs_dom[-3000:]
    assert "Sort: SWD/avg" in runs_dom, runs_dom[-3000:]
    assert beta.run_id in run_dom or "beta-run" in run_dom
    assert "alpha-run" in compare_dom and "beta-run" in compare_dom, compare_dom[-2000:]
    for name in ("runs_page.png", "run_page.png", "compare_page.png"):
        assert (shots / name).stat().st_size > 10_000
        print(f"screenshot: {shots / name}")

"""Trained models in MLflow's registry: a tiny DCGAN trained with tracking.register_model is
loaded in fresh processes (mlflow.pytorch, mlflow.pyfunc), served by `mlflow models serve`, and
evaluated by `mgx run test --model`; bad registry names and model URIs exit 2."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from mgx.core.tracking.generator_pyfunc import latent, parse_request
from mgx.core.tracking.server import free_port

from mlflow_runs import every_run
from run_record_helpers import load_state, mgx_env, run_mgx, write_tiny_config

LOAD_SCRIPT = """
import json, sys
import mlflow.pyfunc, mlflow.pytorch, torch
network = mlflow.pytorch.load_model(sys.argv[1])
torch.save(network.state_dict(), sys.argv[2])
images = mlflow.pyfunc.load_model(sys.argv[1]).predict({"seeds": [3, 5], "truncation": 0.8})
print(json.dumps({"class": type(network).__name__, "shape": list(images.shape), "dtype": str(images.dtype),
                  "images": images.tolist()}))
"""


def _expected_images(state: dict, seeds: list[int], truncation: float | None):
    """Images by the definition: the network's sample() of the seeds' latents, [-1, 1] -> uint8."""
    from mgx.plugins.models.dcgan import DCGAN

    network = DCGAN(latent_dim=8, image_size=16, channels=3, base_channels=8)
    network.load_state_dict(state)
    noise = torch.stack([latent(seed, 8, truncation) for seed in seeds])
    with torch.no_grad():
        images = network.eval().sample(noise=noise).double()
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)


def _uvicorn_shim(folder: Path) -> Path:
    """`mlflow models serve` execs `uvicorn`; make it this interpreter's (the one mgx is installed in)."""
    folder.mkdir(exist_ok=True)
    shim = folder / "uvicorn"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m uvicorn "$@"\n')
    shim.chmod(0o755)
    return folder


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_registered_dcgan_loads_serves_and_evaluates(tmp_path):
    config = write_tiny_config(tmp_path, max_iters=4, val_interval=2, ckpt_interval=100)
    trained = run_mgx("run", "train", str(config), "--work-dir", "wd", "--cfg-options",
                      "tracking.register_model=tiny-gan", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "registered as models:/tiny-gan/1" in trained.stderr
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    (run,) = every_run(client)
    best = next((tmp_path / "wd").glob("best_*.pth"))
    best_state = load_state(best)
    best_step = best_state["meta"]["iteration"]

    # the registered version is a logged model linked to the run and its metrics at the best step
    version = client.get_model_version("tiny-gan", "1")
    assert version.run_id == run.info.run_id
    model_id = version.source.rsplit("/", 1)[-1]
    logged = client.get_logged_model(model_id)
    assert logged.source_run_id == run.info.run_id
    assert logged.tags["mgx.weights"] == "ema"  # SWD samples the EMA model by default
    assert {(m.key, m.step) for m in logged.metrics} >= {("SWD/avg", best_step)}
    assert [(o.model_id, o.step) for o in run.outputs.model_outputs] == [(model_id, best_step)]

    # a fresh process without the config: the network, and images from the pyfunc flavor
    weights_file = tmp_path / "loaded.pt"
    env = mgx_env(MLFLOW_TRACKING_URI=uri)
    loaded = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, "models:/tiny-gan/1", str(weights_file)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert loaded.returncode == 0, loaded.stderr
    answer = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert answer["class"] == "DCGAN" and answer["shape"] == [2, 16, 16, 3] and answer["dtype"] == "uint8"
    state = torch.load(weights_file, weights_only=True)
    for key, value in best_state["ema"].items():
        assert torch.equal(state[key], value), key
    expected = _expected_images(best_state["ema"], [3, 5], 0.8)
    assert torch.equal(torch.tensor(answer["images"], dtype=torch.uint8), expected)

    # `mgx run test --model`: the registered network evaluated with the recorded config
    tested = run_mgx("run", "test", "--model", "models:/tiny-gan/1", "--work-dir", "eval", cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    results = json.loads((tmp_path / "eval/test_results.json").read_text())
    assert results["metrics"]["SWD/avg"] == pytest.approx(best_state["meta"]["best_score"], rel=1e-6)
    test_run = next(r for r in every_run(client) if r.data.tags.get("mgx.mode") == "test")
    assert test_run.data.tags["mgx.model_uri"] == "models:/tiny-gan/1"
    assert test_run.data.tags["mgx.train_run_id"] == run.info.run_id

    # `mlflow models serve --env-manager local` answers with images
    port = free_port()
    serve_env = dict(env, PATH=f"{_uvicorn_shim(tmp_path / 'bin')}{os.pathsep}{env['PATH']}")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/tiny-gan/1",
                               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=tmp_path, env=serve_env, stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / "serve.log", "w"), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "model server did not answer /ping"
                time.sleep(0.5)
        served = _post(f"http://127.0.0.1:{port}/invocations", {"inputs": {"seeds": [3, 5], "truncation": 0.8}})
        assert torch.equal(torch.tensor(served["predictions"], dtype=torch.uint8), expected)
        counted = _post(f"http://127.0.0.1:{port}/invocations", {"dataframe_records": [{"count": 3}]})
        assert torch.tensor(counted["predictions"]).shape == (3, 16, 16, 3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


@pytest.mark.timeout(300)
def test_invalid_registry_name_and_unknown_model_exit_2(tmp_path):
    config = write_tiny_config(tmp_path, max_iters=2, val_interval=2, ckpt_interval=100)
    bad = run_mgx("run", "train", str(config), "--work-dir", "wd", "--cfg-options",
                  "tracking.register_model=team/gan", cwd=tmp_path)
    assert bad.returncode == 2, bad.stderr
    assert "tracking.register_model='team/gan' is not a valid MLflow model name" in bad.stderr
    assert "Traceback" not in bad.stderr and not list((tmp_path / "wd").glob("*.pth"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    from mgx.core.tracking.store import ensure_sqlite_store

    ensure_sqlite_store(tmp_path / "mlflow.db")
    client = MlflowClient(uri)
    # no run was opened, so none is left RUNNING
    assert every_run(client) == []
    unknown = run_mgx("run", "test", str(config), "--model", "models:/absent/1", "--tracking-uri", uri,
                      cwd=tmp_path)
    assert unknown.returncode == 2 and "--model models:/absent/1: not found" in unknown.stderr


def test_predict_requests_and_truncated_latents():
    assert parse_request({"seeds": [4, 9]}, {}) == ([4, 9], None)
    seeds, truncation = parse_request(3, {"truncation": 0.5})
    assert len(seeds) == 3 and truncation == 0.5
    with pytest.raises(ValueError, match="count=2 but 3 seeds"):
        parse_request({"count": 2, "seeds": [1, 2, 3]}, {})
    with pytest.raises(ValueError, match="between 1 and"):
        parse_request(0, {})
    z = latent(11, 4096, 0.5)
    assert float(z.abs().max()) <= 0.5 and torch.equal(z, latent(11, 4096, 0.5))
    assert torch.equal(latent(11, 16, None), torch.randn(16, generator=torch.Generator().manual_seed(11)))


@pytest.mark.timeout(300)
def test_a_network_without_sample_is_logged_registered_and_loads(tmp_path, monkeypatch):
    """A restoration model (no sample()) goes through mlflow.pytorch.log_model: MLflow 3's default
    'pt2' format needs an input example and refused it; the registered version loads as the network."""
    import mgx.core.registry as registry_module
    from mgx.core.plugins import PluginManager

    model_cfg = dict(type="BaseEditModel", generator=dict(type="SRCNNNet", channels=(3, 4, 2, 3), upscale_factor=2),
                     pixel_loss=dict(type="L1Loss"))
    monkeypatch.chdir(tmp_path)  # a SQLite store's artifacts go to ./mlruns
    saved_registry = registry_module._activate_callback, registry_module._active
    PluginManager(["mgx.plugins.models"]).activate()
    try:
        network = registry_module.build(dict(model_cfg), "model")
        _log_register_and_load(tmp_path, model_cfg, network)
    finally:
        registry_module._activate_callback, registry_module._active = saved_registry


def _log_register_and_load(tmp_path, model_cfg, network):
    import mlflow
    import mlflow.pytorch

    from mgx.core.tracking.model_registry import _process_store, log_trained_model

    checkpoint = tmp_path / "iter_3.pth"
    torch.save({"model": network.state_dict(), "meta": {"iteration": 3}}, checkpoint)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("sr")).info.run_id

    env_before = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    uris_before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    logged = log_trained_model(uri, run_id, model_cfg, checkpoint, use_ema=False, register_as="sr-tiny")
    # the process-wide store is back as it was, exported variables included: a later subprocess
    # (CI: the next test's model loader) read its registry from this store otherwise
    assert {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")} == env_before
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == uris_before

    assert logged.registered_version == "1" and logged.weights == "model"
    with _process_store(uri):  # tracking and registry URI for the block only
        loaded = mlflow.pytorch.load_model("models:/sr-tiny/1")
    assert type(loaded).__name__ == "BaseEditModel"
    for name, tensor in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name

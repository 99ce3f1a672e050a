"""`mgx run ... --launcher dist` end to end: torchrun on CPU, two "nodes" on one
machine, a failing rank, and `mgx run test` giving the same metrics as local."""
import json
import subprocess
import time

import pytest

from mgx.core.distributed.launch import free_port

from launcher_helpers import REPO, metric_line_of, mgx, mgx_env, run_mgx, runs_in

pytestmark = pytest.mark.slow


@pytest.mark.timeout(320)
def test_dist_two_cpu_processes_train(dist_trained):
    work, result, checkpoint = dist_trained
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starting 2 CPU process(es)" in result.stderr
    assert "2 process(es) on cpu" in result.stderr
    assert "broadcast_buffers" not in result.stderr  # DDP built with the supported API: no FutureWarning per rank
    assert checkpoint.exists()
    runs = runs_in(work)
    assert len(runs) == 1, "rank 0 alone records the job: exactly one MLflow run"
    (run,) = runs
    assert run.info.status == "FINISHED" and run.info.run_name == "dist-run"
    assert run.data.tags["mgx.launcher"] == "dist" and run.data.tags["mgx.world_size"] == "2"


@pytest.mark.timeout(400)
def test_ddp_with_the_same_global_batch_ends_equal_to_one_process(tmp_path):
    """2 processes × batch 8 step like 1 process × batch 16 (rank-strided shards of the same order)."""
    import torch

    from mgx.core.engine.checkpoint import weights_of

    config = REPO / "configs" / "srcnn_digits.py"
    common = ["--no-track", "--deterministic", "--seed", "5", "--cfg-options", "train_cfg.max_iters=8",
              "train_cfg.val_interval=1000", "default_hooks.checkpoint.interval=8", "param_scheduler=None"]
    one = run_mgx(["run", "train", str(config), "--work-dir", str(tmp_path / "one"), *common,
                   "train_dataloader.batch_size=16"], cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_mgx(["run", "train", str(config), "--work-dir", str(tmp_path / "two"), "--launcher", "dist",
                   "--gpus", "2", *common, "train_dataloader.batch_size=8"], cwd=tmp_path)
    assert two.returncode == 0, two.stderr[-3000:]
    single = weights_of(torch.load(tmp_path / "one" / "iter_8.pth", weights_only=True))
    ddp = weights_of(torch.load(tmp_path / "two" / "iter_8.pth", weights_only=True))
    assert single.keys() == ddp.keys()
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], rtol=1e-4, atol=1e-6, msg=key)


@pytest.mark.timeout(320)
def test_two_nodes_on_one_machine_rendezvous(tiny_config, tmp_path):
    """Node 0 configured by flags, node 1 by the seed's variables (NNODES, NODE_RANK, PORT, MASTER_ADDR)."""
    port = free_port()
    common = ["run", "train", str(tiny_config), "--launcher", "dist", "--gpus", "1", "--work-dir",
              str(tmp_path / "work"), "--no-track", "--cfg-options", "train_cfg.max_iters=4"]
    node0 = subprocess.Popen(mgx(*common, "--nnodes", "2", "--node-rank", "0", "--master-addr", "127.0.0.1",
                                 "--master-port", str(port)),
                             cwd=tmp_path, env=mgx_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)  # node 0 owns the port check; then node 1 joins
    node1 = subprocess.Popen(mgx(*common), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=mgx_env(NNODES="2", NODE_RANK="1", PORT=str(port), MASTER_ADDR="127.0.0.1"))
    out0, err0 = node0.communicate(timeout=280)
    out1, err1 = node1.communicate(timeout=60)
    assert node0.returncode == 0, err0[-3000:]
    assert node1.returncode == 0, err1[-3000:]
    assert "2 process(es)" in err0  # rank 0 reports world size 2
    assert (tmp_path / "work" / "iter_4.pth").exists()


FAILING_CONFIG = """
import os
_base_ = ['tiny.py']
if os.environ.get('RANK') == '1':
    raise RuntimeError('rank 1 cannot read its config (on purpose)')
"""


@pytest.mark.timeout(200)
def test_failing_rank_fails_the_job_with_its_error(tiny_config, tmp_path):
    failing = tiny_config.parent / "failing_rank.py"
    failing.write_text(FAILING_CONFIG)
    started = time.monotonic()
    # OMP_NUM_THREADS unset, as a user's shell has it: torchrun's six-line banner about it becomes
    # one short line of mgx's
    env = {key: value for key, value in mgx_env().items() if key != "OMP_NUM_THREADS"}
    result = subprocess.run(mgx("run", "train", str(failing), "--launcher", "dist", "--gpus", "2", "--work-dir",
                                str(tmp_path), "--no-track"), cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=180)
    elapsed = time.monotonic() - started
    assert "*****" not in result.stderr and "Setting OMP_NUM_THREADS" not in result.stderr, result.stderr
    assert "mgx: OMP_NUM_THREADS=1 in each process" in result.stderr
    assert all(len(line) <= 80 for line in result.stderr.splitlines() if line.startswith("mgx: ")), result.stderr
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "rank 1 cannot read its config (on purpose)" in output
    assert "Root Cause" in output and "rank      : 1" in output
    assert elapsed < 150, f"the job took {elapsed:.0f} s to fail"


@pytest.mark.timeout(320)
def test_dist_test_prints_the_same_metrics_as_local(dist_trained, local_test_result, tiny_config, tmp_path):
    _, _, checkpoint = dist_trained
    local_line, local_values = local_test_result
    dist = run_mgx(["run", "test", str(tiny_config), str(checkpoint), "--work-dir", str(tmp_path), "--no-track",
                    "--launcher", "dist", "--gpus", "2"], cwd=tmp_path)
    assert dist.returncode == 0, dist.stderr[-3000:]
    assert metric_line_of(dist.stdout + dist.stderr) == local_line
    dist_values = json.loads((tmp_path / "test_results.json").read_text())["metrics"]
    assert local_values and dist_values == pytest.approx(local_values, rel=1e-6)

"""Option parsing/validation of the launchers (no processes started)."""
import socket
from pathlib import Path

import pytest

from mgx.core.errors import ConfigError
from mgx.core.distributed.launch import (LaunchRequest, check_options, option_or_env, rank_env_from_slurm,
                             rejected_options, worker_command)
from mgx.plugins.launchers.dist import DistLauncher, plan
from mgx.plugins.launchers.local import LocalLauncher
from mgx.plugins.launchers.slurm import SlurmLauncher


def test_worker_command_runs_local_launcher():
    request = LaunchRequest("train", ["cfg.py", "--work-dir", "w"], Path("w"), {}, lambda: 0)
    command = worker_command(request)
    assert command[1:5] == ["-m", "mgx.cli", "run", "train"]
    assert command[-4:] == ["--work-dir", "w", "--launcher", "local"]


def test_local_launcher_runs_here():
    calls = []
    request = LaunchRequest("train", [], Path("."), {}, lambda: calls.append(1) or 7)
    assert LocalLauncher().launch(request) == 7 and calls == [1]


@pytest.mark.parametrize("launcher, options, rejected", [
    (DistLauncher(), {"partition": "dev", "gpus": 2, "wait": False}, ["--partition"]),
    (SlurmLauncher(), {"nnodes": 2, "node_rank": 1, "partition": "dev"}, ["--nnodes", "--node-rank"]),
    (LocalLauncher(), {"gpus": 2, "master_port": None}, ["--gpus"]),
])
def test_foreign_flags_are_named(launcher, options, rejected):
    assert rejected_options(launcher, options) == rejected
    with pytest.raises(ConfigError) as info:
        check_options(launcher, options)
    for flag in rejected:
        assert flag in str(info.value)
    assert launcher.name in str(info.value)


def test_flags_win_over_seed_variables():
    env = {"GPUS": "4", "NNODES": "2", "NODE_RANK": "1", "PORT": "29777", "MASTER_ADDR": "localhost"}
    resolved = plan({"gpus": 2}, environ=env)
    assert (resolved.nproc_per_node, resolved.nnodes, resolved.node_rank) == (2, 2, 1)
    assert (resolved.master_addr, resolved.master_port) == ("localhost", 29777)
    args = resolved.torchrun_args(["python", "x.py"])
    assert args[args.index("--node-rank") + 1] == "1"
    assert args[args.index("--master-port") + 1] == "29777"
    assert args[-3:] == ["--no-python", "python", "x.py"]


def test_single_node_without_port_lets_torchrun_pick():
    resolved = plan({"gpus": 2}, environ={})
    assert resolved.master_port is None and "--master-port" not in resolved.torchrun_args(["x"])


def test_multi_node_defaults_to_mmagic_port():
    assert plan({"nnodes": 2, "node_rank": 1}, environ={}).master_port == 29500


@pytest.mark.parametrize("options, env, message", [
    ({"gpus": "two"}, {}, "--gpus (GPUS) must be an integer"),
    ({"gpus": 0}, {}, "at least 1"),
    ({"nnodes": 2, "node_rank": 2}, {}, "--node-rank 2 is out of range"),
    ({}, {"NNODES": "x"}, "NNODES"),
    ({"master_port": 70000}, {}, "at most 65535"),
])
def test_bad_values_are_config_errors(options, env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan(options, environ=env)


def test_unresolvable_master_addr():
    with pytest.raises(ConfigError, match="does not resolve"):
        plan({"nnodes": 2, "node_rank": 1, "master_addr": "no-such-host.invalid"}, environ={})


def test_master_port_in_use_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"master port {port} is already in use"):
            plan({"gpus": 1, "master_port": port}, environ={})
        with pytest.raises(ConfigError, match="already in use"):
            plan({}, environ={"PORT": str(port), "NNODES": "2", "MASTER_ADDR": "127.0.0.1"})


def test_more_gpus_than_present():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        # Without CUDA the same request means N CPU processes (documented behaviour).
        assert plan({"gpus": 64}, environ={}).use_cuda is False
        return
    with pytest.raises(ConfigError, match="more GPUs than this node has"):
        plan({"gpus": torch.cuda.device_count() + 1}, environ={})


def test_option_or_env_ignores_empty_variables():
    assert option_or_env({"gpus": None}, "gpus", "GPUS", 8, {"GPUS": ""}) == 8
    assert option_or_env({"gpus": None}, "gpus", "GPUS", 8, {"GPUS": "3"}) == "3"


def test_rank_env_from_slurm():
    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
           "SLURM_STEP_TASKS_PER_NODE": "4(x2)"}
    assert rank_env_from_slurm(env) == {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1",
                                        "NODE_RANK": "1", "LOCAL_WORLD_SIZE": "4"}
    assert rank_env_from_slurm({**env, "RANK": "0"}).get("RANK") is None  # explicit wins
    assert rank_env_from_slurm({"SLURM_STEP_TASKS_PER_NODE": "3,2", "SLURM_NODEID": "1"}) == {
        "NODE_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert rank_env_from_slurm({}) == {}

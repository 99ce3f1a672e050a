"""``mgx run train`` and ``mgx run test``: parse, hand the job to a launcher, which runs
the engine here (local) or starts workers that run this same command (dist, slurm)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import click

from mgx.core.errors import ConfigError, MgxError

from .config_command import split_options
from .context import plugin_manager
from .run_record_options import MODEL_FLAGS, RECORD_FLAGS, prepare_recorded_start, prepare_registered_model, run_tags_of

LAUNCHER_FLAGS = [
    click.option("--launcher", default="local", show_default=True,
                 help="How to start the workers: local, dist (torchrun), slurm, or a plugin's launcher."),
    click.option("--gpus", type=int, default=None, help="Processes (GPUs) in all (dist: per node)."),
    click.option("--nnodes", type=int, default=None, help="dist: number of nodes (or env NNODES)."),
    click.option("--node-rank", type=int, default=None, help="dist: this node's rank (or env NODE_RANK)."),
    click.option("--master-addr", default=None, help="dist: rank-0 node's address (or env MASTER_ADDR)."),
    click.option("--master-port", type=int, default=None, help="dist: rendezvous port (or env PORT)."),
    click.option("--partition", default=None, help="slurm: partition."),
    click.option("--job-name", default=None, help="slurm: job name."),
    click.option("--gpus-per-node", type=int, default=None, help="slurm: GPUs per node (or env GPUS_PER_NODE)."),
    click.option("--cpus-per-task", type=int, default=None, help="slurm: CPUs per task (or env CPUS_PER_TASK)."),
    click.option("--srun-args", default=None, help="slurm: extra srun arguments (or env SRUN_ARGS)."),
    click.option("--time", "time_limit", default=None, help="slurm: time limit, e.g. 1-00:00:00."),
    click.option("--wait", is_flag=True, default=False, help="slurm: follow the job's log and return its exit code."),
]
LAUNCHER_OPTION_NAMES = ("gpus", "nnodes", "node_rank", "master_addr", "master_port", "partition", "job_name",
                         "gpus_per_node", "cpus_per_task", "srun_args", "time_limit", "wait")

COMMON_FLAGS = [
    click.option("--work-dir", type=click.Path(file_okay=False), default=None,
                 help="Where logs, the resolved config and checkpoints go (default: config's work_dir, "
                      "else work_dirs/<config name>)."),
    click.option("--cfg-options", "cfg_options", multiple=True, metavar="KEY=VALUE",
                 help="Override config keys: --cfg-options train_cfg.max_iters=100 model.latent_dim=64"),
    click.option("--amp", is_flag=True, help="Mixed precision: float16 + GradScaler on CUDA, bfloat16 on CPU."),
    click.option("--seed", type=int, default=None, help="Random seed (overrides randomness.seed)."),
    click.option("--deterministic", is_flag=True, help="Deterministic algorithms (bit-exact reruns on CPU)."),
    click.option("--tracking-uri", default=None, help="MLflow store or server (default: the workspace's SQLite store)."),
    click.option("--experiment", default=None, help="MLflow experiment name."),
    click.option("--run-name", default=None, help="MLflow run name."),
    click.option("--no-track", is_flag=True, help="Do not record this run in MLflow."),
]


def _apply(options: list) -> Callable:
    def decorator(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function
    return decorator


@click.group("run")
def run() -> None:
    """Train or test a config (one process, torchrun, or Slurm)."""


def _worker_args(params: dict, positional: list[str]) -> list[str]:
    """The same job as arguments for each worker process (launcher flags removed)."""
    args = list(positional)
    for name in ("work_dir", "seed", "tracking_uri", "experiment", "run_name", "out"):
        if params.get(name) is not None:
            args += [f"--{name.replace('_', '-')}", str(params[name])]
    for name in ("amp", "deterministic", "no_track"):
        if params.get(name):
            args.append(f"--{name.replace('_', '-')}")
    if params.get("resume") is not None:
        args += ["--resume"] if params["resume"] == "auto" else ["--resume", str(params["resume"])]
    if params.get("metric_types"):
        args += ["--metrics", str(params["metric_types"])]
    for item in split_options(params.get("cfg_options") or ()):
        args += ["--cfg-options", item]
    for item in params.get("run_tags") or ():
        args += ["--run-tag", item]
    return args


def _launch(command: str, params: dict, positional: list[str], run_here: Callable[[], int]) -> None:
    from mgx.core.distributed.launch import LaunchRequest, check_options
    from mgx.core.registry import build

    if not params.get("no_track"):  # a store MLflow cannot open fails now, not after the set-up
        from mgx.core.tracking.settings import TrackingSettings

        TrackingSettings(tracking_uri=params.get("tracking_uri")).resolve_uri()
    plugin_manager()  # activates the registry build() uses
    launcher = build({"type": params["launcher"]}, "launcher")
    options = {("time" if key == "time_limit" else key): params.get(key) for key in LAUNCHER_OPTION_NAMES}
    options["wait"] = options["wait"] or None
    check_options(launcher, options)
    work_dir = Path(params["work_dir"]) if params.get("work_dir") else None
    if work_dir is None:
        from mgx.core.config import load_config
        from mgx.core.run.runner import resolve_work_dir, RunOptions

        cfg = load_config(positional[0], split_options(params.get("cfg_options") or ()))
        work_dir = resolve_work_dir(cfg, RunOptions(config_path=Path(positional[0])))
    request = LaunchRequest(command=command, worker_args=_worker_args(params, positional), work_dir=work_dir,
                            options=options, run_here=run_here)
    if params["launcher"] != "local":
        os.environ["MGX_LAUNCHER"] = params["launcher"]  # workers run `--launcher local`; tags name the real one
    code = launcher.launch(request)
    if code:
        raise SystemExit(code)


def _run_options(params: dict, config: str) -> Any:
    from mgx.core.run.runner import RunOptions

    return RunOptions(
        config_path=Path(config),
        work_dir=Path(params["work_dir"]) if params.get("work_dir") else None,
        amp=params.get("amp", False),
        resume=params.get("resume"),
        seed=params.get("seed"),
        deterministic=params.get("deterministic", False),
        launcher=os.environ.get("MGX_LAUNCHER", params.get("launcher", "local")),
        tracking={"tracking_uri": params.get("tracking_uri"), "experiment": params.get("experiment"),
                  "run_name": params.get("run_name"), "enabled": False if params.get("no_track") else None},
        out=Path(params["out"]) if params.get("out") else None,
        run_tags=run_tags_of(params),
    )


# Exit codes by how a run ended: a stop signal outside Slurm exits like SIGTERM would (128 + 15).
EXIT_CODES = {"FINISHED": 0, "PREEMPTED": 0, "KILLED": 143}


def _in_worker(job: Callable[[], Any]) -> int:
    """Run the engine; under torchrun record the error so the launcher's summary names this rank."""
    try:
        result = job()
    except MgxError:
        raise
    except BaseException as exc:
        from mgx.core.distributed.launch import record_worker_error

        record_worker_error(exc)
        raise
    return EXIT_CODES.get(getattr(result, "status", "FINISHED"), 1)


@run.command("train")
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@_apply(COMMON_FLAGS)
@click.option("--resume", is_flag=False, flag_value="auto", default=None, metavar="[PATH]",
              help="Resume: the newest complete checkpoint in work_dir, or the given one.")
@_apply(RECORD_FLAGS)
@_apply(LAUNCHER_FLAGS)
def train_command(config: str | None, **params: Any) -> None:
    """Train from a Python CONFIG file (or from a recorded run: --from-run / --resume-run)."""
    from mgx.core.config import load_config

    cfg_items = split_options(params.get("cfg_options") or ())
    if params.get("from_run") or params.get("resume_run"):
        config = prepare_recorded_start(config, params, cfg_items)
    elif config is None:
        raise click.UsageError("missing CONFIG (or give --from-run RUN / --resume-run RUN)")
    elif params.get("strict"):
        raise click.UsageError("--strict applies to --from-run only")

    def run_here() -> int:
        from mgx.core.distributed import preemption
        from mgx.core.run.runner import train

        preemption.install_handlers()  # first: a USR1 during set-up must not kill the worker
        cfg = load_config(config, cfg_items)
        return _in_worker(lambda: train(cfg, _run_options(params, config), plugin_manager()))

    _launch("train", params, [config], run_here)


@run.command("test")
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@click.argument("checkpoint", type=click.Path(dir_okay=False), required=False)
@_apply(COMMON_FLAGS)
@_apply(MODEL_FLAGS)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the metrics as JSON here (default: <work_dir>/test_results.json).")
@click.option("--metrics", "metric_types", default=None,
              help="Evaluate only these metric types (comma-separated names or aliases, e.g. FID,IS).")
@_apply(LAUNCHER_FLAGS)
def test_command(config: str | None, checkpoint: str | None, **params: Any) -> None:
    """Evaluate CHECKPOINT (or --model URI) with the test (or val) evaluator of CONFIG."""
    from mgx.core.config import load_config

    cfg_items = split_options(params.get("cfg_options") or ())
    if params.get("model_uri"):
        config, checkpoint = prepare_registered_model(config, checkpoint, params, cfg_items)
    elif config is None or checkpoint is None:
        raise click.UsageError("give CONFIG and CHECKPOINT (or --model models:/NAME/VERSION)")
    chosen = [name.strip() for name in (params.get("metric_types") or "").split(",") if name.strip()]

    def run_here() -> int:
        from mgx.core.run.runner import test

        cfg = load_config(config, cfg_items)
        if chosen:
            _keep_metrics(cfg, chosen)
        return _in_worker(lambda: test(cfg, Path(checkpoint), _run_options(params, config), plugin_manager()))

    _launch("test", params, [config, checkpoint], run_here)


def _keep_metrics(cfg: Any, chosen: list[str]) -> None:
    """``--metrics FID,IS``: keep only those metrics (by type name or alias) in the test evaluators."""
    from mgx.core.config.evaluators import as_evaluator_dicts
    from mgx.core.registry import get_registry

    registry = get_registry()
    wanted = {registry.get("metric", name) for name in chosen}
    key = "test_evaluator" if cfg.get("test_evaluator") else "val_evaluator"
    if not cfg.get(key):
        raise ConfigError(f"--metrics given but the config has no {key}")
    # (MMagic's list-of-metrics form becomes dict(type='Evaluator', metrics=[...]) first)
    evaluators = as_evaluator_dicts(cfg.get(key), key)
    for evaluator in evaluators:
        evaluator["metrics"] = [m for m in evaluator["metrics"] if registry.get("metric", m["type"]) in wanted]
    cfg[key] = evaluators
    kept = sum(len(evaluator["metrics"]) for evaluator in evaluators)
    if kept == 0:
        raise ConfigError(f"--metrics {','.join(chosen)} matches no metric in {key}")


COMMANDS = [run]

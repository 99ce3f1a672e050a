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
from .run_flags import TEST_FLAGS, TRAIN_FLAGS, RunFlag, apply_flags, launch_options, run_options, worker_args
from .run_record_options import prepare_recorded_start, prepare_registered_model


@click.group("run")
def run() -> None:
    """Train or test a config (one process, torchrun, or Slurm)."""


def _launch(command: str, flags: list[RunFlag], params: dict, positional: list[str],
            run_here: Callable[[], int]) -> None:
    from mgx.core.distributed.launch import LaunchRequest, check_options
    from mgx.core.registry import build
    from mgx.core.run.settings import check_tracking_uri, resolve_work_dir

    options = run_options(flags, params, positional[0])
    check_tracking_uri(None, options)  # a store MLflow cannot open fails now, not after the set-up
    plugin_manager()  # activates the registry build() uses
    launcher = build({"type": params["launcher"]}, "launcher")
    launcher_options = launch_options(flags, params)
    check_options(launcher, launcher_options)

    def load() -> Any:
        from mgx.core.config import load_config

        return load_config(positional[0], split_options(params.get("cfg_options") or ()))

    request = LaunchRequest(command=command, worker_args=worker_args(flags, params, positional),
                            work_dir=resolve_work_dir(load, options), options=launcher_options, run_here=run_here)
    if params["launcher"] != "local":
        if command == "train":  # refuse before torchrun starts or a Slurm job is queued
            from mgx.core.run.workdir_lock import check_free

            check_free(request.work_dir)
        os.environ["MGX_LAUNCHER"] = params["launcher"]  # workers run `--launcher local`; tags name the real one
    code = launcher.launch(request)
    if code:
        raise SystemExit(code)


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
@apply_flags(TRAIN_FLAGS)
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
        return _in_worker(lambda: train(cfg, run_options(TRAIN_FLAGS, params, config), plugin_manager()))

    _launch("train", TRAIN_FLAGS, params, [config], run_here)


@run.command("test")
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@click.argument("checkpoint", type=click.Path(dir_okay=False), required=False)
@apply_flags(TEST_FLAGS)
def test_command(config: str | None, checkpoint: str | None, **params: Any) -> None:
    """Evaluate CHECKPOINT (or --model URI) with the test (or val) evaluator of CONFIG.

    Without CHECKPOINT, a model whose weights all come from its config (a pretrained diffusion
    pipeline) is evaluated as the config builds it."""
    from mgx.core.config import load_config

    cfg_items = split_options(params.get("cfg_options") or ())
    if params.get("model_uri"):
        config, checkpoint = prepare_registered_model(config, checkpoint, params, cfg_items)
    elif config is None:
        raise click.UsageError("give CONFIG and CHECKPOINT (or --model models:/NAME/VERSION)")
    elif params.get("work_dir") is None and Path(checkpoint).is_file():  # a missing one: the engine's message
        from mgx.core.run.settings import test_work_dir

        params["work_dir"] = str(test_work_dir(checkpoint))  # workers get it as --work-dir too
    chosen = [name.strip() for name in (params.get("metric_types") or "").split(",") if name.strip()]

    def run_here() -> int:
        from mgx.core.run.runner import test

        cfg = load_config(config, cfg_items)
        if chosen:
            _keep_metrics(cfg, chosen)
        options = run_options(TEST_FLAGS, params, config)
        return _in_worker(lambda: test(cfg, Path(checkpoint) if checkpoint else None, options, plugin_manager()))

    _launch("test", TEST_FLAGS, params, [config, checkpoint] if checkpoint else [config], run_here)


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

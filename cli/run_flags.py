"""The flags of ``mgx run train`` and ``mgx run test``, each declared once.

A :class:`RunFlag` is the flag's click option and the ways its value travels:
to each worker process as command-line arguments (``forward``), to the launcher as
a ``LaunchRequest.options`` key (``launcher_key``), and into the engine's
:class:`~mgx.core.run.settings.RunOptions` (``into``). The click decorators,
:func:`worker_args`, :func:`launch_options` and :func:`run_options` are all made
from these tables, so a new flag is one entry here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import click

# how a value reaches the workers: "value" (--flag VALUE), "switch" (--flag when set), "each"
# (--flag ITEM per item), "optional" (--flag alone for "auto", else --flag VALUE); "" not at all
FORWARD_KINDS = ("value", "switch", "each", "optional", "")


def _path_or_none(value: Any) -> Path | None:
    return Path(value) if value else None


def run_tags_of(values: Any) -> dict[str, str]:
    """``--run-tag KEY=VALUE`` items as a dict."""
    tags = {}
    for item in values or ():
        key, _, value = str(item).partition("=")
        tags[key] = value
    return tags


@dataclass(frozen=True)
class RunFlag:
    decls: tuple[str, ...]                 # click's declarations: "--work-dir", or ("--time", "time_limit")
    click_kwargs: Mapping[str, Any] = field(default_factory=dict)
    forward: str = "value"
    launcher_key: str | None = None        # a launcher flag: its key in LaunchRequest.options
    into: str | None = None                # the RunOptions field it sets ("tracking.KEY" for the tracking dict)
    convert: Callable[[Any], Any] | None = None  # the value as RunOptions holds it

    def __post_init__(self) -> None:
        if self.forward not in FORWARD_KINDS:
            raise ValueError(f"{self.flag}: forward must be one of {FORWARD_KINDS}, got {self.forward!r}")

    @property
    def flag(self) -> str:
        return self.decls[0]

    @property
    def name(self) -> str:
        """The click parameter's name (the key in the command's ``params``)."""
        named = [decl for decl in self.decls if not decl.startswith("-")]
        return named[0] if named else self.flag.lstrip("-").replace("-", "_")

    def option(self) -> Callable:
        return click.option(*self.decls, **self.click_kwargs)

    def worker_args(self, value: Any) -> list[str]:
        """The arguments that give a worker process ``value``."""
        if self.forward == "switch":
            return [self.flag] if value else []
        if self.forward == "each":
            return [arg for item in value or () for arg in (self.flag, str(item))]
        if value is None or self.forward == "":
            return []
        if self.forward == "optional" and value == "auto":
            return [self.flag]
        return [self.flag, str(value)]


def _launcher(decls: tuple[str, ...] | str, key: str | None = None, **click_kwargs: Any) -> RunFlag:
    """A flag only the launcher reads (workers always run ``--launcher local``)."""
    flag = RunFlag((decls,) if isinstance(decls, str) else decls, click_kwargs, forward="")
    return replace(flag, launcher_key=key or flag.name)


LAUNCHER = RunFlag(("--launcher",), dict(default="local", show_default=True, help=(
    "How to start the workers: local, dist (torchrun), slurm, or a plugin's launcher.")), forward="")

LAUNCHER_FLAGS = [
    LAUNCHER,
    _launcher("--gpus", type=int, default=None, help="Processes (GPUs) in all (dist: per node)."),
    _launcher("--nnodes", type=int, default=None, help="dist: number of nodes (or env NNODES)."),
    _launcher("--node-rank", type=int, default=None, help="dist: this node's rank (or env NODE_RANK)."),
    _launcher("--master-addr", default=None, help="dist: rank-0 node's address (or env MASTER_ADDR)."),
    _launcher("--master-port", type=int, default=None, help="dist: rendezvous port (or env PORT)."),
    _launcher("--partition", default=None, help="slurm: partition."),
    _launcher("--job-name", default=None, help="slurm: job name."),
    _launcher("--gpus-per-node", type=int, default=None, help="slurm: GPUs per node (or env GPUS_PER_NODE)."),
    _launcher("--cpus-per-task", type=int, default=None, help="slurm: CPUs per task (or env CPUS_PER_TASK)."),
    _launcher("--srun-args", default=None, help="slurm: extra srun arguments (or env SRUN_ARGS)."),
    _launcher(("--time", "time_limit"), "time", default=None, help="slurm: time limit, e.g. 1-00:00:00."),
    _launcher("--wait", is_flag=True, default=False, help="slurm: follow the job's log and return its exit code."),
]

COMMON_FLAGS = [
    RunFlag(("--work-dir",), dict(type=click.Path(file_okay=False), default=None, help=(
        "Where logs, the resolved config and checkpoints go (default: config's work_dir, else "
        "work_dirs/<config name>).")), into="work_dir", convert=_path_or_none),
    RunFlag(("--cfg-options", "cfg_options"), dict(multiple=True, metavar="KEY=VALUE", help=(
        "Override config keys: --cfg-options train_cfg.max_iters=100 model.latent_dim=64")), forward="each"),
    RunFlag(("--amp",), dict(is_flag=True, help="Mixed precision: float16 + GradScaler on CUDA, bfloat16 on CPU."),
            forward="switch", into="amp"),
    RunFlag(("--seed",), dict(type=int, default=None, help="Random seed (overrides randomness.seed)."), into="seed"),
    RunFlag(("--deterministic",), dict(is_flag=True, help="Deterministic algorithms (bit-exact reruns on CPU)."),
            forward="switch", into="deterministic"),
    RunFlag(("--tracking-uri",), dict(default=None, help=(
        "MLflow store or server (default: the workspace's SQLite store).")), into="tracking.tracking_uri"),
    RunFlag(("--experiment",), dict(default=None, help="MLflow experiment name."), into="tracking.experiment"),
    RunFlag(("--run-name",), dict(default=None, help="MLflow run name."), into="tracking.run_name"),
    RunFlag(("--no-track",), dict(is_flag=True, help="Do not record this run in MLflow."), forward="switch",
            into="tracking.enabled", convert=lambda value: False if value else None),
]

RESUME = RunFlag(("--resume",), dict(is_flag=False, flag_value="auto", default=None, metavar="[PATH]", help=(
    "Resume: the newest complete checkpoint in work_dir, or the given one.")), forward="optional", into="resume")

# resolved in the launching process (cli/run_record_options.py) into work_dir, resume, run tags and files
RECORD_FLAGS = [
    RunFlag(("--from-run", "from_run"), dict(default=None, metavar="RUN", help=(
        "Train anew from a recorded run's config (run id, short id or run name); CONFIG is then not given. "
        "The new run is tagged mgx.source_run_id.")), forward=""),
    RunFlag(("--strict",), dict(is_flag=True, default=False, help=(
        "--from-run: a git commit, mgx or plugin version differing from the recorded run is an error "
        "(default: a warning).")), forward=""),
    RunFlag(("--resume-run", "resume_run"), dict(default=None, metavar="RUN", help=(
        "Continue a recorded run in the same MLflow run from its last uploaded checkpoint, into an empty or "
        "missing work_dir (e.g. on another machine).")), forward=""),
]
MODEL_FLAG = RunFlag(("--model", "model_uri"), dict(default=None, metavar="URI", help=(
    "Evaluate an MLflow model instead of a CHECKPOINT: models:/NAME/VERSION (registered) or models:/m-<id> "
    "(logged); CONFIG defaults to the config recorded by the model's run.")), forward="")
RUN_TAG = RunFlag(("--run-tag", "run_tags"), dict(multiple=True, hidden=True, metavar="KEY=VALUE", help=(
    "Extra MLflow tag on the run (set by --from-run and --model for the workers).")), forward="each",
    into="run_tags", convert=run_tags_of)

TEST_OUTPUT_FLAGS = [
    RunFlag(("--out",), dict(type=click.Path(dir_okay=False), default=None, help=(
        "Write the metrics as JSON here (default: <work_dir>/test_results.json).")), into="out",
        convert=_path_or_none),
    RunFlag(("--metrics", "metric_types"), dict(default=None, help=(
        "Evaluate only these metric types (comma-separated names or aliases, e.g. FID,IS)."))),
]

TRAIN_FLAGS = [*COMMON_FLAGS, RESUME, *RECORD_FLAGS, RUN_TAG, *LAUNCHER_FLAGS]
TEST_FLAGS = [*COMMON_FLAGS, MODEL_FLAG, RUN_TAG, *TEST_OUTPUT_FLAGS, *LAUNCHER_FLAGS]


def apply_flags(flags: list[RunFlag]) -> Callable:
    """Decorate a click command with ``flags`` (in this order in its help)."""
    def decorator(function: Callable) -> Callable:
        for flag in reversed(flags):
            function = flag.option()(function)
        return function
    return decorator


def worker_args(flags: list[RunFlag], params: Mapping[str, Any], positional: list[str]) -> list[str]:
    """The same job as arguments for each worker process (launcher flags left out)."""
    args = list(positional)
    for flag in flags:
        args += flag.worker_args(params.get(flag.name))
    return args


def launch_options(flags: list[RunFlag], params: Mapping[str, Any]) -> dict[str, Any]:
    """The launcher flags as ``LaunchRequest.options`` (None: not given)."""
    return {flag.launcher_key: None if params.get(flag.name) is False else params.get(flag.name)
            for flag in flags if flag.launcher_key}


def run_options(flags: list[RunFlag], params: Mapping[str, Any], config: str) -> Any:
    """What the command line adds to the config, for the engine."""
    from mgx.core.run.settings import RunOptions

    # workers run `--launcher local`; MGX_LAUNCHER (set by the launching process) names the real one
    values: dict[str, Any] = {"config_path": Path(config), "tracking": {},
                              "launcher": os.environ.get("MGX_LAUNCHER", params.get(LAUNCHER.name, "local"))}
    for flag in flags:
        if flag.into is None or flag.name not in params:
            continue
        value = flag.convert(params[flag.name]) if flag.convert else params[flag.name]
        section, _, key = flag.into.partition(".")
        if key:
            values[section][key] = value
        else:
            values[section] = value
    return RunOptions(**values)


__all__ = ["RunFlag", "TRAIN_FLAGS", "TEST_FLAGS", "apply_flags", "launch_options", "run_options", "run_tags_of",
           "worker_args"]

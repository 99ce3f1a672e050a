"""``mgx sweep CONFIG --grid KEY=[v1,v2] ...``: one MLflow parent run, one child training per point.

Planning (grid, points, folder, state) is in :mod:`mgx.core.run.sweep`; this module
starts the points: here one after another (or K at a time), through ``--launcher
dist`` per point, or - with a launcher that runs job arrays (``JobArrayLauncher`` in
:mod:`mgx.core.distributed.launch`, e.g. ``slurm``) - as one job array.
"""
from __future__ import annotations

import copy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from mgx.core.errors import ConfigError, MgxError

from .config_command import split_options
from .context import plugin_manager


def _plan(config: str, grid_items, random_count, sample_seed, cfg_items):
    from mgx.core.config import apply_option, load_config, to_plain
    from mgx.core.run.sweep import SweepPlan, check_grid_keys, grid_points, override_items, parse_grid

    grid = parse_grid(grid_items)
    cfg = load_config(config, cfg_items)
    check_grid_keys(to_plain(cfg), grid, config)
    points = grid_points(grid, random_count, sample_seed)
    plain = to_plain(cfg)
    for point in points:  # every point's overrides must apply (e.g. no index past a list's end) before anything starts
        data = copy.deepcopy(plain)
        for item in override_items(point):
            apply_option(data, item)
    plan = SweepPlan(Path(config), grid, points, random_count, sample_seed if random_count else None,
                     list(cfg_items))
    return plan, cfg


def _tracking(cfg, config: str, tracking_uri: str | None, experiment: str | None):
    from mgx.core.run.settings import tracking_settings
    from mgx.core.tracking import configure_http_env
    from mgx.core.tracking.store import get_or_create_experiment, prepare_store

    settings = tracking_settings(cfg, {"tracking_uri": tracking_uri, "experiment": experiment}, config)
    if not settings.enabled:
        raise ConfigError("a sweep is recorded in MLflow (parent and child runs); the config sets "
                          "tracking.enabled=False: remove it for the sweep")
    configure_http_env()
    uri = settings.resolve_uri()
    prepare_store(uri)
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    return client, uri, settings.experiment, get_or_create_experiment(client, uri, settings.experiment)


def _point_args(plan, folder: Path, index: int, uri: str, experiment: str | None) -> list[str]:
    """The point's `mgx run train` flags (after the config)."""
    from mgx.core.run.sweep import override_items

    from .run_flags import TRAIN_FLAGS, worker_args

    return worker_args(TRAIN_FLAGS, {"work_dir": str(plan.point_dir(folder, index).resolve()),
                                     "run_name": plan.point_label(index), "tracking_uri": uri,
                                     "experiment": experiment or None,
                                     "cfg_options": [*plan.cfg_options, *override_items(plan.points[index])]}, [])


@click.command("sweep")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@click.option("--grid", "grid_items", multiple=True, metavar="KEY=[V1,V2,...]",
              help="A config key and its values; repeat for more keys (the sweep is their product).")
@click.option("--random", "random_count", type=int, default=None,
              help="Train only N distinct points drawn from the grid.")
@click.option("--seed", "sample_seed", type=int, default=0, show_default=True,
              help="Seed of the --random draw (the trainings keep their config's seed).")
@click.option("--launcher", default="local", show_default=True,
              help="local: points in this machine's processes; dist: each point through torchrun; "
                   "slurm (or a plugin's launcher that runs job arrays): one job array.")
@click.option("--max-parallel", type=int, default=None,
              help="Points running at once (local/dist default 1; slurm: the array's %K throttle).")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None,
              help="The sweep's folder (default work_dirs/sweep-<config>-<hash of the definition>).")
@click.option("--cfg-options", "cfg_options", multiple=True, metavar="KEY=VALUE",
              help="Overrides for every point.")
@click.option("--tracking-uri", default=None, help="MLflow store or server (default: the workspace's store).")
@click.option("--experiment", default=None, help="MLflow experiment of the parent and its children.")
@click.option("--gpus", type=int, default=None, help="dist/slurm: processes per point.")
@click.option("--partition", default=None, help="slurm: partition.")
@click.option("--cpus-per-task", type=int, default=None, help="slurm: CPUs per task.")
@click.option("--job-name", default=None, help="slurm: job name (default: the sweep's name).")
@click.option("--time", "time_limit", default=None, help="slurm: time limit of each point.")
def sweep(config: str, grid_items, random_count, sample_seed, launcher, max_parallel, work_dir, cfg_options,
          tracking_uri, experiment, gpus, partition, cpus_per_task, job_name, time_limit) -> None:
    """Train CONFIG once per point of a grid of overrides; the runs are children of one MLflow run.

    \b
    Example (2 x 2 = 4 trainings, two at a time):
      mgx sweep configs/example_config.py \\
          --grid optim_wrapper.generator.optimizer.lr=[1e-3,2e-4] \\
          --grid train_dataloader.batch_size=[16,32] --max-parallel 2
    Running the same command again skips finished points and resumes unfinished
    ones. Compare the points:
      mgx runs compare --parent <sweep run name or id> --metric KEY
    """
    from mgx.core.distributed.launch import JobArrayLauncher, check_options, flag_name
    from mgx.core.run.sweep import check_folder_holds, open_parent_run, point_statuses, read_state, write_state

    cfg_items = split_options(cfg_options)
    if max_parallel is not None and max_parallel < 1:
        raise ConfigError(f"--max-parallel {max_parallel}: give at least 1")
    launcher_name = launcher
    launcher = _launcher(launcher_name)
    given = dict(gpus=gpus, partition=partition, cpus_per_task=cpus_per_task, job_name=job_name, time=time_limit)
    check_options(launcher, given)  # a launcher takes only the flags it accepts
    plan, cfg = _plan(config, grid_items, random_count, sample_seed, cfg_items)
    folder = Path(work_dir) if work_dir else plan.default_folder(Path("work_dirs"))
    folder = folder.resolve()
    check_folder_holds(folder, plan)
    client, uri, experiment_name, experiment_id = _tracking(cfg, config, tracking_uri, experiment)
    parent = open_parent_run(client, experiment_id, plan, folder, launcher_name)
    write_state(folder, {**read_state(folder), "name": plan.name, "sweep_id": plan.sweep_id,
                         "parent_run_id": parent, "tracking_uri": uri,
                         "experiment_id": experiment_id, "config": str(Path(config).resolve()),
                         "grid": plan.grid, "points": plan.points})
    statuses = point_statuses(client, parent, experiment_id)
    todo = [i for i in range(len(plan.points)) if statuses.get(i) != "FINISHED"]
    click.echo(f"sweep {plan.name}: {len(plan.points)} point(s), parent run {parent} "
               f"(experiment {experiment_name or 'Default'}), folder {folder}")
    if len(todo) < len(plan.points):
        click.echo(f"skipping {len(plan.points) - len(todo)} finished point(s)")
    if not todo:
        _end_parent(client, parent, "FINISHED")
        click.echo("every point is finished")
        return
    _refuse_while_array_runs(read_state(folder))
    args_of = {i: _point_args(plan, folder, i, uri, experiment_name) for i in todo}
    if isinstance(launcher, JobArrayLauncher):
        _submit_array(launcher, client, parent, plan, folder, args_of, config, given, max_parallel)
        return
    extra = ["--launcher", launcher_name]
    for option, value in given.items():
        extra += [] if value is None else [flag_name(option), str(value)]
    _run_points(client, parent, experiment_id, plan, folder, todo, args_of, config, extra, max_parallel or 1)


def _launcher(name: str):
    """The registered launcher ``name`` (a ConfigError listing the launchers when there is none)."""
    from mgx.core.registry import build

    plugin_manager()  # activates the registry build() uses
    return build({"type": name}, "launcher")


def _array_of(state: dict) -> tuple[Any, str | None]:
    """(the launcher that runs the sweep's job array, the array's job id), or (None, None) when
    the sweep runs none. (Sweeps before the launcher contract wrote ``slurm_job_id``.)"""
    from mgx.core.distributed.launch import JobArrayLauncher

    job_id = state.get("array_job_id") or state.get("slurm_job_id")
    name = state.get("array_launcher") or ("slurm" if state.get("slurm_job_id") else None)
    if not name:
        return None, None
    launcher = _launcher(name)
    if not isinstance(launcher, JobArrayLauncher):
        raise ConfigError(f"the sweep's job array was run by launcher {name!r}, which no longer runs job arrays")
    return launcher, job_id


def _refuse_while_array_runs(state: dict) -> None:
    """A rerun while the sweep's job array still has tasks would train those points twice."""
    launcher, job_id = _array_of(state)
    if launcher is None or not job_id:
        return
    live = [task for task, status in (launcher.array_tasks_left(job_id) or {}).items() if status != "COMPLETING"]
    if live:
        raise ConfigError(f"the sweep's {launcher.name} job array {job_id} still has {len(live)} task(s) queued or "
                          "running; wait for it or cancel it before running the sweep again")


def _end_parent(client, parent: str, status: str) -> None:
    if client.get_run(parent).info.status != status:
        client.set_terminated(parent, status)


def _run_points(client, parent, experiment_id, plan, folder: Path, todo, args_of, config, extra, parallel) -> None:
    """Start the points, at most ``parallel`` at once; each one's output goes to its
    ``sweep_point.log`` (and to this terminal when they run one at a time)."""
    from mgx.core.run.sweep import child_environment, point_statuses
    from mgx.core.run.workdir_lock import end_holder

    waiting = list(todo)
    running: dict[int, tuple[subprocess.Popen, Any]] = {}
    failed: list[int] = []
    try:
        while waiting or running:
            while waiting and len(running) < parallel:
                index = waiting.pop(0)
                point_dir = plan.point_dir(folder, index)
                point_dir.mkdir(parents=True, exist_ok=True)
                end_holder(point_dir, say=click.echo)  # a killed sweep's point may still be training
                argv = [sys.executable, "-m", "mgx.cli", "run", "train", config, *args_of[index], "--resume", *extra]
                click.echo(f"point {index}: {plan.points[index]} -> {point_dir}")
                log = None if parallel == 1 else open(point_dir / "sweep_point.log", "ab")
                running[index] = (subprocess.Popen(argv, env=child_environment(parent, index), stdout=log,
                                                   stderr=subprocess.STDOUT if log else None), log)
            for index, (process, log) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[index]
                if log is not None:
                    log.close()
                if process.returncode != 0:
                    failed.append(index)
                where = f" (log {plan.point_dir(folder, index) / 'sweep_point.log'})" if log is not None else ""
                click.echo(f"point {index} ended with exit code {process.returncode}{where}")
            time.sleep(0.2)
    except KeyboardInterrupt:
        for process, _ in running.values():
            process.terminate()
        for process, _ in running.values():
            process.wait()
        _end_parent(client, parent, "KILLED")
        raise
    statuses = point_statuses(client, parent, experiment_id)
    unfinished = [i for i in range(len(plan.points)) if statuses.get(i) != "FINISHED"]
    if unfinished:
        _end_parent(client, parent, "FAILED")
        raise MgxError(f"sweep {plan.name}: point(s) {', '.join(map(str, sorted(set(unfinished) | set(failed))))} "
                       "did not finish; run the same command again to resume them")
    _end_parent(client, parent, "FINISHED")
    click.echo(f"sweep {plan.name}: all {len(plan.points)} point(s) FINISHED; compare them with "
               f"`mgx runs compare --parent {parent}`")


def _submit_array(launcher, client, parent, plan, folder: Path, args_of, config, options, max_parallel) -> None:
    from mgx.core.distributed.launch import JobArrayRequest
    from mgx.core.run.sweep import ENDED_DIR, PARENT_ENV, STATE_FILE, read_state, write_state

    python = [sys.executable, "-m", "mgx.cli"]
    request = JobArrayRequest(
        name=plan.name, task_args=args_of, train_command=[*python, "run", "train", str(Path(config).resolve())],
        environment={PARENT_ENV: parent}, finish_command=[*python, "sweep-finish", str(folder)],
        ended_dir=folder / ENDED_DIR, folder=folder, max_parallel=max_parallel, options=dict(options))
    # the launcher's name first: a task that ends at once asks it for the array's state
    write_state(folder, {**read_state(folder), "array_launcher": launcher.name})
    try:
        job_id = launcher.submit_array(request)
    except BaseException:
        # nothing half-made stays behind: the parent run of a sweep that never started goes
        _end_parent(client, parent, "FAILED")
        client.delete_run(parent)
        (folder / STATE_FILE).unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise
    write_state(folder, {**read_state(folder), "array_job_id": job_id})


@click.command("sweep-finish", hidden=True)
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--task", default=None, help="The array task that has just ended (e.g. $SLURM_ARRAY_TASK_ID).")
def sweep_finish(folder: str, task: str | None) -> None:
    """(Job array tasks) End the sweep's parent run: FINISHED once every point is, FAILED once
    no task of the array can run any more and some point did not finish."""
    from mlflow import MlflowClient

    from mgx.core.run.sweep import (end_parent_failed_if_settled, ended_tasks, finish_lock, finish_parent_if_done,
                                    mark_task_ended, read_state)

    folder_path = Path(folder)
    state = read_state(folder_path)
    if not state.get("parent_run_id"):
        raise ConfigError(f"{folder} holds no sweep state (sweep.json)")
    launcher, job_id = _array_of(state)
    if launcher is None:
        raise ConfigError(f"{folder} holds a sweep that runs no job array (sweep-finish is for array tasks)")
    # a task may end before `mgx sweep` has written the array's job id into the state
    job_id = launcher.current_array_job_id() or job_id
    if task is not None and job_id and launcher.task_is_being_requeued(job_id, task):
        click.echo(f"mgx: sweep task {task} is being requeued; the parent run waits for it")
        return
    client = MlflowClient(state["tracking_uri"])
    parent, experiment_id, count = state["parent_run_id"], state["experiment_id"], len(state["points"])
    with finish_lock(folder_path):
        if task is not None:
            mark_task_ended(folder_path, task)
        ended = finish_parent_if_done(client, parent, experiment_id, count)
        if ended:
            click.echo(f"mgx: sweep {state.get('name')}: parent run {parent} ended {ended}")
            return
        states = launcher.array_tasks_left(job_id) if job_id else None
        if states is None:
            return  # cannot tell whether a task is still to run: leave the parent as it is
        # a task that has marked itself ended may still show RUNNING/COMPLETING for a moment
        unfinished = end_parent_failed_if_settled(client, parent, experiment_id, count,
                                                  tasks_still_running=bool(set(states) - ended_tasks(folder_path)))
    if unfinished:
        click.echo(f"mgx: sweep {state.get('name')}: point(s) {', '.join(map(str, unfinished))} did not finish and "
                   f"no task of job array {job_id} is left; parent run {parent} ended FAILED. Run the same "
                   "`mgx sweep` command again to resume those points")


COMMANDS = [sweep, sweep_finish]

"""Sweeps: a grid (or a random sample of it) of config overrides, one training per point.

``mgx sweep CONFIG --grid KEY=[v1,v2] ...`` is planned here: the grid is parsed and
checked against the config (unknown keys get a did-you-mean), the points are listed
in a stable order, and the sweep gets a folder named after its definition, so that
running the same command again finds the same folder, the same parent MLflow run
and the same per-point work dirs (finished points are skipped, unfinished ones
resumed with ``--resume``). Each point is a normal ``mgx run train`` whose MLflow
run is a child of the sweep's parent run (tag ``mlflow.parentRunId``, set from
:data:`PARENT_ENV` by :func:`mgx.core.tracking.run_info.default_tags`).

MLflow is imported only by the functions that talk to the store.
"""
from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import itertools
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from mgx.core.config.loader import parse_value
from mgx.core.errors import ConfigError

# A child training learns its parent run and point from these (they pass through
# torchrun and Slurm, which copy the environment to every worker).
PARENT_ENV = "MGX_SWEEP_PARENT_RUN_ID"
POINT_ENV = "MGX_SWEEP_POINT"
POINT_TAG = "mgx.sweep.point"
SWEEP_TAG = "mgx.sweep"
STATE_FILE = "sweep.json"
# Slurm array tasks that have ended (one empty file per task id; a task clears its own at start)
ENDED_DIR = ".ended_tasks"


# -- the grid --------------------------------------------------------------------------


def parse_grid_item(item: str) -> tuple[str, list[Any]]:
    """``"optim.lr=[1e-3,1e-4]"`` -> ``("optim.lr", [0.001, 0.0001])``.

    Values are Python literals where they parse as one (``[Adam,SGD]`` gives strings).
    An empty list, a missing ``=`` or a missing key is a ConfigError.
    """
    key, sep, raw = item.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"--grid {item!r}: write KEY=[v1,v2,...], e.g. --grid optim_wrapper.optimizer.lr=[1e-3,1e-4]")
    if not (raw.startswith("[") and raw.endswith("]")):
        raise ConfigError(f"--grid {item!r}: the values must be a bracketed list, e.g. {key}=[1,2,3]")
    values = parse_value(raw)
    if not isinstance(values, list):  # e.g. [Adam,SGD]: not a literal, take the words
        values = [parse_value(part) for part in raw[1:-1].split(",") if part.strip()]
    if not values:
        raise ConfigError(f"--grid {item!r}: the grid of {key} is empty; give at least one value")
    return key, values


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """Every ``--grid`` item, in the order given; a key given twice is an error."""
    if not items:
        raise ConfigError("the sweep has an empty grid: give at least one --grid KEY=[v1,v2,...]")
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, values = parse_grid_item(item)
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice; put all its values in one list")
        grid[key] = values
    return grid


def _config_paths(value: Any, prefix: str = "") -> list[str]:
    """Every key path of a plain config (dicts by name, lists by index)."""
    paths = []
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        path = f"{prefix}{key}"
        paths.append(path)
        paths += _config_paths(child, f"{path}.")
    return paths


def check_grid_keys(config: Mapping[str, Any], grid: Mapping[str, Any], config_file: str) -> None:
    """Every grid key must name an existing config value (a sweep of a typo would train
    the same model N times); the error lists close matches."""
    known = _config_paths(config)
    for key in grid:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else \
            "; see the keys with `mgx config show CONFIG`"
        raise ConfigError(f"--grid {key}: config {config_file} has no key {key!r}{hint}")


def grid_points(grid: Mapping[str, list[Any]], random_count: int | None = None,
                seed: int | None = None) -> list[dict[str, Any]]:
    """The points of the grid (first key slowest), or ``random_count`` distinct points drawn
    from it with ``seed`` (same seed, same points)."""
    keys = list(grid)
    every = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    if random_count is None:
        return every
    if random_count < 1:
        raise ConfigError(f"--random {random_count}: give a positive number of points")
    if random_count > len(every):
        raise ConfigError(f"--random {random_count} is more than the {len(every)} distinct points of the grid")
    chosen = sorted(random.Random(seed).sample(range(len(every)), random_count))
    return [every[i] for i in chosen]


def override_items(point: Mapping[str, Any]) -> list[str]:
    """The point as ``--cfg-options`` items (``repr`` reads back through ``parse_value``)."""
    return [f"{key}={value!r}" for key, value in point.items()]


# -- the sweep's identity and state ------------------------------------------------------


@dataclass
class SweepPlan:
    config_file: Path
    grid: dict[str, list[Any]]
    points: list[dict[str, Any]]
    random_count: int | None = None
    seed: int | None = None
    cfg_options: list[str] = field(default_factory=list)

    @property
    def sweep_id(self) -> str:
        """Stable over reruns of the same command: a hash of what defines the sweep."""
        text = json.dumps({"config": str(self.config_file.resolve()), "grid": self.grid, "random": self.random_count,
                           "seed": self.seed, "cfg_options": self.cfg_options}, sort_keys=True, default=repr)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    @property
    def name(self) -> str:
        return f"sweep-{self.config_file.stem}-{self.sweep_id[:6]}"

    def default_folder(self, work_dir_root: Path) -> Path:
        return Path(work_dir_root) / self.name

    def point_dir(self, folder: Path, index: int) -> Path:
        return Path(folder) / f"point_{index:03d}"

    def point_label(self, index: int) -> str:
        return f"{self.name}-p{index:03d}"

    def parent_params(self, launcher: str) -> dict[str, str]:
        """The sweep's definition as parent-run params."""
        params = {"sweep.config": str(self.config_file), "sweep.points": str(len(self.points)),
                  "sweep.mode": "random" if self.random_count else "grid", "sweep.launcher": launcher,
                  "sweep.keys": ",".join(self.grid)}
        params.update({f"sweep.grid.{key}": json.dumps(values, default=repr) for key, values in self.grid.items()})
        if self.random_count:
            params["sweep.random"] = str(self.random_count)
            params["sweep.seed"] = str(self.seed)
        if self.cfg_options:
            params["sweep.cfg_options"] = " ".join(self.cfg_options)
        return params


def read_state(folder: Path) -> dict:
    path = Path(folder) / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_state(folder: Path, state: Mapping[str, Any]) -> None:
    """Atomically (temp file + rename): array tasks read it while it may be rewritten."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{STATE_FILE}.{os.getpid()}.tmp"
    temp.write_text(json.dumps(state, indent=2, default=repr))
    os.replace(temp, folder / STATE_FILE)


# -- the parent run and its children in MLflow --------------------------------------------


def open_parent_run(client, experiment_id: str, plan: SweepPlan, folder: Path, launcher: str) -> str:
    """The sweep's parent run: the one recorded in the sweep folder if it still exists,
    else a new one (status RUNNING until every point has ended)."""
    from mlflow.exceptions import MlflowException

    recorded = read_state(folder).get("parent_run_id")
    if recorded:
        try:
            run = client.get_run(recorded)
            if run.info.lifecycle_stage == "active":
                if run.info.status != "RUNNING":
                    client.update_run(recorded, status="RUNNING")
                return recorded
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
    from mgx.core.tracking.run_info import clean_tags, default_tags

    tags = {**default_tags(config_file=plan.config_file, launcher=launcher), SWEEP_TAG: "parent", "mgx.mode": "sweep",
            "mgx.sweep.folder": str(Path(folder).resolve())}
    run = client.create_run(experiment_id, run_name=plan.name, tags=clean_tags(tags))
    from mlflow.entities import Param

    client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in plan.parent_params(launcher).items()])
    return run.info.run_id


def child_runs(client, parent_run_id: str, experiment_id: str) -> list:
    """Every run tagged as a child of the parent (all attempts of all points)."""
    found, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
                                  max_results=1000, page_token=token)
        found += list(page)
        token = page.token
        if not token:
            return found


def point_statuses(client, parent_run_id: str, experiment_id: str) -> dict[int, str]:
    """Per point index, the best status any of its child runs reached (FINISHED wins,
    then RUNNING, then the latest other one)."""
    rank = {"FINISHED": 3, "RUNNING": 2}
    statuses: dict[int, tuple[int, int, str]] = {}
    for run in child_runs(client, parent_run_id, experiment_id):
        point = run.data.tags.get(POINT_TAG)
        if point is None or not point.isdigit():
            continue
        key = (rank.get(run.info.status, 1), run.info.start_time or 0, run.info.status)
        statuses[int(point)] = max(statuses.get(int(point), key), key)
    return {point: value[2] for point, value in statuses.items()}


def finish_parent_if_done(client, parent_run_id: str, experiment_id: str, point_count: int) -> str | None:
    """End the parent run FINISHED once every point has a FINISHED child; None otherwise.

    Never FAILED from here: a Slurm task being requeued has a child that looks ended for a
    moment, and only the sweep command (rerun) knows that nothing is queued any more."""
    statuses = point_statuses(client, parent_run_id, experiment_id)
    done = [statuses.get(i) for i in range(point_count)]
    if all(s == "FINISHED" for s in done):
        client.set_terminated(parent_run_id, "FINISHED")
        return "FINISHED"
    return None


def end_parent_failed_if_settled(client, parent_run_id: str, experiment_id: str, point_count: int,
                                 tasks_still_running: bool) -> list[int] | None:
    """End the parent run FAILED when no array task can run any more and some point has no
    FINISHED child; the unfinished points then, else None (nothing decided)."""
    if tasks_still_running:
        return None
    statuses = point_statuses(client, parent_run_id, experiment_id)
    unfinished = [i for i in range(point_count) if statuses.get(i) != "FINISHED"]
    if not unfinished:
        return None
    if client.get_run(parent_run_id).info.status != "FAILED":
        client.set_terminated(parent_run_id, "FAILED")
    return unfinished


# -- Slurm array tasks: which have ended ----------------------------------------------------


@contextlib.contextmanager
def finish_lock(folder: Path):
    """One array task at a time decides about the parent run (two ending together would each
    see the other still running and leave it RUNNING)."""
    with open(Path(folder) / ".sweep_finish.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def mark_task_ended(folder: Path, task: str) -> None:
    ended = Path(folder) / ENDED_DIR
    ended.mkdir(exist_ok=True)
    (ended / task).touch()


def ended_tasks(folder: Path) -> set[str]:
    ended = Path(folder) / ENDED_DIR
    return {path.name for path in ended.iterdir()} if ended.is_dir() else set()


def check_folder_holds(folder: Path, plan: SweepPlan) -> None:
    """A sweep folder belongs to one sweep definition; another one there would mix their points."""
    recorded = read_state(folder).get("sweep_id")
    if recorded and recorded != plan.sweep_id:
        raise ConfigError(f"{folder} holds another sweep ({read_state(folder).get('name')}, different grid, "
                          f"config or options); give this sweep its own --work-dir")


def child_environment(parent_run_id: str, index: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env[PARENT_ENV] = parent_run_id
    env[POINT_ENV] = str(index)
    return env

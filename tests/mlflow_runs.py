"""What tests ask an MLflow store most: every run, whatever its experiment (mgx opens one
experiment per config, so a test seldom knows the experiment's id)."""
from __future__ import annotations

from typing import Any


def every_run(client: Any) -> list:
    """All runs of every experiment of ``client``'s store, newest first (MLflow's order)."""
    return client.search_runs([experiment.experiment_id for experiment in client.search_experiments()])

"""``PickleDataHook`` (MMagic 1.2.0's custom hook for SinGAN): pickles model attributes — SinGAN's
``noise_weights``, ``fixed_noises``, ``curr_stage`` — as numpy data to ``work_dir/<output_dir>/iter_<N>.pkl``,
the file ``test_pkl_data`` reads. ``interval`` > 0: every ``interval`` iterations; ``before_run`` /
``after_run``: at the start / end of training. Rank 0 only."""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

from mgx.core.errors import ConfigError
from mgx.core.hookspecs import hookimpl


def _numpy(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_numpy(item) for item in value]
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


class PickleDataHook:
    """See the module docstring."""

    def __init__(self, output_dir: str, data_name_list: Any, interval: int = -1, before_run: bool = False,
                 after_run: bool = False, filename_tmpl: str = "iter_{}.pkl") -> None:
        if not isinstance(data_name_list, (list, tuple)) or not all(isinstance(n, str) for n in data_name_list):
            raise ConfigError(f"PickleDataHook: data_name_list must be a list of attribute names, "
                              f"got {data_name_list!r}")
        if isinstance(interval, bool) or not isinstance(interval, int):
            raise ConfigError(f"PickleDataHook: interval must be an int (-1: never during training), got {interval!r}")
        self.output_dir, self.names, self.interval = str(output_dir), list(data_name_list), interval
        self.at_start, self.at_end, self.filename_tmpl = bool(before_run), bool(after_run), filename_tmpl

    def write(self, run: Any, iteration: int) -> Path:
        model = getattr(run.model, "module", run.model)
        data = {name: _numpy(getattr(model, name)) for name in self.names if hasattr(model, name)}
        missing = [name for name in self.names if name not in data]
        if missing:
            warnings.warn(f"PickleDataHook: the model has no {missing}", stacklevel=2)
        path = Path(run.work_dir) / self.output_dir / self.filename_tmpl.format(iteration)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            pickle.dump(data, handle)
        run.logger.info(f"pickled {sorted(data)} to {path}")
        return path

    @hookimpl
    def mgx_before_run(self, run: Any) -> None:
        if self.at_start and run.is_main and run.mode == "train":
            self.write(run, run.iteration + 1)

    @hookimpl
    def mgx_after_train_iter(self, run: Any, iteration: int, batch: Any, outputs: Any) -> None:
        if self.interval > 0 and (iteration + 1) % self.interval == 0 and run.is_main:
            self.write(run, iteration + 1)

    @hookimpl
    def mgx_after_run(self, run: Any, status: Any) -> None:
        if self.at_end and run.is_main and run.mode == "train":
            self.write(run, run.iteration + 1)


__all__ = ["PickleDataHook"]

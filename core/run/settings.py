"""What a run is asked to do: the command line's options, and the settings resolved from
them and the config once (flag first, then config, then default).

Every flag-versus-config decision of a run lives here: work_dir, resume, seed and
deterministic, amp, tracking. Set-up, the engine, the tracker and the CLI read
:class:`RunSettings` (or these functions) instead of deciding again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from mgx.core.config.loader import Config
from mgx.core.errors import ConfigError


@dataclass
class RunOptions:
    """What the command line adds to the config."""

    config_path: Path
    work_dir: Path | None = None
    amp: bool = False
    resume: str | None = None          # None, "auto" (newest in work_dir) or a checkpoint path
    seed: int | None = None
    deterministic: bool = False
    launcher: str = "local"
    tracking: dict = field(default_factory=dict)  # tracking_uri, experiment, run_name, enabled
    out: Path | None = None            # test results JSON
    run_tags: dict = field(default_factory=dict)  # extra MLflow tags (e.g. mgx.source_run_id of --from-run)


def resolve_work_dir(cfg: Config | Callable[[], Config], options: RunOptions) -> Path:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config stem>``.

    ``cfg`` may be a function that loads the config: it is called only without ``--work-dir``
    (the launching process then needs no config)."""
    if options.work_dir is not None:
        return Path(options.work_dir)
    cfg = cfg() if callable(cfg) else cfg
    if cfg.get("work_dir"):
        return Path(cfg["work_dir"])
    return Path("work_dirs") / Path(options.config_path).stem


def test_work_dir(checkpoint: Path | str) -> Path:
    """Where ``mgx run test CFG CKPT`` writes without ``--work-dir``: a ``test/`` folder beside the
    checkpoint, i.e. inside the run it came from (not the config-named folder, where another
    training of the same config may be running)."""
    return Path(checkpoint).resolve().parent / "test"


def resolve_resume(from_command_line: str | None, cfg: Mapping[str, Any]) -> str | None:
    """``--resume`` wins; else the config's ``resume=True`` (newest in work_dir) or ``resume='path'``."""
    if from_command_line is not None:
        return from_command_line
    config_value = cfg.get("resume")
    if config_value is True:
        return "auto"
    if isinstance(config_value, str) and config_value:
        return config_value
    if config_value not in (None, False, ""):
        raise ConfigError(f"resume must be True, False or a checkpoint path, got {config_value!r}")
    return None


def tracking_settings(cfg: Config | None, flags: Mapping[str, Any], config_path: Path | str | None = None) -> Any:
    """MLflow settings: the flags' layer (``RunOptions.tracking``) over the config's (``tracking_uri``,
    ``tracking=dict(...)``); without a config (the launching process) the flags alone.

    The experiment, so that runs of one config are together in the UI: ``--experiment`` >
    ``tracking.experiment`` > the config's ``experiment_name`` (MMEngine's key) > the config file's stem.
    """
    from mgx.core.tracking.settings import TrackingSettings

    config_layer = {"tracking_uri": cfg.get("tracking_uri"), **dict(cfg.get("tracking") or {})} if cfg else {}
    default_layer = {"experiment": default_experiment(cfg, config_path)}
    return TrackingSettings.from_layers(flags, config_layer, default_layer)


def default_experiment(cfg: Config | None, config_path: Path | str | None) -> str | None:
    """The config's ``experiment_name``, else the config file's stem (None: neither is known)."""
    name = cfg.get("experiment_name") if cfg else None
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"experiment_name must be a non-empty string (the MLflow experiment), got {name!r}")
        return name.strip()
    return Path(config_path).stem if config_path else None


def check_tracking_uri(cfg: Config | None, options: RunOptions) -> None:
    """A tracking URI (flag, config or MLFLOW_TRACKING_URI) MLflow cannot open, or a SQLite store that
    cannot be written, fails before any set-up (no work_dir holding only its records)."""
    from mgx.core.tracking.store import check_store_writable

    settings = tracking_settings(cfg, options.tracking)
    if settings.enabled:
        check_store_writable(settings.resolve_uri())


@dataclass(frozen=True)
class RunSettings:
    """A run's settings, resolved once from :class:`RunOptions` and the config."""

    config_path: Path
    work_dir: Path                     # absolute
    resume: str | None                 # None, "auto" or a checkpoint path
    amp: bool
    deterministic: bool
    diff_rank_seed: bool
    seed_flag: int | None              # --seed
    config_seed: int | None            # randomness.seed
    tracking: Any                      # TrackingSettings
    launcher: str
    out: Path | None
    run_tags: Mapping[str, str]

    @classmethod
    def resolve(cls, cfg: Config, options: RunOptions) -> "RunSettings":
        randomness = cfg.get("randomness") or {}
        if not isinstance(randomness, Mapping):
            raise ConfigError(f"randomness must be dict(seed=..., deterministic=...), got {randomness!r}")
        return cls(
            config_path=Path(options.config_path),
            work_dir=resolve_work_dir(cfg, options).resolve(),
            resume=resolve_resume(options.resume, cfg),
            amp=bool(options.amp),
            deterministic=bool(options.deterministic or randomness.get("deterministic", False)),
            diff_rank_seed=bool(randomness.get("diff_rank_seed", False)),
            seed_flag=options.seed,
            config_seed=_config_seed(randomness.get("seed")),
            tracking=tracking_settings(cfg, options.tracking, options.config_path),
            launcher=options.launcher,
            out=Path(options.out) if options.out is not None else None,
            run_tags=dict(options.run_tags),
        )

    def seed(self, resumed_seed: int | None = None) -> int | None:
        """``--seed``, else the resumed run's seed, else ``randomness.seed`` (None: draw a fresh one)."""
        if self.seed_flag is not None:
            return self.seed_flag
        return resumed_seed if resumed_seed is not None else self.config_seed


def _config_seed(seed: Any) -> Any:
    """``randomness.seed``; a list (MMagic's AnimateDiff configs give one seed per prompt) seeds the run with its
    first."""
    if isinstance(seed, (list, tuple)):
        if not seed or isinstance(seed[0], bool) or not isinstance(seed[0], int):
            raise ConfigError(f"randomness.seed: a list of seeds must start with an int, got {seed!r}")
        return seed[0]
    return seed


__all__ = ["RunOptions", "RunSettings", "check_tracking_uri", "resolve_resume", "resolve_work_dir", "test_work_dir",
           "tracking_settings"]

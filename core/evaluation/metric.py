"""Metrics and the Evaluator that feeds them.

A metric sees data through one or more paths, declared by class attributes:

* paired: ``process(batch, outputs)`` with the outputs of ``model.val_step``;
* reals: ``process_real(images, indices)`` with real images of the dataloader;
* fakes: ``process_fake(images, indices)`` with images the model generates;
* full control: ``evaluate(ctx)`` returning the result itself (PPL, EQ).

Images handed to metrics are float32 N×C×H×W, RGB, in [0, 255]. ``indices``
are global sample indices: each rank sees only its shard. A metric keeps what it
accumulates in declared state (``add_sum_state``, ``add_rows_state``); the
Evaluator syncs that state across ranks before ``compute``, so results are
identical whatever the number of processes (``mgx.core.evaluation.metric_state``).

A metric also declares, before anything is computed, the keys it will produce
(``result_keys``), the model members it needs (``model_requirements``) and
fetches what else it needs (``prepare_resources``); ``metric_contract_problems``
checks a built metric against its declared paths. ``mgx.core.run.preflight`` uses
all of these before iteration 0. docs/plugins.md, "The metric contract".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation.direction import DIRECTIONS
from mgx.core.engine.optim import autocast


class BaseMetric:
    """Base of every metric; subclasses set the class attributes and override the paths they use.

    ``directions`` says which value is better for each key ``compute`` returns (without the
    prefix): ``"higher"`` or ``"lower"`` (``None``: neither, e.g. a standard deviation); keys
    not listed get ``default_direction``. ``save_best``'s default rule and ``mgx runs compare``
    use it, e.g. ``directions = {"fid": "lower", "mean": "lower", "cov": "lower"}``, or
    ``default_direction = "lower"`` for keys named at run time (SWD's per-resolution keys).

    Besides the data paths, a metric may declare what it needs so that problems
    surface before training starts (see ``mgx.core.run.preflight``):
    ``result_keys()``, ``model_requirements()`` and ``prepare_resources()``.
    """

    default_prefix: str | None = None
    needs_fakes: bool = False
    needs_reals: bool = False
    uses_val_step: bool = False
    directions: dict[str, str | None] = {}
    default_direction: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for key, value in {**dict(cls.directions), "(default_direction)": cls.default_direction}.items():
            if value not in (*DIRECTIONS, None):
                raise MgxError(f"metric {cls.__name__}: direction of {key!r} is {value!r}; "
                               f"use 'higher', 'lower' or None")

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix if prefix is not None else self.default_prefix

    # -- state synced across processes -------------------------------------------------

    def add_sum_state(self, name: str, shape: tuple[int, ...] | None = ()) -> None:
        """Declare ``self.<name>``: a float64 tensor of ``shape`` (zeros at each evaluation's start)
        that this process adds to; in ``compute`` it holds the sum over all processes. With
        ``shape=None`` it starts as None and the first addition sets it (a tensor of the shape
        the data gives, on any device); in ``compute`` it is None only when no process set it."""
        self._declare_state(name, "sum", None if shape is None else tuple(shape))

    def add_rows_state(self, name: str) -> None:
        """Declare ``self.<name>``: an ``IndexedRows`` (``.add(rows, indices)`` with global sample
        indices, fresh at each evaluation's start); in ``compute`` it holds every process's rows
        as one tensor ordered by index (None when no process added any)."""
        self._declare_state(name, "rows", ())

    def _declare_state(self, name: str, kind: str, shape: tuple[int, ...] | None) -> None:
        from mgx.core.evaluation.metric_state import fresh_state  # torch only once a metric keeps state

        self.__dict__.setdefault("_metric_states", {})[name] = (kind, shape)
        setattr(self, name, fresh_state(kind, shape))

    def reset_states(self) -> None:
        """Every declared state as at the start (the Evaluator calls this before ``setup``)."""
        from mgx.core.evaluation.metric_state import fresh_state

        for name, (kind, shape) in self.__dict__.get("_metric_states", {}).items():
            setattr(self, name, fresh_state(kind, shape))

    def sync_states(self) -> None:
        """Combine every declared state across processes (the Evaluator calls this before
        ``compute``, on every rank; a metric that computes in ``evaluate`` calls it there)."""
        from mgx.core.evaluation.metric_state import synced_state

        for name, (kind, shape) in self.__dict__.get("_metric_states", {}).items():
            setattr(self, name, synced_state(kind, getattr(self, name), shape, f"{type(self).__name__}.{name}"))

    def declared_directions(self) -> dict[str, str | None]:
        """Full keys (with prefix) -> direction; the default under ``'PREFIX/*'`` (``'*'`` without prefix)."""
        declared: dict[str, str | None] = {self.full_key(key): value for key, value in self.directions.items()}
        if self.default_direction is not None:
            declared[f"{self.prefix}/*" if self.prefix else "*"] = self.default_direction
        return declared

    def setup(self, ctx: "MetricContext") -> None:
        """Called once before each evaluation; reset accumulated state here."""

    def process(self, batch: dict, outputs: dict) -> None:
        """Paired path: one batch and the outputs ``model.val_step(batch)`` returned."""

    def process_real(self, images, indices) -> None:
        """Real images of this rank's shard."""

    def process_fake(self, images, indices) -> None:
        """Generated images of this rank's shard."""

    def evaluate(self, ctx: "MetricContext") -> dict[str, float] | None:
        """Full-control path; return None to use the feeding paths."""
        return None

    def compute(self) -> dict[str, float]:
        """Final values (keys without prefix), identical on every rank."""
        raise NotImplementedError

    def result_keys(self) -> list[str] | None:
        """The keys (without prefix) ``compute``/``evaluate`` will return, known from the
        arguments alone; None when they depend on the data (then ``save_best`` cannot be
        checked before training)."""
        return None

    def model_requirements(self) -> dict[str, str]:
        """Members the evaluated model must have (``{'sample': 'why'}``), checked before training."""
        return {}

    def prepare_resources(self) -> None:
        """Locate or load what the metric needs besides the model and data (feature-extractor
        weights …) before the run starts; raise ``MgxError`` saying what is missing and how to get it."""

    def full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key


class GenerativeMetric(BaseMetric):
    """A metric over generated samples (and, for some, real images)."""

    needs_fakes = True

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, real_key: str = "gt_img",
                 fake_key: str | None = None, need_cond_input: bool = False, sample_model: str = "ema",
                 prefix: str | None = None, sample_kwargs: dict | None = None) -> None:
        super().__init__(prefix)
        if sample_kwargs is not None and not isinstance(sample_kwargs, dict):
            raise ConfigError(f"metric {type(self).__name__}: sample_kwargs must be a dict of the model's sample() "
                              f"arguments, got {sample_kwargs!r}")
        # MMagic's sample_kwargs: extra arguments of the model's sample() for this metric's images
        self.sample_kwargs = dict(sample_kwargs or {})
        if fake_nums is None:
            raise ConfigError(f"metric {type(self).__name__} needs fake_nums (how many images to generate), "
                              f"e.g. dict(type={type(self).__name__!r}, fake_nums=50000)")
        if not isinstance(fake_nums, int) or fake_nums <= 0:
            raise ConfigError(f"metric {type(self).__name__}: fake_nums must be a positive integer, got {fake_nums!r}")
        if sample_model not in ("ema", "orig"):
            raise ConfigError(f"metric {type(self).__name__}: sample_model must be 'ema' or 'orig', got {sample_model!r}")
        self.fake_nums = fake_nums
        self.real_nums = real_nums
        self.real_key = real_key
        self.fake_key = fake_key
        self.need_cond_input = need_cond_input
        self.sample_model = sample_model

    def model_requirements(self) -> dict[str, str]:
        if not self.needs_fakes:
            return {}
        return {"sample": "sample(noise=...) generates the images this metric scores",
                "latent_dim": "the size of the noise mgx draws for each sample"}


def metric_contract_problems(metric: Any) -> list[str]:
    """What a built metric lacks for the paths it declares (empty when it is usable)."""
    name = type(metric).__name__
    if not isinstance(metric, BaseMetric):
        return [f"{name} does not derive from mgx.core.evaluation.BaseMetric"]
    problems = []
    if not hasattr(metric, "prefix"):
        problems.append(f"{name} has no 'prefix' attribute: its __init__ must call super().__init__(prefix=prefix)")
    cls = type(metric)
    overrides = lambda method: getattr(cls, method) is not getattr(BaseMetric, method)  # noqa: E731
    if not (metric.uses_val_step or metric.needs_reals or metric.needs_fakes or overrides("evaluate")):
        problems.append(f"{name} declares no data path: set uses_val_step, needs_reals or needs_fakes = True, "
                        f"or override evaluate(ctx)")
    for flag, method in (("uses_val_step", "process"), ("needs_reals", "process_real"),
                         ("needs_fakes", "process_fake")):
        if getattr(metric, flag) and not overrides(method):
            problems.append(f"{name} sets {flag} = True but does not override {method}()")
    if not (overrides("compute") or overrides("evaluate")):
        problems.append(f"{name} overrides neither compute() nor evaluate(ctx): it would produce no values")
    generative = "derive from mgx.core.evaluation.GenerativeMetric and call super().__init__(fake_nums=..., ...)"
    if metric.needs_fakes:
        fake_nums = getattr(metric, "fake_nums", None)
        if isinstance(fake_nums, bool) or not isinstance(fake_nums, int) or fake_nums <= 0:
            problems.append(f"{name} sets needs_fakes = True but has no positive integer 'fake_nums' "
                            f"(got {fake_nums!r}): {generative}")
        if getattr(metric, "sample_model", None) not in ("ema", "orig"):
            problems.append(f"{name} sets needs_fakes = True but its 'sample_model' is "
                            f"{getattr(metric, 'sample_model', None)!r}, not 'ema' or 'orig': {generative}")
    if metric.needs_reals and not isinstance(getattr(metric, "real_key", None), str):
        problems.append(f"{name} sets needs_reals = True but has no 'real_key' (the batch key of real images, "
                        f"e.g. 'gt_img'): {generative}, or set self.real_key")
    return problems


@dataclass
class MetricContext:
    """What a metric may use during one evaluation."""

    model: Any
    device: Any
    cache_dir: Path
    work_dir: Path
    dataloader_cfg: dict | None = None
    seed: int = 0
    amp: bool = False
    ema_model: Any = None
    batch_size: int = 32
    dataloader: Any = None
    warnings: list[str] = field(default_factory=list)

    def model_for(self, sample_model: str) -> Any:
        """The network that ``sample_model`` ('ema' or 'orig') names; 'ema' falls back to orig without EMA.

        A model that keeps its own average (MMagic's ``model.ema_config``) chooses by its
        ``sampling_model(sample_model)`` method, unless the engine's EMA is asked for."""
        if sample_model == "ema" and self.ema_model is not None:
            return self.ema_model
        chooser = getattr(self.model, "sampling_model", None)
        if callable(chooser):
            return chooser(sample_model)
        return self.model

    def noise(self, indices: Iterable[int], latent_dim: int) -> Any:
        """Latent noise of the given global sample indices (independent of rank and batch)."""
        import torch

        rows = [torch.randn(latent_dim, generator=torch.Generator().manual_seed(sample_seed(self.seed, index)))
                for index in indices]
        return torch.stack(rows).to(self.device)

    def labels(self, indices: Iterable[int], num_classes: int) -> Any:
        """Class labels of the given global sample indices, uniform over ``num_classes`` (as MMagic draws
        them for IS/FID), independent of rank and batch like the noise."""
        import torch

        rows = [torch.randint(num_classes, (1,), generator=torch.Generator().manual_seed(
            sample_seed(self.seed, index) ^ LABEL_STREAM)) for index in indices]
        return torch.cat(rows).to(self.device)

    def dataset_labels(self, indices: Iterable[int]) -> Any:
        """The conditional input of each sample index for a metric with ``need_cond_input=True``: the
        ``gt_label`` of an evaluation-set sample drawn at random (MMagic's rule), the draw seeded by the
        index (the same on any number of ranks). Labels stack into a tensor (N, or N×D for vectors)."""
        import torch

        dataset = getattr(self.dataloader, "dataset", None)
        if dataset is None or not len(dataset):
            raise ConfigError("a metric with need_cond_input=True draws its conditional inputs from the evaluation "
                              "dataset's gt_label, but this evaluation has no dataset")
        read = getattr(dataset, "raw_sample", None) or dataset.__getitem__  # raw_sample: no image decoding
        rows = []
        for index in indices:
            draw = torch.randint(len(dataset), (1,), generator=torch.Generator().manual_seed(
                sample_seed(self.seed, index) ^ DATASET_LABEL_STREAM))
            sample = read(int(draw))
            if "gt_label" not in sample:
                raise ConfigError(f"need_cond_input=True: the evaluation dataset's samples have no gt_label "
                                  f"(fields: {sorted(sample)})")
            rows.append(torch.as_tensor(sample["gt_label"]))
        return torch.stack(rows).to(self.device)

    def generate(self, indices: list[int], sample_model: str, labels: Any = None,
                 sample_kwargs: dict | None = None) -> Any:
        """Images of the given global sample indices, RGB float in [0, 255]. A class-conditional model
        (``num_classes`` > 0) gets ``labels``, by default drawn per index (:meth:`labels`);
        ``sample_kwargs`` (a metric's) go to the model's ``sample``."""
        import torch

        model = self.model_for(sample_model)
        if not hasattr(model, "sample"):
            raise MgxError(f"model {type(model).__name__} has no sample() method, which generative metrics need; "
                           f"implement sample(num=None, *, noise=None) or remove the generative metrics")
        noise = self.noise(indices, int(model.latent_dim))
        num_classes = int(getattr(model, "num_classes", 0) or 0)
        kwargs = {}
        if labels is not None:
            kwargs["labels"] = labels
        elif num_classes > 0:
            kwargs["labels"] = self.labels(indices, num_classes)
        with torch.inference_mode(), autocast(self.device, self.amp):
            images = model.sample(noise=noise, **kwargs, **(sample_kwargs or {}))
        return to_pixel_range(images.float())


LABEL_STREAM = 0x5DEECE66D  # separates the label draws from the noise draws of the same index
DATASET_LABEL_STREAM = 0x2545F491  # and the draws of dataset samples (need_cond_input) from both


def sample_seed(seed: int, index: int) -> int:
    """A per-sample seed: the same sample gets the same noise on any number of ranks."""
    return (seed * 1_000_003 + index * 7919 + 12345) % (2**63 - 1)


def to_pixel_range(images: Any) -> Any:
    """Model outputs in [-1, 1] -> [0, 255] float."""
    return (images.clamp(-1, 1) + 1) * 127.5


def as_float_pixels(images: Any) -> Any:
    """Dataset images (uint8 [0, 255], or float already in [0, 255]) -> float32."""
    return images.float()

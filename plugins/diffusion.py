"""The diffusion models (MMagic's Stable Diffusion family on Hugging Face diffusers/transformers), a
built-in plugin that needs the optional extra ``pip install 'mgx[diffusion]'``.

With the extra installed it registers the models, their components, ``DreamBoothDataset`` and the
``CLIPScore`` metric. Without it, it registers the same names as placeholders that say which extra to
install: pre-flight then stops a diffusion config with that one message (exit 2) before anything is
written, and ``mgx plugins`` shows why. Nothing here imports diffusers, transformers or torch: they
load when a diffusion component is built.
"""
from __future__ import annotations

import importlib.util

from mgx.core.errors import ConfigError
from mgx.core.hookspecs import hookimpl

EXTRA = "diffusion"
REQUIRED = ("diffusers", "transformers", "safetensors")
MODEL_NAMES = ("StableDiffusion", "DreamBooth", "UNet2DConditionModel", "AutoencoderKL", "UNet2DModel",
               "ControlNetModel", "ClipWrapper", "DDIMScheduler", "DDPMScheduler", "EditDDIMScheduler",
               "PNDMScheduler", "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler",
               "DPMSolverMultistepScheduler", "LMSDiscreteScheduler")
DATASET_NAMES = ("DreamBoothDataset",)
METRIC_NAMES = ("CLIPScore",)


def missing_packages() -> list[str]:
    """The extra's packages that are not importable (found without importing them)."""
    missing = []
    for name in REQUIRED:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def _unavailable_reason(name: str, missing: list[str]) -> str:
    return (f"{name} needs the optional extra '{EXTRA}' ({', '.join(missing)} not installed): "
            f"pip install 'mgx[{EXTRA}]'")


def _placeholder(name: str, missing: list[str]) -> type:
    """A registered name that explains, instead of building, what to install."""
    reason = _unavailable_reason(name, missing)

    def __init__(self, *args, **kwargs):
        raise ConfigError(reason)

    return type(name, (), {"__init__": __init__, "unavailable": reason, "__doc__": reason})


def _register(register, names: tuple[str, ...], load_components) -> None:
    missing = missing_packages()
    if missing:
        for name in names:
            register(_placeholder(name, missing))
        return
    for component in load_components():
        register(component)


def _models() -> list:
    from mgx.plugins.models import dreambooth, stable_diffusion

    return [*stable_diffusion.components(), *dreambooth.components()]


def _datasets() -> list:
    from mgx.plugins.models.dreambooth import DreamBoothDataset

    return [DreamBoothDataset]


def _metrics() -> list:
    from mgx.plugins.metrics.clip_score import CLIPScore

    return [CLIPScore]


@hookimpl
def mgx_register_models(register):
    _register(register, MODEL_NAMES, _models)


@hookimpl
def mgx_register_datasets(register):
    _register(register, DATASET_NAMES, _datasets)


@hookimpl
def mgx_register_metrics(register):
    _register(register, METRIC_NAMES, _metrics)


@hookimpl
def mgx_after_run(run, status):
    """After a finished training run, rank 0 writes the trained Stable Diffusion family model as a
    diffusers folder (``work_dir/diffusers``, EMA weights when the run keeps an average) and logs it as
    the MLflow artifact ``diffusers``: ``diffusers.StableDiffusionPipeline.from_pretrained`` loads it
    without mgx."""
    import sys

    family = sys.modules.get("mgx.plugins.models.stable_diffusion.model")
    if family is None or status != "FINISHED" or run.mode != "train" or not run.is_main:
        return
    model = run.ema.module if run.ema is not None else run.model
    if not isinstance(model, family.StableDiffusion):
        return
    folder = model.save_pretrained(run.work_dir / "diffusers")
    run.logger.info(f"diffusers pipeline folder: {folder} (StableDiffusionPipeline.from_pretrained loads it)")
    if run.tracker is not None:
        run.tracker.log_artifact(folder, "diffusers")

"""The diffusion families' parts that are not models (their models register with the other families
in ``mgx.plugins.models``): ``DreamBoothDataset``, ``TextualInversionDataset``, ``ControlNetDataset``,
the ``CLIPScore`` metric, and the diffusers-format export of a trained model. They need the optional
extra ``pip install 'mgx[diffusion]'``; without it the same names are placeholders that say so
(``mgx.plugins.models.stable_diffusion.extra``). Nothing here imports diffusers or transformers: they
load when a diffusion component is built.
"""
from __future__ import annotations

from mgx.core.hookspecs import hookimpl


def _available_or_placeholders(components: list) -> list:
    from mgx.plugins.models.stable_diffusion.extra import available_or_placeholders

    return available_or_placeholders(components, __name__)


@hookimpl
def mgx_register_datasets(register):
    from mgx.plugins.models.controlnet.dataset import ControlNetDataset
    from mgx.plugins.models.dreambooth.dataset import DreamBoothDataset
    from mgx.plugins.models.textual_inversion.dataset import TextualInversionDataset

    for component in _available_or_placeholders([DreamBoothDataset, TextualInversionDataset, ControlNetDataset]):
        register(component)


@hookimpl
def mgx_register_metrics(register):
    from mgx.plugins.metrics.clip_score import CLIPScore

    for component in _available_or_placeholders([CLIPScore]):
        register(component)


@hookimpl
def mgx_after_run(run, status):
    """After a finished training run, rank 0 writes the trained Stable Diffusion family model as a
    diffusers folder (``work_dir/diffusers``, EMA weights when the run keeps an average) and logs it as
    the MLflow artifact ``diffusers``: ``diffusers.DiffusionPipeline.from_pretrained`` loads it
    without mgx."""
    import sys

    family = sys.modules.get("mgx.plugins.models.stable_diffusion.model")
    if family is None or status != "FINISHED" or run.mode != "train" or not run.is_main:
        return
    model = run.ema.module if run.ema is not None else run.model
    if not isinstance(model, family.StableDiffusion):
        return
    folder = model.save_pretrained(run.work_dir / "diffusers")
    run.logger.info(f"diffusers pipeline folder: {folder} (diffusers.DiffusionPipeline.from_pretrained loads it)")
    if run.tracker is not None:
        run.tracker.log_artifact(folder, "diffusers")

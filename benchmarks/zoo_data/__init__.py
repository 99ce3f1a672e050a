"""Small synthetic data in the layouts MMagic 1.2.0's configs expect, and the overrides of a trial run.

A trial runs an MMagic config as a new user would: only data paths, image sizes/crops, clip lengths,
batch sizes, iterations and ``fake_nums`` change. ``prepare_trial(cfg, root)`` reads the config's
dataloaders and writes, under ``root`` (the folder the commands run in: MMagic's data roots are
relative, ``data/DIV2K``), the files each dataset reads — folders named by ``data_prefix``, file
names by ``filename_tmpl``, meta-info files named by ``ann_file``, low-resolution partners at the
config's scale, clips of frames, mask sets — and returns the ``--cfg-options`` and environment both
commands need.

Used by ``benchmarks/zoo_trials.py`` (every config of a family) and by the CI tests of each family
(``from mgx.benchmarks.zoo_data import prepare_trial``). The modules by kind of data: ``images``,
``frames``, ``masks``, ``diffusion``, ``matting``, ``colorization`` (InstColorization's test loader);
``options`` (what a trial overrides), ``widths`` (``--tiny``),
``stand_ins`` and ``faces`` (random-weight stand-ins for every download: nothing is downloaded, and the numbers a
trial prints say nothing about quality). A dataset type without a writer raises :class:`NoWriter`; a
family registers its writer with ``@writer("TypeName")`` in a module imported here.
"""
from __future__ import annotations

import copy

from pathlib import Path

from . import diffusion, faces, frames, guided, images, matting  # noqa: F401  (their @writer registrations)
from .base import WRITERS, NoWriter, Sizes, Trial, save_image, smooth_image, under, write_dataset, writer
from .colorization import colorization_options
from .images import (write_cifar10, write_conditional_dataset, write_images, write_pair_images,
                     write_paired_image_dataset, write_unpaired_image_dataset)
from .masks import write_mask_sets
from .options import EVALUATORS, dataset_scale, loaders, run_options, size_options
from .stand_ins import (FakeNvidiaInception, FakeNvidiaVGG16, has_setting, stand_in_checkpoint, stand_in_pretrained,
                        stand_in_pretrained_arguments, uses, write_stand_in_weights)
from .widths import image_side, smallest_input, tiny_options

PR_MIN_IMAGES = 4  # PrecisionAndRecall's default k=3 needs more real images than that


def _relocated_datasets(cfg: dict, root: Path):
    """(loader path, dataset) of the datasets whose ``data_root`` is "set by user" (None) or outside the
    trial's folder, with a ``data_root`` of the trial's own."""
    for path, loader in loaders(cfg):
        dataset = dict(loader.get("dataset") or {})
        data_root = dataset.get("data_root")
        if data_root is None and "data_root" in dataset or Path(str(data_root or "")).is_absolute():
            yield path, dict(dataset, data_root=str(under(root, data_root or "data")))


def largest_crop_border(cfg: dict) -> int:
    """The widest ``crop_border`` of the config's metrics (TDAN's PSNR/SSIM crop 8 pixels a side)."""
    from mgx.core.config.evaluators import evaluator_entries

    borders = [int(metric.get("crop_border") or 0) for key in EVALUATORS
               for entry in evaluator_entries(cfg.get(key), key)
               for metric in entry.metrics if isinstance(metric, dict)]
    return max(borders, default=0)


def write_config_data(cfg: dict, root: Path, sizes: Sizes | None = None) -> list[Path]:
    """Write under ``root`` what every dataloader of ``cfg`` reads (each distinct dataset once) and the
    mask sets its pipelines load; returns the folders written. Relocated data roots (see
    ``prepare_trial``) are written where the trial's overrides point them. ``sizes.scale`` > 1 sets the
    low-resolution partners' scale (a test's tiny network of a scale of its own), else each dataset's.
    Images keep at least 8 pixels inside the metrics' widest ``crop_border``."""
    sizes = sizes or Sizes()
    border = largest_crop_border(cfg)
    if border:
        sizes = Sizes(sizes.crop, max(sizes.image, 2 * border + 8), sizes.count, sizes.scale)
    relocated = dict(_relocated_datasets(cfg, root))
    seen: set[tuple] = set()
    written = []
    for path, loader in loaders(cfg):
        dataset = relocated.get(path) or dict(loader.get("dataset") or {})
        per_set = Sizes(sizes.crop, sizes.image, sizes.count, sizes.scale if sizes.scale > 1 else
                        dataset_scale(cfg, dataset))
        signature = (repr(sorted(dataset.items(), key=lambda kv: kv[0])), per_set.scale)
        if signature not in seen:
            seen.add(signature)
            written.append(write_dataset(dataset, root, per_set))
    return written + write_mask_sets(cfg, root, sizes.image)


def _with_model_options(cfg: dict, options: list[str]) -> dict:
    """``cfg``'s plain copy with the trial's model overrides (network sides) applied: the stand-ins for
    pretrained parts must fit the networks the trial builds."""
    from mgx.core.config import apply_option, to_plain

    plain = copy.deepcopy(to_plain(cfg))
    for option in options:
        if option.startswith("model."):
            apply_option(plain, option)
    return plain


def prepare_trial(cfg: dict, root: Path, sizes: Sizes | None = None, weights: Path | None = None) -> Trial:
    """Write the data ``cfg`` reads under ``root`` and return the overrides and environment of its trial.

    ``cfg`` is a loaded config (``mgx.core.config.load_config``, with any width overrides already
    applied, so that stand-ins match); the commands must run with ``root`` as their working directory
    (relative data roots). The plugins must be active (``PluginManager().activate()``) when the config
    has pretrained parts to stand in for. ``weights`` (default ``root/weights``) holds the stand-in
    networks, shareable between trials."""
    sizes = sizes or Sizes()
    if any(uses(cfg.get(key), "PrecisionAndRecall") for key in EVALUATORS):  # its k-NN radii need > k reals
        sizes.count = max(sizes.count, PR_MIN_IMAGES)
    kind = (cfg.get("model") or {}).get("type")
    trial = Trial(test_only=not cfg.get("train_dataloader") or kind in guided.SAMPLING_ONLY,
                  pretrained=kind in diffusion.PRETRAINED_MODELS)
    trial.options += size_options(cfg, sizes)
    trial.options += run_options(cfg)
    for path, dataset in _relocated_datasets(cfg, root):
        trial.options.append(f"{path}.dataset.data_root={dataset['data_root']}")
    trial.written += write_config_data(cfg, root, sizes)
    trial.options += colorization_options(cfg, root, sizes)
    weights = weights or root / "weights"
    trial.options += stand_in_pretrained(_with_model_options(cfg, trial.options), weights)
    trial.options += stand_in_pretrained_arguments(cfg, weights)
    trial.options += diffusion.stand_in_pipeline_options(cfg, weights)
    trial.options += guided.guided_diffusion_options(cfg) + guided.disco_diffusion_options(cfg, weights)
    trial.options += faces.stand_in_feature_losses(cfg, weights) + faces.stand_in_face_detector(loaders(cfg))
    trial.env.update(write_stand_in_weights(
        weights, perceptual_vgg19=any(uses(cfg.get("model"), name) for name in ("PerceptualLoss", "LTE")),
        pytorch_inception=any(has_setting(cfg.get(key), "inception_style", "pytorch") for key in EVALUATORS),
        perceptual_vgg16=has_setting(cfg.get("model"), "vgg_type", "vgg16"),
        inception_resnet_v2=has_setting(cfg.get("model"), "backbone", "fpninception")))
    return trial


__all__ = ["FakeNvidiaInception", "FakeNvidiaVGG16", "NoWriter", "Sizes", "Trial", "WRITERS", "image_side", "smallest_input",
           "largest_crop_border",
           "prepare_trial", "run_options", "save_image", "size_options", "smooth_image", "stand_in_checkpoint",
           "stand_in_pretrained", "tiny_options", "write_cifar10", "write_conditional_dataset", "write_dataset",
           "write_images", "write_pair_images", "write_paired_image_dataset", "write_config_data",
           "write_stand_in_weights", "write_unpaired_image_dataset", "writer"]

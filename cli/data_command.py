"""``mgx data``: write small offline datasets as image folders, for configs that read folders."""
from __future__ import annotations

from pathlib import Path

import click

from .context import plugin_manager


@click.group("data")
def data_group() -> None:
    """Write offline example data (no download) in the layouts configs read."""


@data_group.command("digits")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--image-size", default=32, show_default=True, type=click.IntRange(min=1),
              help="side of each square PNG")
@click.option("--split", default="all", show_default=True, type=click.Choice(["all", "train", "val"]),
              help="DigitsDataset's fixed split")
def digits(folder: Path, image_size: int, split: str) -> None:
    """scikit-learn's handwritten digits as RGB PNG files in FOLDER (a BasicImageDataset layout).

    configs/dcgan_folder_val.py reads data/digits-png:  mgx data digits data/digits-png
    """
    from PIL import Image

    from mgx.core.registry import build

    plugin_manager()  # registers the built-in datasets
    dataset = build(dict(type="DigitsDataset", image_size=image_size, split=split, pipeline=[]), "dataset")
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(len(dataset)):
        path = folder / f"{index:05d}.png"
        partial = path.with_name(path.name + ".partial")  # a killed export leaves no truncated PNG
        Image.fromarray(dataset.raw_sample(index)["img"]).save(partial, format="PNG")
        partial.replace(path)
    click.echo(f"wrote {len(dataset)} digits ({image_size}x{image_size} PNG, split {split}) to {folder}")


COMMANDS = [data_group]

"""``mgx config show``: the resolved config, as Python that loads back to the same config."""
from __future__ import annotations

import click

from mgx.core.config import dump_config, load_config


@click.group("config")
def config() -> None:
    """Inspect configs."""


@config.command("show")
@click.argument("config_file", type=click.Path(dir_okay=False))
@click.option("--cfg-options", "cfg_options", multiple=True, metavar="KEY=VALUE",
              help="Override config keys, e.g. train_cfg.max_iters=100 (repeatable; several per flag separated by spaces).")
@click.option("--check", is_flag=True,
              help="Also check every component against the installed plugins (types, arguments, optimizers); "
                   "loads torch and the plugins.")
def show(config_file: str, cfg_options: tuple[str, ...], check: bool) -> None:
    """Print CONFIG_FILE after _base_ merging and overrides.

    Misspelled keys are errors (exit 2); keys mgx does not use are listed on stderr
    (with --check also components and arguments mgx does not provide)."""
    from mgx.core.config.check import account_config
    from mgx.core.config.custom_imports import import_custom_modules

    cfg = load_config(config_file, split_options(cfg_options))
    registry = None
    if check:
        from mgx.core.config.custom_imports import register_custom_imports

        from .context import plugin_manager

        register_custom_imports(cfg, plugin_manager())  # their components count as provided
        registry = plugin_manager().registry
    else:
        import_custom_modules(cfg)
    accounting = account_config(cfg, registry, strict=False)
    accounting.raise_errors(config_file)
    text = dump_config(cfg)
    for warning in [*cfg.load_warnings, accounting.warning()]:
        if warning:
            click.echo(f"warning: {warning}", err=True)
    click.echo(text, nl=False)


def split_options(values: tuple[str, ...]) -> list[str]:
    """``--cfg-options a=1 b=2`` and repeated flags both give [a=1, b=2]."""
    items: list[str] = []
    for value in values:
        items.extend(_split_top_level(value))
    return items


def _split_top_level(text: str) -> list[str]:
    """Split on spaces outside brackets and quotes, so ``c=[1, 2]`` stays one item."""
    items, current, depth, quote = [], [], 0, None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char.isspace() and depth == 0:
            if current:
                items.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        items.append("".join(current))
    return items


COMMANDS = [config]

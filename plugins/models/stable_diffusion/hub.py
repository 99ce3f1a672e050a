"""Loading Hugging Face models by hub name or local folder, offline-aware.

A name that is a local folder loads from it. A hub name goes through Hugging Face's own cache
(``HF_HOME``, default ``~/.cache/huggingface``); with ``MGX_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``)
nothing is downloaded and a model missing from that cache is a ConfigError saying where to put it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from mgx.core.errors import ConfigError


def offline() -> bool:
    return any(os.environ.get(name, "") not in ("", "0") for name in ("MGX_OFFLINE", "HF_HUB_OFFLINE"))


def _where(name: str, subfolder: str | None) -> str:
    part = f" (subfolder {subfolder!r})" if subfolder else ""
    return f"{name!r}{part}"


def load_pretrained(loader: Callable[..., Any], name: Any, subfolder: str | None, what: str, **kwargs: Any) -> Any:
    """``loader(name, subfolder=..., **kwargs)`` (a ``from_pretrained``), with one clear error when the
    model is neither a local folder nor reachable (offline, or no such hub repository)."""
    if not isinstance(name, (str, os.PathLike)) or not str(name):
        raise ConfigError(f"{what}: from_pretrained must be a Hugging Face hub name or a local folder, got {name!r}")
    local = Path(str(name)).expanduser()
    options = dict(kwargs)
    if subfolder:
        options["subfolder"] = subfolder
    if not local.is_dir() and offline():
        options["local_files_only"] = True
    try:
        return loader(str(local) if local.is_dir() else str(name), **options)
    except (OSError, ValueError, EnvironmentError) as exc:
        if local.is_dir():
            raise ConfigError(f"{what}: could not load {_where(str(local), subfolder)}: {exc}") from None
        mode = "offline (MGX_OFFLINE/HF_HUB_OFFLINE is set)" if offline() else "from the Hugging Face hub"
        raise ConfigError(
            f"{what}: model {_where(str(name), subfolder)} could not be loaded {mode}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}. Download it on a machine with internet "
            f"(`huggingface-cli download {name}`) into the Hugging Face cache (HF_HOME) of this machine, or save "
            f"it to a local folder and give that folder's path instead of {str(name)!r}") from None

"""Pretrained-weight files: local path, cache, or one verified download.

Resolution order for a :class:`WeightsSpec`:
1. an explicit path (config argument), then the spec's environment variable;
2. ``$MGX_CACHE_DIR/weights/<filename>`` (default ``~/.cache/mgx``);
3. a download from the spec's URL (urllib), written to a temporary file in the
   cache folder (progress on stderr), hash-checked, then moved into place with ``os.replace`` so a
   crash never leaves a half-written file under the final name.

A file whose sha256 does not match is deleted and refused. When the spec
carries no known hash, the digest of the first download is recorded next to
the file (``<file>.sha256``) and later loads are checked against it.
``MGX_OFFLINE=1`` forbids downloads.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mgx.core.errors import ConfigError, MgxError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightsSpec:
    """Where one pretrained file comes from and how it is checked."""

    filename: str
    url: str
    sha256: str | None = None     # full hex digest, or a prefix (torchvision-style file names carry 8 hex)
    env_var: str | None = None    # environment variable that may point at a local copy
    description: str = ""


def cache_root() -> Path:
    """``$MGX_CACHE_DIR`` or ``~/.cache/mgx``."""
    return Path(os.environ.get("MGX_CACHE_DIR") or Path.home() / ".cache" / "mgx").expanduser()


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash_matches(actual: str, expected: str | None) -> bool:
    return expected is None or actual.startswith(expected.lower())


def _where_to_put_it(spec: WeightsSpec, target: Path) -> str:
    env = f", or set {spec.env_var}=/path/to/{spec.filename}" if spec.env_var else ""
    return f"download {spec.url} on a machine with internet and copy it to {target}{env}"


class _Progress:
    """Download progress on stderr: a line per tenth of the file (a redrawn line on a terminal)."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total, self.done, self.shown = name, total, 0, -1
        self.terminal = sys.stderr.isatty()

    def advance(self, size: int) -> None:
        self.done += size
        tenth = self.done * 10 // self.total if self.total else -1
        if tenth > self.shown:
            self.shown = tenth
            line = f"downloading {self.name}: {self.done / 2**20:.1f} of {self.total / 2**20:.1f} MiB"
            print(("\r" + line) if self.terminal else line, end="" if self.terminal else "\n", file=sys.stderr,
                  flush=True)

    def finish(self) -> None:
        if self.terminal and self.shown >= 0:
            print(file=sys.stderr)


def download_file(url: str, target: Path, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``target`` atomically; a hash mismatch deletes the download and raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            progress = _Progress(target.name, int(response.headers.get("Content-Length") or 0))
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
                digest.update(block)
                progress.advance(len(block))
            progress.finish()
        actual = digest.hexdigest()
        if not _hash_matches(actual, sha256):
            raise MgxError(f"downloaded {url} has sha256 {actual}, expected {sha256}: the file was removed. "
                           f"The server may be serving a different file; fetch it by hand and check it.")
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def _verify_local(path: Path, spec: WeightsSpec, expected: str | None) -> None:
    actual = sha256_of(path)
    if not _hash_matches(actual, expected):
        raise MgxError(f"{path} has sha256 {actual}, but {spec.filename} should have {expected}. "
                       f"It is not the expected file: replace it ({spec.url}).")


def resolve_weights(spec: WeightsSpec, path: str | os.PathLike | None = None, *, download: bool = True,
                    cache_dir: str | os.PathLike | None = None, sha256: str | None = None) -> Path:
    """Path of a verified local copy of ``spec``'s file (see module docstring for the order).

    ``sha256`` overrides the spec's hash (pin your own copy). Raises
    :class:`ConfigError` for a given path that does not exist and
    :class:`MgxError` when the file is absent and cannot be downloaded.
    """
    expected = sha256 or spec.sha256
    explicit = path or (os.environ.get(spec.env_var) if spec.env_var else None)
    if explicit:
        local = Path(explicit).expanduser()
        if not local.is_file():
            source = "the config" if path else f"${spec.env_var}"
            raise ConfigError(f"{spec.filename} not found at {local} (from {source}); "
                              f"point it at an existing file or {_where_to_put_it(spec, local)}")
        _verify_local(local, spec, sha256)  # a user's own file is only checked when they pin a hash
        return local
    folder = Path(cache_dir) if cache_dir else cache_root() / "weights"
    target = folder / spec.filename
    recorded = target.with_name(target.name + ".sha256")
    if target.is_file():
        pinned = expected or (recorded.read_text().strip() if recorded.is_file() else None)
        _verify_local(target, spec, pinned)
        return target
    offline = os.environ.get("MGX_OFFLINE", "").lower() in ("1", "true", "yes")
    if not download or offline:
        why = "MGX_OFFLINE is set" if offline else "downloads are disabled"
        raise MgxError(f"{spec.description or spec.filename} weights are missing: {target} does not exist "
                       f"and {why}. To fix: {_where_to_put_it(spec, target)}")
    try:
        download_file(spec.url, target, expected)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise MgxError(f"could not download {spec.filename} from {spec.url} ({exc}). "
                       f"To fix: {_where_to_put_it(spec, target)}") from exc
    if expected is None:
        recorded.write_text(sha256_of(target) + "\n")
    return target

"""A recorded run as the source of a new training: find it, fetch its config and checkpoint,
compare its environment with this one.

Used by ``mgx run train --from-run RUN`` (a new run from the recorded config) and
``--resume-run RUN`` (the same run continued from its last uploaded checkpoint, on a
machine that has none of its files). RUN is a run id, a unique prefix of one (the short
id ``mgx runs list`` shows) or a run name.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mgx.core.errors import ConfigError

#: Tag on a run started with ``--from-run``: the id of the run it was rebuilt from.
SOURCE_RUN_TAG = "mgx.source_run_id"
#: Sidecar uploaded beside every checkpoint artifact: ``{"sha256": ..., "size": ...}``.
CHECKSUM_SUFFIX = ".sha256.json"
CHECKPOINT_FOLDERS = ("checkpoints/last", "checkpoints/periodic")
_ITERATION = re.compile(r"(?:iter|epoch)_(\d+)")
_HEX = re.compile(r"[0-9a-f]{4,32}")
CANDIDATES_SHOWN = 10


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_record(path: Path) -> str:
    """The JSON text of a checkpoint's checksum sidecar."""
    path = Path(path)
    return json.dumps({"file": path.name, "sha256": sha256_file(path), "size": path.stat().st_size})


def _describe(run) -> str:
    name = run.info.run_name or "-"
    return f"{run.info.run_id}  {name}  {run.info.status}"


def find_run(client, ref: str, uri: str):
    """The run ``ref`` names (id, unique id prefix, or run name) in the store ``uri``.

    ConfigError when none matches, or several do (the candidates are listed).
    """
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    ref = str(ref).strip()
    if not ref:
        raise ConfigError("empty run reference: give a run id, a short id or a run name (see `mgx runs list`)")
    if re.fullmatch(r"[0-9a-f]{32}", ref):
        try:
            run = client.get_run(ref)
            if run.info.lifecycle_stage == "active":
                return run
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    matches: dict[str, object] = {}
    if experiments:
        quoted = ref.replace("'", "\\'")
        for run in client.search_runs(experiments, filter_string=f"attributes.run_name = '{quoted}'",
                                      max_results=50):
            matches[run.info.run_id] = run
        if _HEX.fullmatch(ref) and len(ref) < 32:
            # MLflow's search has no prefix filter on run ids: scan the ids (newest first)
            for run in _all_runs(client, experiments):
                if run.info.run_id.startswith(ref):
                    matches[run.info.run_id] = run
    if len(matches) == 1:
        return next(iter(matches.values()))
    if not matches:
        raise ConfigError(f"unknown run {ref!r}: no run with that id, short id or name in {uri}; "
                          "list the runs with `mgx runs list` (or pass --tracking-uri for another store)")
    listed = sorted(matches.values(), key=lambda r: -(r.info.start_time or 0))
    lines = "\n  ".join(_describe(r) for r in listed[:CANDIDATES_SHOWN])
    more = f"\n  ... ({len(listed)} in all)" if len(listed) > CANDIDATES_SHOWN else ""
    raise ConfigError(f"run reference {ref!r} is ambiguous in {uri}; it matches:\n  {lines}{more}\n"
                      "give one of these run ids")


def _all_runs(client, experiments):
    token = None
    while True:
        page = client.search_runs(experiments, max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _list_files(client, run_id: str, folder: str) -> list:
    try:
        return [f for f in client.list_artifacts(run_id, folder) if not f.is_dir]
    except Exception:  # noqa: BLE001 - a missing folder lists as an error in some stores
        return []


@dataclass
class RecordedConfig:
    """The config of a recorded run, downloaded: ``path`` keeps the source config's file name."""

    path: Path
    artifact: str


def download_config(client, run, dest_dir: Path) -> RecordedConfig:
    """Download the run's resolved config (``config/resolved_<name>.py``, written by mgx) into
    ``dest_dir/<name>.py``. ConfigError for a run without one (made by another tool)."""
    files = _list_files(client, run.info.run_id, "config")
    resolved = [f for f in files if Path(f.path).name.startswith("resolved_") and f.path.endswith(".py")]
    plain = [f for f in files if f.path.endswith(".py") and f not in resolved]
    chosen = (resolved or plain or [None])[0]
    if chosen is None:
        raise ConfigError(f"run {run.info.run_id} ({run.info.run_name}) has no config artifact (config/*.py): it "
                          "was not recorded by `mgx run train`, so there is nothing to rebuild it from")
    name = Path(chosen.path).name
    name = name[len("resolved_"):] if name.startswith("resolved_") else name
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(client.download_artifacts(run.info.run_id, chosen.path, tmp))
        target = dest_dir / name
        shutil.copyfile(local, target)
    return RecordedConfig(target, chosen.path)


def _iteration_of(path: str) -> int:
    match = _ITERATION.search(Path(path).name)
    return int(match.group(1)) if match else -1


def newest_checkpoint_artifact(client, run) -> tuple[str, str | None]:
    """(artifact path of the run's newest uploaded checkpoint, path of its checksum sidecar or None)."""
    candidates = []
    sidecars = set()
    for folder in CHECKPOINT_FOLDERS:
        for info in _list_files(client, run.info.run_id, folder):
            if info.path.endswith(CHECKSUM_SUFFIX):
                sidecars.add(info.path)
            elif info.path.endswith((".pth", ".pt")):
                candidates.append(info.path)
    if not candidates:
        raise ConfigError(f"run {run.info.run_id} ({run.info.run_name}) has no checkpoint artifact under "
                          f"{' or '.join(CHECKPOINT_FOLDERS)}; it cannot be continued elsewhere (its tracking "
                          "setting log_checkpoints must include 'last', and a checkpoint must have been saved)")
    # newest: highest iteration; "last" (listed first) wins a tie with "periodic"
    best = max(enumerate(candidates), key=lambda item: (_iteration_of(item[1]), -item[0]))[1]
    sidecar = best + CHECKSUM_SUFFIX
    return best, sidecar if sidecar in sidecars else None


def download_checkpoint(client, run, dest_dir: Path) -> Path:
    """Download the run's newest checkpoint into ``dest_dir`` and verify its recorded checksum.

    A mismatch removes the file and raises ConfigError; a checkpoint without a recorded
    checksum (uploaded before mgx recorded them) is used with a warning.
    """
    artifact, sidecar = newest_checkpoint_artifact(client, run)
    return _download_verified(client, run, artifact, sidecar, Path(dest_dir))


def download_best_checkpoint(client, run, dest_dir: Path) -> Path | None:
    """Download the run's best checkpoint (``checkpoints/best``, uploaded under the policies 'best'
    and 'best+last') into ``dest_dir``, verified like ``download_checkpoint``; None when it has none.
    A training continued elsewhere then ends with its best file, as it would have at home."""
    files = _list_files(client, run.info.run_id, "checkpoints/best")
    names = {info.path for info in files}
    candidates = [path for path in names if path.endswith((".pth", ".pt"))]
    if not candidates:
        return None
    artifact = max(candidates, key=_iteration_of)
    sidecar = artifact + CHECKSUM_SUFFIX
    return _download_verified(client, run, artifact, sidecar if sidecar in names else None, Path(dest_dir))


def _download_verified(client, run, artifact: str, sidecar: str | None, dest_dir: Path) -> Path:
    import logging

    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / Path(artifact).name
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".download-") as tmp:
        local = Path(client.download_artifacts(run.info.run_id, artifact, tmp))
        if sidecar is None:
            logging.getLogger("mgx").warning("checkpoint %s of run %s has no recorded checksum; using it unverified",
                                             artifact, run.info.run_id)
        else:
            expected = json.loads(Path(client.download_artifacts(run.info.run_id, sidecar, tmp)).read_text())
            actual = sha256_file(local)
            if actual != expected.get("sha256"):
                raise ConfigError(f"checkpoint {artifact} of run {run.info.run_id} does not match its recorded "
                                  f"checksum (sha256 {actual[:16]}…, recorded {str(expected.get('sha256'))[:16]}…): "
                                  "the artifact is corrupt or was replaced; nothing was resumed")
        shutil.move(str(local), target)
    return target


def environment_differences(run, current: dict[str, str]) -> list[str]:
    """What differs between the recorded run's git commit, mgx version and plugins and ``current``
    (tags as ``default_tags`` makes them), one line each."""
    recorded = run.data.tags
    lines = []
    labels = {"mlflow.source.git.commit": "git commit", "mgx.git.dirty": "uncommitted changes",
              "mgx.version": "mgx version"}
    for key, label in labels.items():
        then, now = recorded.get(key), current.get(key)
        if then is not None and then != now:
            lines.append(f"{label}: recorded {then}, here {now or 'none'}")
    then_plugins = _plugin_map(recorded.get("mgx.plugins"))
    now_plugins = _plugin_map(current.get("mgx.plugins"))
    if recorded.get("mgx.plugins") is not None:
        for name in sorted(set(then_plugins) | set(now_plugins)):
            if then_plugins.get(name) != now_plugins.get(name):
                lines.append(f"plugin {name}: recorded {then_plugins.get(name, 'absent')}, "
                             f"here {now_plugins.get(name, 'absent')}")
    return lines


def _plugin_map(text: str | None) -> dict[str, str]:
    pairs = {}
    for item in (text or "").split(","):
        name, _, version = item.strip().partition("==")
        if name:
            pairs[name] = version
    return pairs


__all__ = ["SOURCE_RUN_TAG", "CHECKSUM_SUFFIX", "RecordedConfig", "checksum_record", "download_checkpoint",
           "download_config", "environment_differences", "find_run", "newest_checkpoint_artifact", "sha256_file"]

"""Store operations shared by the live writer and the spool replay."""
from __future__ import annotations

import math
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

MAX_METRICS_PER_CALL = 1000  # MlflowClient.log_batch limits (3.17)
MAX_PARAMS_OR_TAGS_PER_CALL = 100
MAX_ENTITIES_PER_CALL = 1000
THUMBNAIL_SIZE = 256  # longest side of the .webp the MLflow UI shows in its image grid
IMAGE_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")

# Error classes of a failed store call.
TRANSIENT = "transient"  # network down, server 5xx, database locked: retry, then spool
INACTIVE = "inactive"  # run/experiment deleted or missing, auth refused: spool, tell the user
INVALID = "invalid"  # the store rejects the data itself: isolate and report the bad entries


def classify_error(exc: BaseException) -> str:
    """Sort a store error into TRANSIENT, INACTIVE or INVALID."""
    from mlflow.exceptions import MlflowException

    if not isinstance(exc, MlflowException):
        return TRANSIENT
    message = str(exc)
    code = exc.error_code
    if "must be in the 'active' state" in message or code in (
        "RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED", "UNAUTHENTICATED",
    ):
        return INACTIVE
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE") and "API request to" not in message:
        return INVALID
    return TRANSIENT


def is_store_failure(exc: BaseException) -> bool:
    """True for errors of reaching or using the store (network, HTTP, database), False for bugs."""
    from mlflow.exceptions import MlflowException

    if isinstance(exc, (MlflowException, OSError, ConnectionError, TimeoutError)):
        return True
    module = type(exc).__module__.split(".")[0]
    return module in ("requests", "urllib3", "sqlalchemy", "sqlite3", "http")


def batch_calls(
    metrics: Sequence[tuple] = (), params: dict | None = None, tags: dict | None = None
) -> list[tuple[list, list, list]]:
    """Split entities into log_batch calls within MLflow's per-call limits.

    ``metrics`` are ``(key, value, timestamp_ms, step)`` tuples. Returns
    ``[(metrics, params, tags), ...]`` of mlflow entity objects.
    """
    from mlflow.entities import Metric, Param, RunTag

    metric_entities = [Metric(k, float(v), int(ts), int(step)) for k, v, ts, step in metrics]
    param_entities = [Param(k, v) for k, v in (params or {}).items()]
    tag_entities = [RunTag(k, v) for k, v in (tags or {}).items()]
    calls = []
    while param_entities or tag_entities:
        p, param_entities = param_entities[:MAX_PARAMS_OR_TAGS_PER_CALL], param_entities[MAX_PARAMS_OR_TAGS_PER_CALL:]
        t, tag_entities = tag_entities[:MAX_PARAMS_OR_TAGS_PER_CALL], tag_entities[MAX_PARAMS_OR_TAGS_PER_CALL:]
        calls.append(([], p, t))
    for start in range(0, len(metric_entities), MAX_METRICS_PER_CALL):
        calls.append((metric_entities[start:start + MAX_METRICS_PER_CALL], [], []))
    return calls


def metric_identity(key: str, value: float, timestamp: int, step: int) -> tuple:
    """What makes two logged metric values the same record (NaN equals NaN here)."""
    value = float(value)
    return (key, int(step), int(timestamp), "nan" if math.isnan(value) else value)


def existing_metric_identities(client, run_id: str, keys: Iterable[str]) -> set[tuple]:
    """Identities of every value already stored for ``keys`` of a run."""
    found: set[tuple] = set()
    for key in keys:
        for m in client.get_metric_history(run_id, key):
            found.add(metric_identity(key, m.value, m.timestamp, m.step))
    return found


def image_artifact_names(key: str, step: int, timestamp: int, uid: str) -> tuple[str, str]:
    """File names (inside ``images/``) of a step image and its thumbnail, as MLflow's UI reads them."""
    base = f"{key.replace('/', '~')}+step+{int(step)}+timestamp+{int(timestamp)}+{uid}"
    return f"{base}.png", f"{base}+compressed.webp"


def upload_image(client, run_id: str, png_path: Path, key: str, step: int, timestamp: int, uid: str) -> None:
    """Log a PNG as a step image (the MLflow UI's image grid with a step slider).

    Same layout as ``MlflowClient.log_image(key=, step=)`` but with the uuid fixed by the
    caller, so a replay overwrites instead of adding a copy, and the PNG bytes kept as is.
    """
    from PIL import Image

    full_name, thumb_name = image_artifact_names(key, step, timestamp, uid)
    with tempfile.TemporaryDirectory(prefix="mgx-image-") as tmp:
        full = Path(tmp) / full_name
        shutil.copyfile(png_path, full)
        with Image.open(png_path) as image:
            image = image.convert("RGB")
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            image.save(Path(tmp) / thumb_name, format="WEBP")
        client.log_artifacts(run_id, tmp, artifact_path="images")
    client.set_tag(run_id, "mlflow.loggedImages", "true")


def upload_artifact(client, run_id: str, path: Path, artifact_path: str | None) -> None:
    """Upload a file or a folder's contents."""
    path = Path(path)
    if path.is_dir():
        client.log_artifacts(run_id, str(path), artifact_path)
    else:
        client.log_artifact(run_id, str(path), artifact_path)


# MLflow's local artifact store writes an upload to a hidden ``.artifact.uploading.*`` file and renames
# it when complete: a process killed mid-upload leaves that file behind (hidden in the UI, on disk)
STAGED_UPLOAD_PREFIX = ".artifact.uploading."


def remove_interrupted_uploads(artifact_uri: str) -> list[Path]:
    """Delete the staged files of uploads a killed process left in a run's local artifact folder
    (``file:`` artifact URIs; others are the store's business); returns what was deleted. Call it only
    while no upload to the run is in flight (the run's training holds its work_dir's lock)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        return []
    folder = Path(unquote(parsed.path))
    removed = []
    if folder.is_dir():
        for staged in folder.rglob(f"{STAGED_UPLOAD_PREFIX}*"):
            staged.unlink(missing_ok=True)
            removed.append(staged)
    return removed

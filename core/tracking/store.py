"""The embedded tracking store: a SQLite MLflow database inside a workspace.

Layout of a workspace (``mgx init DIR`` lays it down; the first run does too)::

    DIR/mlflow.db       MLflow SQLite store (copied from mlruns_template/)
    DIR/mlartifacts/    artifacts: mlartifacts/<experiment id>/<run id>/artifacts/

The same layout ``mlflow server`` uses by default, so ``mgx ui DIR`` serves it as is.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

from mgx.core.errors import ConfigError, MgxError

log = logging.getLogger(__name__)

STORE_DB_NAME = "mlflow.db"
ARTIFACTS_DIR_NAME = "mlartifacts"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "mlruns_template"
TEMPLATE_DB = TEMPLATE_DIR / "mlflow-empty.db"


def workspace_uri(workspace: Path) -> str:
    """``sqlite:///`` URI of the embedded store of ``workspace``."""
    return f"sqlite:///{Path(workspace).expanduser().resolve() / STORE_DB_NAME}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:`` URI, or None for other stores."""
    if not uri.startswith("sqlite:"):
        return None
    parsed = urlparse(uri)
    path = unquote(parsed.path)
    if not path or path == "/:memory:":
        return None
    # SQLAlchemy form: sqlite:///rel.db (path "/rel.db", relative) and sqlite:////abs.db ("//abs.db").
    return Path(path[1:]).expanduser().resolve()


def artifact_root(db_path: Path) -> Path:
    """Where the embedded store next to ``db_path`` keeps artifacts."""
    return db_path.parent / ARTIFACTS_DIR_NAME


@lru_cache(maxsize=1)
def alembic_head_revision() -> str:
    """The schema revision the installed MLflow expects (its alembic head)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    import mlflow.store.db_migrations as migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) != 1:
        raise MgxError(f"MLflow's migrations have {len(heads)} heads ({heads}); cannot pick a schema revision")
    return heads[0]


def db_revision(db_path: Path) -> str | None:
    """The alembic revision recorded in an MLflow SQLite database (None when absent)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _check_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {what} folder {folder}: {exc.strerror or exc}; "
            "choose a writable workspace (mgx init DIR) or pass --tracking-uri"
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{what} folder {folder} is not writable; fix its permissions, choose another "
            "workspace (mgx init DIR) or pass --tracking-uri"
        )


def check_store_writable(uri: str) -> None:
    """For a ``sqlite:`` store: ConfigError naming the path when its database or artifact folder cannot
    be written — checked before a run writes anything into its work_dir (the store's folders are made
    now, as the run would make them: only trying tells, e.g. on a read-only mount or for root). Other
    stores pass."""
    db_path = sqlite_path(uri)
    if db_path is None:
        return
    db_path = Path(db_path).expanduser().resolve()
    _check_writable(db_path.parent, "tracking store")
    if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
        raise ConfigError(f"tracking store {db_path} is not readable and writable; fix its permissions")
    _check_writable(artifact_root(db_path), "artifact")


def ensure_sqlite_store(db_path: Path) -> bool:
    """Make ``db_path`` a ready MLflow store; return True when it was created now.

    A missing database is copied from the template (no 5 s migration) and its
    Default experiment pointed at ``<db folder>/mlartifacts/0``. Unwritable
    locations raise ConfigError naming the path.
    """
    db_path = Path(db_path).expanduser().resolve()
    _check_writable(db_path.parent, "tracking store")
    if db_path.exists():
        if not os.access(db_path, os.R_OK | os.W_OK):
            raise ConfigError(f"tracking store {db_path} is not readable and writable; fix its permissions")
        _check_writable(artifact_root(db_path), "artifact")
        return False
    _check_writable(artifact_root(db_path), "artifact")
    tmp = db_path.with_name(f".{db_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if TEMPLATE_DB.exists():
            shutil.copyfile(TEMPLATE_DB, tmp)
            default_location = (artifact_root(db_path) / "0").as_uri()
            with sqlite3.connect(tmp) as conn:
                conn.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0", (default_location,))
            conn.close()
            template_rev, head = db_revision(tmp), alembic_head_revision()
            if template_rev != head:
                log.warning(
                    "mlruns_template is at schema %s but MLflow wants %s: upgrading the copy "
                    "(slow; regenerate it with `python mlruns_template/rebuild.py`)", template_rev, head,
                )
                _mlflow_db_upgrade(tmp)
        else:
            log.warning("tracking template %s is missing: MLflow creates the store (~5 s)", TEMPLATE_DB)
            _mlflow_db_upgrade(tmp)
        try:
            # link() fails if another process created the store meanwhile: never overwrite a live db.
            os.link(tmp, db_path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _mlflow_db_upgrade(db_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlflow", "db", "upgrade", f"sqlite:///{db_path}"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise MgxError(f"`mlflow db upgrade` failed on {db_path}:\n{result.stderr[-2000:]}")


def init_workspace(workspace: Path) -> tuple[Path, bool]:
    """Lay down an embedded store in ``workspace``; return (db path, created now)."""
    workspace = Path(workspace).expanduser().resolve()
    db_path = workspace / STORE_DB_NAME
    created = ensure_sqlite_store(db_path)
    if not created:
        rev, head = db_revision(db_path), alembic_head_revision()
        if rev is None:
            raise ConfigError(f"{db_path} exists but is not an MLflow store (no alembic_version table)")
        if rev != head:
            raise ConfigError(
                f"{db_path} is at MLflow schema {rev}, the installed MLflow wants {head}: "
                f"back it up, then run `mlflow db upgrade sqlite:///{db_path}`"
            )
    return db_path, created


def prepare_store(uri: str) -> None:
    """Make a ``sqlite:`` store usable (create from template if missing); other stores pass."""
    db_path = sqlite_path(uri)
    if db_path is not None:
        ensure_sqlite_store(db_path)


#: MLflow 3's UI picks an experiment's view by this tag; without it, it may guess the GenAI view
#: (evaluations, traces). mgx's experiments train models: the model-training view.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def get_or_create_experiment(client, uri: str, name: str | None) -> str:
    """Id of experiment ``name`` (None -> "Default"), creating it when missing.

    The experiment is marked as a model-training one (tag ``mlflow.experimentKind``) unless
    it already says what it is (a kind chosen in the UI is kept).

    In a SQLite store the new experiment's artifacts go to ``<db folder>/mlartifacts/<id>``
    (MlflowClient alone would use ``./mlruns`` of whatever the cwd is). A deleted
    experiment of that name raises ConfigError: restoring it is the user's call.
    """
    from mlflow.exceptions import MlflowException

    name = name or "Default"
    for _attempt in range(2):
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage != "active":
                raise ConfigError(
                    f"experiment {name!r} (id {experiment.experiment_id}) is deleted in {uri}; restore it "
                    f"(`mlflow experiments restore --experiment-id {experiment.experiment_id}`) or pick another "
                    "--experiment"
                )
            if EXPERIMENT_KIND_TAG not in (experiment.tags or {}):
                client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
            return experiment.experiment_id
        try:
            return _create_experiment(client, uri, name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":  # lost a creation race: read it again
                raise
    raise MgxError(f"could not create or find experiment {name!r} in {uri}")


def _create_experiment(client, uri: str, name: str) -> str:
    db_path = sqlite_path(uri)
    if db_path is None:
        return client.create_experiment(name, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    # The store object, unlike MlflowClient, takes the default artifact root: the
    # experiment then gets <root>/<id> like `mlflow server` gives it.
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(uri, artifact_root(db_path).as_uri())
    try:
        from mlflow.entities import ExperimentTag

        return store.create_experiment(name, tags=[ExperimentTag(EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)])
    finally:
        store.engine.dispose()

"""Regenerate ``mlruns_template/mlflow-empty.db`` for the installed MLflow.

Why: a brand-new MLflow SQLite store spends ~5 s in alembic migrations before
the first run. mgx copies this already-migrated, empty database instead.
Run this after changing the pinned MLflow version::

    python mlruns_template/rebuild.py

The test ``tests/tracking/test_tracking_store.py`` fails when the template is
not at the installed MLflow's alembic head revision.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "mlflow-empty.db"


def rebuild(target: Path = TEMPLATE) -> str:
    """Create a migrated empty store at ``target``; return its alembic revision."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mlflow.db"
        # `mlflow db upgrade` on a missing file creates every table and runs all migrations.
        subprocess.run(
            [sys.executable, "-m", "mlflow", "db", "upgrade", f"sqlite:///{db}"],
            check=True,
        )
        with sqlite3.connect(db) as conn:
            # The Default experiment (id 0) must exist, as MLflow creates it on first open.
            # Its artifact location is rewritten to the workspace's when the template is copied.
            have_default = conn.execute("SELECT COUNT(*) FROM experiments WHERE experiment_id = 0").fetchone()[0]
            if not have_default:
                conn.execute(
                    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
                    " creation_time, last_update_time) VALUES (0, 'Default', './mlartifacts/0', 'active', 0, 0)"
                )
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        conn = sqlite3.connect(db)
        conn.execute("VACUUM")
        conn.close()
        target.write_bytes(db.read_bytes())
    return revision


if __name__ == "__main__":
    rev = rebuild()
    print(f"wrote {TEMPLATE} at alembic revision {rev}")

"""Tracking commands: ``mgx init``, ``mgx sync``, ``mgx ui``, ``mgx runs list|compare``.

MLflow is imported inside the commands only, so ``mgx --help`` stays fast.
"""
from __future__ import annotations

from pathlib import Path

import click

from mgx.core.errors import ConfigError, MgxError

from .context import wrap_to_terminal

TRACKING_URI_HELP = "Store to read (default: MLFLOW_TRACKING_URI, else the workspace's mlflow.db)."


def _store_uri(tracking_uri: str | None, workspace: str | None) -> str:
    """--tracking-uri > MLFLOW_TRACKING_URI > <workspace>/mlflow.db (which must exist)."""
    from mgx.core.tracking.settings import TrackingSettings
    from mgx.core.tracking.store import sqlite_path

    uri = TrackingSettings(tracking_uri=tracking_uri, workspace=Path(workspace) if workspace else None).resolve_uri()
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        raise ConfigError(f"no tracking store at {db}: nothing was tracked there yet "
                          "(create one with `mgx init`, or pass --workspace / --tracking-uri)")
    return uri


def _client(uri: str):
    from mlflow import MlflowClient

    from mgx.core.tracking.settings import configure_http_env

    configure_http_env()
    return MlflowClient(uri)


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Lay down a workspace in DIRECTORY (default: here): mlflow.db + mlartifacts/."""
    from mgx.core.tracking.store import artifact_root, init_workspace

    db_path, created = init_workspace(Path(directory))
    verb = "created" if created else "already present, schema up to date:"
    click.echo(f"tracking store {verb} {db_path}")
    click.echo(f"artifacts go to {artifact_root(db_path)}")
    click.echo(f"browse runs with: mgx ui {directory}")


@click.command("sync")
@click.argument("work_dir", required=False, default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--tracking-uri", default=None, help="Replay into this store instead of the one each spool names.")
def sync(work_dir: str, tracking_uri: str | None) -> None:
    """Replay spooled tracking records of WORK_DIR (and work dirs below it) into their store.

    Idempotent: values already in the store are not written twice.
    """
    from mgx.core.tracking.replay import ReplayReport, find_spool_dirs, replay_spool_dir
    from mgx.core.tracking.settings import check_uri_scheme, configure_http_env, normalise_uri

    from mgx.core.registry import set_registry_source

    from .context import plugin_manager

    # a bad --tracking-uri is a usage error (exit 2) whether or not anything is pending
    uri = check_uri_scheme(normalise_uri(tracking_uri), "--tracking-uri") if tracking_uri else None
    configure_http_env()
    set_registry_source(lambda: plugin_manager().registry)  # a spooled model is built from its config
    folders = find_spool_dirs(Path(work_dir))
    report = ReplayReport()
    for folder in folders:
        replay_spool_dir(folder, uri, report)
    if report.nothing_to_do:
        click.echo(f"nothing to sync under {Path(work_dir).resolve()}")
        return
    click.echo(report.summary())
    if report.files_failed:
        raise MgxError(f"{len(report.files_failed)} spool file(s) could not be replayed; they are kept")


@click.command("ui")
@click.argument("workspace", required=False, default=None, type=click.Path(file_okay=False))
@click.option("--port", type=int, default=5000, show_default=True, help="Port (a free one is used if taken).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (localhost only by default).")
@click.option("--experiment", default=None, help="Experiment whose runs page to print (default: latest run's).")
def ui(workspace: str | None, port: int, host: str, experiment: str | None) -> None:
    """Serve the MLflow UI over WORKSPACE's store (default: MGX_WORKSPACE, else here) and print the
    runs-page URL. The server's log and anything it writes go into the workspace."""
    from mgx.core.tracking.server import free_port, port_is_free, start_server, stop_server, wait_healthy
    from mgx.core.tracking.store import artifact_root, sqlite_path

    from mgx.core.tracking.store import workspace_uri

    # The workspace's own store, whatever MLFLOW_TRACKING_URI says (a team server has its own UI).
    from mgx.core.tracking.settings import TrackingSettings

    workspace = str(TrackingSettings(workspace=Path(workspace) if workspace else None).resolve_workspace())
    uri = workspace_uri(Path(workspace))
    if not sqlite_path(uri).exists():
        raise ConfigError(f"no tracking store at {sqlite_path(uri)}; create one with `mgx init {workspace}`")
    experiment_id = _landing_experiment(_client(uri), experiment)
    if not port_is_free(port, host):
        new_port = free_port(host)
        click.echo(f"port {port} is taken; using {new_port}", err=True)
        port = new_port
    log_path = sqlite_path(uri).parent / "mlflow-ui.log"
    import signal
    import sys

    # The server runs in its own session; a SIGTERM/SIGHUP to us must still stop it (via `finally`).
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: sys.exit(0))
    process = start_server(uri, artifact_root(sqlite_path(uri)), port, host, log_path, cwd=sqlite_path(uri).parent)
    base = f"http://{host}:{port}"
    try:
        wait_healthy(base, process, timeout_s=90, log_path=log_path)
        # Each link alone on its line: a terminal keeps a link clickable only when it is not wrapped.
        for heading, link in _ui_links(uri, base, experiment_id):
            click.echo(heading)
            click.echo(f"  {link}", color=False)
        click.echo(wrap_to_terminal(f"server log: {log_path}"))
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(process)


def _ui_links(uri: str, base: str, experiment_id: str) -> list[tuple[str, str]]:
    """(heading, URL) of the runs page (its layout stored first), the newest run and a comparison
    of the newest runs, all in the model-training view."""
    from mgx.core.tracking.ui_view import compare_page_url, publish_runs_view, run_page_url, runs_page_url

    client = _client(uri)
    publish_runs_view(client, experiment_id)
    links = [("MLflow UI (Ctrl-C stops it):", runs_page_url(base, experiment_id))]
    newest = [run.info.run_id for run in client.search_runs([experiment_id], max_results=COMPARED_RUNS,
                                                              order_by=["attributes.start_time DESC"])]
    if newest:
        links.append(("newest run:", run_page_url(base, experiment_id, newest[0])))
    if len(newest) > 1:
        links.append((f"the {len(newest)} newest runs compared:", compare_page_url(base, experiment_id, newest)))
    return links


COMPARED_RUNS = 5  # runs on the comparison page `mgx ui` links


def _landing_experiment(client, name: str | None) -> str:
    from mlflow.entities import ViewType

    if name:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise ConfigError(f"no experiment named {name!r} in the workspace store")
        return found.experiment_id
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    latest = client.search_runs(experiments, order_by=["attributes.start_time DESC"], max_results=1) \
        if experiments else []
    return latest[0].info.experiment_id if latest else "0"


@click.group("runs")
def runs() -> None:
    """List and compare tracked runs."""


def _store_options(func):
    func = click.option("--workspace", default=None, type=click.Path(file_okay=False),
                        help="Workspace holding mlflow.db (default: MGX_WORKSPACE or here).")(func)
    return click.option("--tracking-uri", default=None, help=TRACKING_URI_HELP)(func)


RUN_KINDS = {"train": "training", "test": "test"}  # tag mgx.mode of a run -> what `runs list` says


@runs.command("list")
@click.option("--experiment", default=None, help="Only this experiment (default: all).")
@click.option("--max", "max_results", default=50, show_default=True, help="Most runs to show (newest first).")
@_store_options
def runs_list(experiment: str | None, max_results: int, tracking_uri: str | None, workspace: str | None) -> None:
    """Print a table of runs: id, name, kind (training or test), experiment, status, start, duration.

    In a terminal narrower than the table, ids are shortened to the 8 characters every command
    accepts; piped output keeps full ids."""
    import datetime

    from mlflow.entities import ViewType

    uri = _store_uri(tracking_uri, workspace)
    client = _client(uri)
    experiments = {e.experiment_id: e.name for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)}
    if experiment is not None:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise ConfigError(f"no experiment named {experiment!r} in {uri}; known: {', '.join(experiments.values())}")
        experiments = {found.experiment_id: found.name}
    found_runs = client.search_runs(list(experiments), order_by=["attributes.start_time DESC"],
                                    max_results=max_results) if experiments else []
    if not found_runs:
        click.echo(f"no runs in {uri}")
        return
    rows = []
    for r in found_runs:
        start = datetime.datetime.fromtimestamp(r.info.start_time / 1000)
        end = r.info.end_time or (r.info.start_time if r.info.status != "RUNNING" else None)
        duration = f"{(end - r.info.start_time) / 1000:.0f}s" if end else "running"
        kind = RUN_KINDS.get(r.data.tags.get("mgx.mode", ""), r.data.tags.get("mgx.mode", "-"))
        rows.append([r.info.run_id, r.info.run_name or "", kind, experiments.get(r.info.experiment_id, ""),
                     r.info.status, start, duration])
    click.echo(_runs_table(rows, _output_width()))


RUNS_HEADER = ["RUN ID", "NAME", "KIND", "EXPERIMENT", "STATUS", "START", "DURATION"]


def _output_width() -> int | None:
    """The terminal's width (or $COLUMNS); None when the output goes to a pipe or file, which
    gets the whole table (full ids for scripts)."""
    import os
    import shutil
    import sys

    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _runs_table(rows: list[list], width: int | None) -> str:
    """The runs table, made to fit ``width``: short ids (accepted wherever a run is named), then a
    shorter start time, then no EXPERIMENT column when every run is in the same one, then
    shortened names."""
    from mgx.core.tracking.query import format_table, short_id

    def widest(text):
        return max(len(line) for line in text.splitlines())

    header = list(RUNS_HEADER)
    body = [[*row[:5], row[5].strftime("%Y-%m-%d %H:%M:%S"), row[6]] for row in rows]
    text = format_table(header, body)
    if width is None or widest(text) <= width:
        return text
    header[0] = "RUN"
    body = [[short_id(row[0]), *row[1:]] for row in body]
    for step in ("start", "experiment", "name"):
        text = format_table(header, body)
        if widest(text) <= width:
            return text
        if step == "start":
            body = [[*row[:5], raw[5].strftime("%m-%d %H:%M"), row[6]] for row, raw in zip(body, rows)]
        elif step == "experiment" and len({row[3] for row in body}) == 1:
            header.pop(3)
            body = [row[:3] + row[4:] for row in body]
        elif step == "name":
            room = max(len("NAME"), max(len(row[1]) for row in body) - (widest(text) - width))
            body = [[row[0], row[1] if len(row[1]) <= room else row[1][:room - 1] + "…", *row[2:]] for row in body]
    return format_table(header, body)


@runs.command("compare")
@click.argument("run_refs", nargs=-1, metavar="RUN...")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="Also draw the metric curves into this image file (png/svg/pdf); with --parent, "
                   "the metric against each swept param.")
@click.option("--system", is_flag=True, help="Include system/* metrics.")
@click.option("--parent", default=None, metavar="SWEEP",
              help="Rank the child runs of this sweep (its parent run's id or name) by --metric.")
@click.option("--metric", default=None, help="With --parent: the metric to rank by (default: the first "
                                             "validation metric whose better direction is known).")
@_store_options
def runs_compare(run_refs: tuple[str, ...], plot_path: str | None, system: bool, parent: str | None,
                 metric: str | None, tracking_uri: str | None, workspace: str | None) -> None:
    """Show differing params and final + best metrics of RUNs (ids, the 8-character short ids
    printed here, or unique names) side by side. "best" follows the direction each metric declared.
    With --parent: a sweep's points ranked by a metric, the swept params as columns."""
    from mgx.core.tracking.query import compare_text, plot_curves, resolve_runs

    if bool(parent) == bool(run_refs):
        raise ConfigError("give either RUN... or --parent SWEEP")
    if metric and not parent:
        raise ConfigError("--metric goes with --parent")
    uri = _store_uri(tracking_uri, workspace)
    client = _client(uri)
    if parent:
        from mgx.core.tracking.sweep_query import plot_against_params, rank_children, ranking_text

        (sweep_run,) = resolve_runs(client, [parent], uri)
        metric, direction, keys, rows = rank_children(client, sweep_run, metric)
        click.echo(ranking_text(sweep_run, metric, direction, keys, rows))
        if plot_path:
            click.echo(f"plot written to {plot_against_params(metric, keys, rows, Path(plot_path))}")
        return
    found = resolve_runs(client, run_refs, uri)
    text, curves = compare_text(client, found, include_system=system)
    click.echo(text)
    if plot_path:
        labels = {r.info.run_id: f"{r.info.run_name or ''} ({r.info.run_id[:8]})" for r in found}
        click.echo(f"curves written to {plot_curves(curves, labels, Path(plot_path))}")


COMMANDS = [init, sync, ui, runs]

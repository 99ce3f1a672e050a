"""``mgx plugins``: what is installed, what it registers, and what failed to load."""
from __future__ import annotations

import json
import shutil
import textwrap

import click

from .context import plugin_manager


def plugin_rows(include_blocked: bool) -> list[dict]:
    from mgx.core.errors import PluginError
    from mgx.core.plugins import _disabled_names

    manager = plugin_manager()
    registry_error = None
    try:
        manager.registry  # fills each plugin's components
    except PluginError as exc:
        registry_error = str(exc)
    rows = [
        {
            "name": info.name,
            "module": info.module,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "hooks": info.hooks,
            "components": {kind: sorted(names) for kind, names in sorted(info.components.items())},
            "error": None,
            "unavailable": _unavailable(manager, info),
        }
        for info in manager.plugins.values()
    ]
    rows += [
        {"name": failure.name, "module": None, "distribution": failure.distribution, "version": failure.version,
         "builtin": failure.distribution == "mgx", "hooks": [], "components": {}, "error": failure.error}
        for failure in manager.load_errors
    ]
    if include_blocked:
        rows += [
            {"name": name, "module": None, "distribution": None, "version": None, "builtin": None,
             "hooks": [], "components": {}, "error": "blocked by MGX_DISABLE_PLUGINS"}
            for name in sorted(_disabled_names())
        ]
    for row in rows:
        row.setdefault("unavailable", None)  # components needing a missing optional extra, and why
    if registry_error:
        rows.append({"name": "<registry>", "module": None, "distribution": None, "version": None, "builtin": None,
                     "hooks": [], "components": {}, "error": registry_error, "unavailable": None})
    return rows


def _unavailable(manager, info) -> str | None:
    """Why a plugin's components can not be built (placeholders for a missing optional extra), or None."""
    reasons = [getattr(manager.registry.get(kind, name), "unavailable", None)
               for kind, names in info.components.items() for name in names]
    reasons = [reason for reason in reasons if reason]
    if not reasons:
        return None
    more = f" (and {len(reasons) - 1} more components)" if len(reasons) > 1 else ""
    return reasons[0] + more


@click.command("plugins")
@click.option("--all", "include_blocked", is_flag=True, help="Also list plugins blocked by MGX_DISABLE_PLUGINS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins(include_blocked: bool, as_json: bool) -> None:
    """List plugins: distribution, version, hooks, registered components, load errors."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # failures are listed below instead
        rows = plugin_rows(include_blocked)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(40, shutil.get_terminal_size((80, 24)).columns)  # --json is for machines

    def echo_list(label: str, names: list[str]) -> None:
        click.echo(textwrap.fill(", ".join(names), width, initial_indent=f"    {label}: ",
                                 subsequent_indent=" " * 8, break_on_hyphens=False))

    for row in rows:
        origin = f"{row['distribution']} {row['version']}" if row["distribution"] else "-"
        click.echo(f"{row['name']}  [{origin}]{'  (built-in)' if row['builtin'] else ''}")
        if row["error"]:
            click.echo(f"    ERROR: {row['error']}")
            continue
        if row.get("unavailable"):
            click.echo(f"    UNAVAILABLE: {row['unavailable']}")
        if row["hooks"]:
            echo_list("hooks", row["hooks"])
        for kind, names in row["components"].items():
            echo_list(f"{kind}s", names)


COMMANDS = [plugins]

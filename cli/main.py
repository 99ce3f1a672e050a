"""The ``mgx`` command. Thin: parse, build, hand to core.

Heavy libraries (torch, mlflow) are imported only inside the commands that
need them, so ``mgx --help`` stays fast.
"""
from __future__ import annotations

import os

import click

from mgx import __version__
from mgx.core.errors import MgxError

COMMAND_MODULES = (
    "mgx.cli.plugins_command",
    "mgx.cli.config_command",
    "mgx.cli.run_command",
    "mgx.cli.tracking_commands",
    "mgx.cli.sweep_command",
    "mgx.cli.data_command",
)


def expand_cfg_options(args: list[str]) -> list[str]:
    """Let ``--cfg-options a=1 b=2`` (mmengine's form) reach click as repeated options.

    Every following argument that looks like KEY=VALUE (not an option) belongs
    to the preceding ``--cfg-options``.
    """
    expanded: list[str] = []
    in_options = False
    for arg in args:
        if arg == "--cfg-options":
            in_options = True
            expanded.append(arg)
            continue
        if in_options and not arg.startswith("-") and "=" in arg and expanded[-1] != "--cfg-options":
            expanded.extend(["--cfg-options", arg])
            continue
        in_options = in_options and not arg.startswith("-") and "=" in arg
        expanded.append(arg)
    return expanded


class LazyGroup(click.Group):
    """Loads command modules the first time the command list is needed."""

    _loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        import importlib

        for module_name in COMMAND_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:  # optional command module not present
                    continue
                raise
            for command in getattr(module, "COMMANDS", ()):
                self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str):
        self._load()
        return super().get_command(ctx, name)

    def main(self, args=None, *posargs, **kwargs):
        import sys

        args = list(sys.argv[1:] if args is None else args)
        return super().main(expand_cfg_options(args), *posargs, **kwargs)

    def invoke(self, ctx: click.Context):
        """MgxError -> ``error: <message>`` on stderr and its exit code (2 for config errors);
        Ctrl-C -> exit code 130, as a shell reports it (click's own would print "Aborted!", exit 1)."""
        try:
            return super().invoke(ctx)
        except MgxError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            if (ctx.obj or {}).get("debug"):
                raise
            click.echo("interrupted", err=True)  # what was stopped and what was kept is logged above
            ctx.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mgx")
@click.option("--debug", is_flag=True, envvar="MGX_DEBUG", help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """mgx: train, evaluate and compare PyTorch image and generative models.

    \b
    Quick start:
      mgx run train configs/example_config.py
      mgx run test configs/example_config.py work_dirs/example_config/best.pt
      mgx plugins
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if debug and not os.environ.get("MGX_DEBUG"):
        # the engine and the workers this command starts read it too (compile lists graph breaks);
        # set for this command only, so a process that runs several commands (a test) is not left in debug mode
        os.environ["MGX_DEBUG"] = "1"
        ctx.call_on_close(lambda: os.environ.pop("MGX_DEBUG", None))


def main() -> None:
    """Console-script entry point."""
    import gc

    try:
        cli(prog_name="mgx")
    finally:
        # Free what a run left in reference cycles (sharded modules hold a process group and its
        # pending work) while the interpreter is whole: freed during shutdown, gloo's worker threads
        # reach for a finalizing interpreter and the process aborts after a successful run.
        gc.collect()


if __name__ == "__main__":
    main()

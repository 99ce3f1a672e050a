"""`mgx run train|test` flags are declared once (cli/run_flags.py): the click options, the
arguments each worker process receives, the launcher's options and the engine's RunOptions
all come from that one table, so a flag given to `mgx run` reaches every worker unchanged."""
from __future__ import annotations

import dataclasses

import click
import pytest

from mgx.cli.run_command import test_command as run_test_command, train_command
from mgx.cli.run_flags import TEST_FLAGS, TRAIN_FLAGS, launch_options, run_options, worker_args
from mgx.core.distributed.launch import ALL_OPTIONS
from mgx.core.run.settings import RunOptions

COMMANDS = {"train": (train_command, TRAIN_FLAGS, ["cfg.py"]),
            "test": (run_test_command, TEST_FLAGS, ["cfg.py", "ckpt.pth"])}
# read by the launching process itself: the launcher choice, and the flags that fetch a recorded
# run or model and become --work-dir/--resume/--run-tag/--tracking-uri for the workers
LAUNCHING_PROCESS_ONLY = {"launcher", "from_run", "strict", "resume_run", "model_uri"}


@pytest.fixture(autouse=True)
def no_launcher_env(monkeypatch):
    monkeypatch.delenv("MGX_LAUNCHER", raising=False)


def _sample(option: click.Option) -> object:
    """A value for ``option`` other than its default (with a space and brackets where text goes)."""
    if option.multiple:
        return ("model.widths=[8, 16]", "train_cfg.max_iters=3", "a=b=c")
    if option.is_flag:
        return True
    if isinstance(option.type, click.types.IntParamType):
        return 7
    return "some dir/with [brackets].x"


def _parse(command: click.Command, argv: list[str]) -> dict:
    with command.make_context(command.name, list(argv)) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize("which", COMMANDS)
def test_every_option_comes_from_the_flag_table(which):
    command, flags, positional = COMMANDS[which]
    arguments = [param.name for param in command.params if isinstance(param, click.Argument)]
    options = [param.name for param in command.params if isinstance(param, click.Option)]
    assert len(arguments) == len(positional)
    assert options == [flag.name for flag in flags], "add a flag to cli/run_flags.py, not as a click.option"
    for flag in flags:
        assert flag.forward or flag.launcher_key or flag.name in LAUNCHING_PROCESS_ONLY, (
            f"{flag.flag} reaches neither the workers nor the launcher")


@pytest.mark.parametrize("which", COMMANDS)
@pytest.mark.parametrize("resume", ["auto", "work/iter_4.pth"])
def test_every_forwarded_flag_round_trips_through_the_worker_arguments(which, resume):
    command, flags, positional = COMMANDS[which]
    params = _parse(command, positional)  # every option at its default
    by_name = {param.name: param for param in command.params}
    forwarded = [flag for flag in flags if flag.forward]
    for flag in forwarded:
        params[flag.name] = resume if flag.name == "resume" else _sample(by_name[flag.name])
    argv = worker_args(flags, params, positional)
    assert argv[:len(positional)] == positional
    worker = _parse(command, [*argv, "--launcher", "local"])
    assert {flag.name: worker[flag.name] for flag in forwarded} == {flag.name: params[flag.name] for flag in forwarded}
    assert run_options(flags, worker, positional[0]) == run_options(flags, params, positional[0])
    # and each one alone: no flag swallows or leaks into another
    for flag in forwarded:
        alone = {**_parse(command, positional), flag.name: params[flag.name]}
        assert _parse(command, worker_args(flags, alone, positional)) == alone, flag.flag


@pytest.mark.parametrize("which", COMMANDS)
def test_launcher_flags_are_the_launch_contract(which):
    command, flags, positional = COMMANDS[which]
    assert {flag.launcher_key for flag in flags if flag.launcher_key} == set(ALL_OPTIONS)
    params = _parse(command, positional)
    assert launch_options(flags, params) == dict.fromkeys(ALL_OPTIONS)  # nothing given
    by_name = {param.name: param for param in command.params}
    for flag in flags:
        if flag.launcher_key:
            given = {**params, flag.name: _sample(by_name[flag.name])}
            assert launch_options(flags, given)[flag.launcher_key] == given[flag.name]
            assert worker_args(flags, given, positional) == positional  # workers never see launcher flags


def test_run_options_fields_each_have_their_flag():
    """Every RunOptions field but the config path and the launcher is set by one flag."""
    targets = [flag.into for flag in {id(flag): flag for flag in TRAIN_FLAGS + TEST_FLAGS}.values() if flag.into]
    assert len(targets) == len(set(targets))
    fields = {field.name for field in dataclasses.fields(RunOptions)} - {"config_path", "launcher"}
    assert {target.partition(".")[0] for target in targets} == fields
    assert {target.partition(".")[2] for target in targets if target.startswith("tracking.")} == {
        "tracking_uri", "experiment", "run_name", "enabled"}


def test_run_options_from_the_command_line(monkeypatch):
    params = _parse(train_command, ["c/cfg.py", "--work-dir", "w", "--seed", "3", "--amp", "--no-track",
                                    "--resume", "--run-tag", "k=v=w", "--experiment", "e"])
    options = run_options(TRAIN_FLAGS, params, "c/cfg.py")
    assert options == RunOptions(config_path=options.config_path, work_dir=options.work_dir, amp=True, resume="auto",
                                 seed=3, tracking={"tracking_uri": None, "experiment": "e", "run_name": None,
                                                   "enabled": False}, run_tags={"k": "v=w"})
    assert (str(options.config_path), str(options.work_dir), options.launcher) == ("c/cfg.py", "w", "local")
    monkeypatch.setenv("MGX_LAUNCHER", "slurm")  # a worker names the launcher that started it
    assert run_options(TRAIN_FLAGS, params, "c/cfg.py").launcher == "slurm"

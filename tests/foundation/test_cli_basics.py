"""The ``mgx`` command itself: help, version, exit codes, lazy heavy imports, shell completion."""
from __future__ import annotations

import subprocess
import sys

import pytest

from foundation_helpers import mgx_env, run_mgx
from mgx import __version__
from mgx.cli.main import expand_cfg_options

pytestmark = pytest.mark.timeout(120)


def test_help_lists_the_commands(invoke):
    result = invoke(["--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: mgx [OPTIONS] COMMAND [ARGS]...")
    for command in ("config", "plugins"):
        assert f"\n  {command} " in result.stdout
    assert "--debug" in result.stdout and "--version" in result.stdout
    assert invoke(["-h"]).stdout == result.stdout


def test_version(invoke):
    result = invoke(["--version"])
    assert (result.exit_code, result.stdout) == (0, f"mgx, version {__version__}\n")


def test_usage_errors_exit_2(invoke):
    result = invoke(["no-such-command"])
    assert result.exit_code == 2 and "No such command 'no-such-command'" in result.stderr
    result = invoke(["config", "show"])
    assert result.exit_code == 2 and "Missing argument 'CONFIG_FILE'" in result.stderr
    result = invoke(["plugins", "--bogus"])
    assert result.exit_code == 2 and "--bogus" in result.stderr


def _imported_modules(*args: str) -> set[str]:
    """Top-level packages a fresh ``python -X importtime -m mgx.cli ARGS`` imports."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "mgx.cli", *args],
                            capture_output=True, text=True, timeout=60, env=mgx_env())
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name.split(".")[0])
    assert "mgx" in names and "click" in names  # the parse saw real output
    return names


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["config", "--help"], ["plugins", "--help"]])
def test_help_imports_neither_torch_nor_mlflow(args):
    heavy = _imported_modules(*args) & {"torch", "mlflow", "torchvision", "numpy", "scipy", "sklearn", "PIL"}
    assert not heavy, f"`mgx {' '.join(args)}` imports {sorted(heavy)}; import them inside the commands that need them"


def test_config_show_imports_neither_torch_nor_mlflow(tmp_path):
    (tmp_path / "cfg.py").write_text("a = 1\n")
    heavy = _imported_modules("config", "show", str(tmp_path / "cfg.py")) & {"torch", "mlflow"}
    assert not heavy


def test_console_script_and_python_m_agree():
    script = run_mgx("--version")
    module = subprocess.run([sys.executable, "-m", "mgx.cli", "--version"], capture_output=True, text=True,
                            timeout=60, env=mgx_env())
    assert script.returncode == module.returncode == 0
    assert script.stdout == module.stdout == f"mgx, version {__version__}\n"


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _mgx_completion mgx"),
                                           ("zsh", "compdef _mgx_completion mgx"),
                                           ("fish", "complete --no-files --command mgx")])
def test_shell_completion_script(shell, marker):
    result = run_mgx(env=mgx_env(_MGX_COMPLETE=f"{shell}_source"))
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout


def test_shell_completion_completes_commands_and_options():
    result = run_mgx(env=mgx_env(_MGX_COMPLETE="bash_complete", COMP_WORDS="mgx con", COMP_CWORD="1"))
    assert result.stdout.split() == ["plain,config"]
    result = run_mgx(env=mgx_env(_MGX_COMPLETE="bash_complete", COMP_WORDS="mgx plugins --", COMP_CWORD="2"))
    assert {"plain,--all", "plain,--json"} <= set(result.stdout.split())


def test_mgx_debug_env_var_enables_tracebacks(tmp_path):
    (tmp_path / "cfg.py").write_text("_base_ = 'missing.py'\n")
    result = run_mgx("config", "show", "cfg.py", cwd=tmp_path, env=mgx_env(MGX_DEBUG="1"))
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.parametrize("args, expected", [
    (["show", "--cfg-options", "a=1", "b=2", "c.d=[1, 2]", "cfg.py"],
     ["show", "--cfg-options", "a=1", "--cfg-options", "b=2", "--cfg-options", "c.d=[1, 2]", "cfg.py"]),
    (["--cfg-options", "a=1", "--other", "b=2"], ["--cfg-options", "a=1", "--other", "b=2"]),
    (["x=1", "--cfg-options", "a=1"], ["x=1", "--cfg-options", "a=1"]),
    (["--cfg-options", "a=1", "cfg.py", "b=2"], ["--cfg-options", "a=1", "cfg.py", "b=2"]),
])
def test_expand_cfg_options(args, expected):
    assert expand_cfg_options(args) == expected


def test_plugins_command_lists_builtins_in_text_and_json(invoke):
    import json

    result = invoke(["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    builtins = [row for row in rows if row["builtin"] and row["error"] is None]
    assert builtins, "no built-in plugin loaded"
    for row in rows:
        assert set(row) == {"name", "module", "distribution", "version", "builtin", "hooks", "components", "error",
                            "unavailable"}
    text = invoke(["plugins"]).stdout
    for row in builtins:
        assert f"{row['name']}  [mgx {row['version']}]  (built-in)" in text


def test_plugins_text_fits_the_terminal(invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # lists of 25 transforms made 384-character lines
    text = invoke(["plugins"]).stdout
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "RandomJPEGCompression" in text and "SlicedWassersteinDistance" in text

"""The README says how big the default install is and how to get CPU-only torch instead."""
from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_gives_the_install_size_and_the_cpu_only_route():
    assert "6.2 GB" in README
    cpu_line = next(line for line in README.splitlines() if "--index-url" in line)
    assert re.search(r"pip install torch torchvision --index-url https://download\.pytorch\.org/whl/cpu", cpu_line)


def test_the_default_install_line_is_unchanged():
    # .ci/run extracts the test line verbatim; the CPU route is an alternative, not the default
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && mgx run train configs/example_config.py" in README
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest" in README

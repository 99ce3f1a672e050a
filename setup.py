"""Package discovery only (metadata lives in pyproject.toml).

The repository root is the ``mgx`` package, so every sub-package found under
core/, plugins/ and cli/ is listed with an ``mgx.`` prefix; pyproject's static
``find`` cannot add that prefix.
"""
from setuptools import find_packages, setup

SUBPACKAGES = find_packages(include=["core", "core.*", "plugins", "plugins.*", "cli", "cli.*"])

setup(packages=["mgx"] + [f"mgx.{name}" for name in SUBPACKAGES])

"""Package discovery only (metadata lives in pyproject.toml).

The repository root is the ``mgx`` package, so every sub-package found under
core/, plugins/ and cli/ is listed with an ``mgx.`` prefix (pyproject's static
``find`` cannot add that prefix), and this script itself is kept out of it.
"""
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

SUBPACKAGES = find_packages(include=["core", "core.*", "plugins", "plugins.*", "cli", "cli.*"])


class BuildPyWithoutSetupScript(build_py):
    """The root folder is the mgx package: setup.py is not one of its modules."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [module for module in modules if not (package == "mgx" and module[1] == "setup")]


setup(packages=["mgx"] + [f"mgx.{name}" for name in SUBPACKAGES], cmdclass={"build_py": BuildPyWithoutSetupScript})

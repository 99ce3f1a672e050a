"""Errors that the CLI turns into one clear message and an exit code.

Raise these (not bare exceptions) for anything a user can fix: the CLI prints
``error: <message>`` without a traceback unless ``--debug`` is given.
"""


class MgxError(Exception):
    """A runtime problem: the CLI exits with code 1."""

    exit_code = 1


class ConfigError(MgxError):
    """A usage or configuration problem: the CLI exits with code 2."""

    exit_code = 2


class PluginError(MgxError):
    """A plugin broke the contract (duplicate name, bad hook implementation)."""

    exit_code = 1

"""Config files in mmengine's dialect: reading, overriding, checking and writing them back.

The names most callers need are re-exported here; each lives in the module that owns it.
"""
from mgx.core.config.dump import dump_config
from mgx.core.config.loader import Config, load_config, to_plain
from mgx.core.config.options import apply_option, parse_value

__all__ = ["Config", "apply_option", "dump_config", "load_config", "parse_value", "to_plain"]

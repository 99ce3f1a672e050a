"""MGX_PLUGINS loads importable modules as plugins without packaging them."""
from __future__ import annotations

import sys
import warnings

from mgx.core.plugins import PluginManager


def test_modules_named_in_mgx_plugins_are_loaded(tmp_path, monkeypatch):
    (tmp_path / "my_local_plugin.py").write_text(
        "from mgx.core.hookspecs import hookimpl\n"
        "class Thing:\n    pass\n"
        "@hookimpl\ndef mgx_register_models(register):\n    register(Thing, aliases=('T',))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MGX_PLUGINS", "my_local_plugin, missing_local_plugin")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = PluginManager(()).load()
    info = manager.plugins["my_local_plugin"]
    assert (info.distribution, info.builtin) == ("MGX_PLUGINS", False)
    assert manager.registry.names("model") == ["T", "Thing"]
    assert [failure.name for failure in manager.load_errors] == ["missing_local_plugin"]
    assert any("missing_local_plugin" in str(w.message) for w in caught)
    sys.modules.pop("my_local_plugin", None)

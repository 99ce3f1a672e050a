"""The weights download path: real HTTP from a local server, cache hits, hash checks, offline errors."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest

from mgx.core.errors import ConfigError, MgxError
from mgx.plugins.feature_extractors.weights import WeightsSpec, resolve_weights, sha256_of

PAYLOAD = b"fake network weights " * 1000


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server naming)
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    (root / "net.pt").write_bytes(PAYLOAD)
    handler = functools.partial(_CountingHandler, directory=str(root))
    _CountingHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _CountingHandler.requests
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MGX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MGX_OFFLINE", raising=False)
    monkeypatch.delenv("MGX_TEST_WEIGHTS", raising=False)


def _spec(url, sha=None, name="net.pt"):
    return WeightsSpec(filename=name, url=f"{url}/net.pt", sha256=sha, env_var="MGX_TEST_WEIGHTS",
                       description="test net")


@pytest.mark.timeout(60)
def test_download_then_cache_hit(server, tmp_path):
    url, requests = server
    good = hashlib.sha256(PAYLOAD).hexdigest()
    path = resolve_weights(_spec(url, good))
    assert path == tmp_path / "cache" / "weights" / "net.pt"
    assert path.read_bytes() == PAYLOAD
    assert requests == ["/net.pt"]
    assert resolve_weights(_spec(url, good)) == path
    assert requests == ["/net.pt"], "a cached file must not be downloaded again"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


@pytest.mark.timeout(60)
def test_hash_prefix_is_accepted(server):
    url, _ = server
    assert resolve_weights(_spec(url, hashlib.sha256(PAYLOAD).hexdigest()[:8])).is_file()


@pytest.mark.timeout(60)
def test_wrong_hash_is_rejected_and_nothing_is_left(server, tmp_path):
    url, _ = server
    with pytest.raises(MgxError, match="sha256") as info:
        resolve_weights(_spec(url, "0" * 64))
    assert f"{url}/net.pt" in str(info.value)
    folder = tmp_path / "cache" / "weights"
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.timeout(60)
def test_unpinned_download_records_its_hash_and_later_tampering_is_caught(server):
    url, _ = server
    path = resolve_weights(_spec(url))
    recorded = path.with_name(path.name + ".sha256")
    assert recorded.read_text().strip() == sha256_of(path)
    path.write_bytes(b"tampered")
    with pytest.raises(MgxError, match="not the expected file"):
        resolve_weights(_spec(url))


@pytest.mark.timeout(60)
def test_unreachable_server_names_file_url_and_destination(tmp_path):
    spec = _spec("http://127.0.0.1:9", "ab" * 32)  # port 9 (discard) refuses connections
    with pytest.raises(MgxError) as info:
        resolve_weights(spec)
    message = str(info.value)
    assert "net.pt" in message and "http://127.0.0.1:9/net.pt" in message
    assert str(tmp_path / "cache" / "weights" / "net.pt") in message and "MGX_TEST_WEIGHTS" in message


def test_offline_mode_refuses_to_download(server, tmp_path, monkeypatch):
    url, requests = server
    monkeypatch.setenv("MGX_OFFLINE", "1")
    with pytest.raises(MgxError, match="MGX_OFFLINE") as info:
        resolve_weights(_spec(url))
    assert str(tmp_path / "cache" / "weights" / "net.pt") in str(info.value)
    assert requests == []


def test_local_path_from_config_or_environment(tmp_path, monkeypatch):
    local = tmp_path / "mine.pt"
    local.write_bytes(PAYLOAD)
    spec = _spec("http://127.0.0.1:9")
    assert resolve_weights(spec, local) == local
    monkeypatch.setenv("MGX_TEST_WEIGHTS", str(local))
    assert resolve_weights(spec) == local
    with pytest.raises(ConfigError, match="missing.pt"):
        resolve_weights(spec, tmp_path / "missing.pt")
    with pytest.raises(MgxError, match="sha256"):
        resolve_weights(spec, local, sha256="f" * 64)


def test_real_extractor_without_weights_offline_names_the_file(monkeypatch, tmp_path):
    from mgx.plugins.feature_extractors import FIDInceptionV3, StyleGANInception

    monkeypatch.setenv("MGX_OFFLINE", "1")
    monkeypatch.delenv("MGX_INCEPTION_STYLEGAN_PATH", raising=False)
    monkeypatch.delenv("MGX_INCEPTION_PYTORCH_PATH", raising=False)
    with pytest.raises(MgxError) as info:
        StyleGANInception()
    assert "inception-2015-12-05.pt" in str(info.value) and "nvlabs-fi-cdn.nvidia.com" in str(info.value)
    assert "MGX_INCEPTION_STYLEGAN_PATH" in str(info.value)
    with pytest.raises(MgxError, match="pt_inception-2015-12-05-6726825d.pth"):
        FIDInceptionV3()

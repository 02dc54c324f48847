"""Dataset tests never touch the network or the user's caches."""
import urllib.request

import pytest

from gazelle.utils import file_utils


def _no_network(url):
    if url.startswith("file://"):
        return urllib.request.urlopen(url)
    raise AssertionError(f"A test tried to reach the network: {url}")


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Point $GAZELLE_HOME and $KERAS_HOME at empty temp folders; allow only file:// URLs."""
    monkeypatch.setenv("GAZELLE_HOME", str(tmp_path / "gazelle_home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(file_utils, "_urlopen", _no_network)
    return tmp_path

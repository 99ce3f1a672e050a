import pytest
import torch

from mgx.core.plugins import PluginManager


@pytest.fixture(autouse=True)
def model_plugins():
    """The built-in data and model plugins as the active registry, seeded, on one thread.

    One intra-op thread: these models are tiny, and on a busy 2-core machine a
    second OpenMP thread makes each small op an order of magnitude slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield PluginManager(["mgx.plugins.data", "mgx.plugins.models"]).activate()
    torch.set_num_threads(threads)

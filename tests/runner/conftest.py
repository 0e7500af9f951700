"""Runner test fixtures: the toy plugins, registered only while a module needs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import runner_plugins


@pytest.fixture(scope="module")
def plugins() -> Iterator[None]:
    """Register the ``test.*`` explainers and ``test.top_mass``; unregister afterwards.

    Workers fork from this process while the module runs, so they inherit the plugins;
    the run's pooled workers are closed when the run ends.
    """
    with runner_plugins.registered():
        yield

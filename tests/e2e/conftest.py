"""The explorer's real uvicorn server over each test module's own ``session`` fixture."""

from __future__ import annotations

import pytest

from aekit.explorer.server import ServerThread


@pytest.fixture(scope="module")
def server(session):
    with ServerThread(session) as running:
        yield running

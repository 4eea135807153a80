"""Fixtures for the server tests: an app with small, fast settings and its TestClient (lifespan running)."""

from __future__ import annotations

import pytest
from server_helpers import TestClient, make_settings

from nnplay.server.main import create_app
from nnplay.server.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings):
    """A TestClient with the lifespan running (the engine pool and the run task group live there)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def client_for():
    """``with client_for(max_sessions=1) as c:`` — a client of an app with other settings."""
    return lambda **overrides: TestClient(create_app(make_settings(**overrides)))

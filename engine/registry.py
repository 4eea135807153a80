"""The lookup helper shared by every registry (activations, losses, regularisers, ...).

Each registry is a plain module-level dict keyed by the name users see; this helper turns a bad name
into an error that lists the allowed ones, so the API, the CLI and the UI all report it the same way.
"""

from __future__ import annotations

from typing import Mapping, TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], kind: str, name: str) -> T:
    """Return ``registry[name]`` or raise ``ValueError`` naming the kind and the allowed names."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        allowed = ", ".join(registry)
        raise ValueError(f"unknown {kind} {name!r}; allowed: {allowed}") from None

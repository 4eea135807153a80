"""Trainers built from a client's config under this server's limits and default device: the one place where
engine errors about a config, its data or its weights become :class:`~nnplay.server.problems.InvalidInput`.
Live sessions (in the engine workers), scripted runs and the lesson routes all build their trainers here."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import ValidationError

from nnplay.engine import BackendError, DataSplit, Limits, Trainer

from .problems import InvalidInput, describe


def with_device(config: dict[str, Any], device: Optional[str]) -> dict[str, Any]:
    """The config with the server's default device where it names none."""
    if device and config.get("device") is None:
        return {**config, "device": device}
    return config


def build_trainer(config: dict[str, Any], limits: Limits, device: Optional[str] = None, *,
                  data: Optional[DataSplit] = None, weights: Optional[list[dict]] = None) -> Trainer:
    """A Trainer, or :class:`InvalidInput` naming the field, the value and what is allowed."""
    try:
        return Trainer(with_device(config, device), data=data, weights=weights, limits=limits)
    except ValidationError as exc:
        raise InvalidInput(describe(exc, ("config",), config_level=True)) from None
    except BackendError as exc:
        raise InvalidInput.single("device", config.get("device") or device, str(exc), "cpu") from None
    except (ValueError, KeyError, IndexError) as exc:  # data or weights that do not fit
        message = str(exc)
        if not message.split(":")[0].isidentifier():
            message = f"{'weights' if weights is not None and 'layer' in message else 'data'}: {message}"
        raise InvalidInput(describe(ValueError(message))) from None

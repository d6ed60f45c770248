"""Typed readers for GRIDGOV_* environment variables.

Each reader rejects a malformed value with a message naming the variable, so a
bad deployment fails at start-up instead of misbehaving later.
"""

from __future__ import annotations

import os


class ConfigError(RuntimeError):
    pass


def _raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank: blank means the default for
    every reader (``GRIDGOV_MEDIA_ROOT=`` in an env file must not put uploads in the
    working directory)."""
    raw = os.environ.get(name)
    return None if raw is None or not raw.strip() else raw


def env_str(name: str, default: str = "") -> str:
    raw = _raw(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool = False) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _raw(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]

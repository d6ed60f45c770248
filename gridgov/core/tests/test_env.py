"""The GRIDGOV_* readers: blank means the default for every type; a malformed value stops
start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gridgov.core.env import ConfigError, env_bool, env_int, env_list, env_str


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_variable_means_the_default_for_every_reader(monkeypatch, blank):
    monkeypatch.setenv("GRIDGOV_X", blank)
    assert env_str("GRIDGOV_X", "/srv/media") == "/srv/media"
    assert env_bool("GRIDGOV_X", True) is True
    assert env_int("GRIDGOV_X", 4) == 4
    assert env_list("GRIDGOV_X", ["a"]) == ["a"]


def test_set_values_are_read(monkeypatch):
    monkeypatch.setenv("GRIDGOV_S", "postgres://db/x")
    monkeypatch.setenv("GRIDGOV_B", " Off ")
    monkeypatch.setenv("GRIDGOV_I", "8")
    monkeypatch.setenv("GRIDGOV_L", "a.example, ,b.example")
    assert env_str("GRIDGOV_S") == "postgres://db/x"
    assert env_bool("GRIDGOV_B", True) is False
    assert env_int("GRIDGOV_I", 1, minimum=1) == 8
    assert env_list("GRIDGOV_L", []) == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env_bool("GRIDGOV_V"), "maybe", "GRIDGOV_V must be true or false"),
        (lambda: env_int("GRIDGOV_V", 1), "four", "GRIDGOV_V must be a whole number"),
        (lambda: env_int("GRIDGOV_V", 1, minimum=1), "0", "GRIDGOV_V must be at least 1"),
    ],
)
def test_a_malformed_value_names_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("GRIDGOV_V", raw)
    with pytest.raises(ConfigError, match=message):
        reader()


def test_documented_variables_reach_the_settings():
    # Read in a fresh interpreter: settings are read once, at start-up.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gridgov.settings",
        "GRIDGOV_RATE_TRUST_FORWARDED": "true",
        "GRIDGOV_APIKEY_CACHE_SECONDS": "0",
    }
    script = (
        "from django.conf import settings;"
        "print(settings.GRIDGOV_RATE_TRUST_FORWARDED, settings.GRIDGOV_APIKEY_CACHE_SECONDS)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "0"]

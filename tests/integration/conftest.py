"""pytest fixtures shared by the integration tests (sensor path, corpus location)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tipoff_harness as h  # noqa: E402


@pytest.fixture(scope="session")
def sensor():
    p = h.sensor_path()
    if p is None:
        pytest.skip("TIPOFF_SENSOR is not set to an executable tipoff-sensor "
                    "(ctest sets it; by hand: TIPOFF_SENSOR=<build>/sensor/tipoff-sensor)")
    return p


@pytest.fixture(scope="session")
def corpus():
    if not h.have_corpus():
        pytest.skip("shared corpus not found at %s (set TIPOFF_CORPUS): corpus-wide test skipped"
                    % h.CORPUS_PCAPS)
    return h.CORPUS_PCAPS


@pytest.fixture(scope="session")
def tshark():
    if not h.have_tool("tshark"):
        pytest.skip("tshark is not installed (Debian 12: apt-get install tshark)")
    return "tshark"

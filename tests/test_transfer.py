"""rg.to: moving arrays, Params and models between backends."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import rulegrad as rg
from rulegrad import plugins
from rulegrad.transfer import to


class Remote:
    """An array living on a pretend device: only a copy of the host array."""

    def __init__(self, a: Any) -> None:
        self.a = np.array(a)


class RemoteBackend(plugins.Backend):
    """A backend whose arrays are `Remote`, to test moves without a GPU."""

    name, modules = "remote", ("numpy",)

    def array_types(self) -> tuple[type, ...]:
        return (Remote,)

    def from_host(self, a: Any) -> Any:
        return Remote(a)

    def to_host(self, a: Any) -> Any:
        return a.a.copy()


@pytest.fixture(scope="module")
def remote() -> Any:
    """The remote backend, registered for these tests only."""
    import types

    plugin = types.SimpleNamespace(
        rulegrad_register_backends=plugins.hookimpl(lambda: [RemoteBackend()])
    )
    assert plugins.register(plugin, name="remote-backend").ok
    yield "remote"
    plugins.load(reload=True)


class Layer:
    def __init__(self) -> None:
        self.w = rg.Param(np.ones((2, 3), np.float32))
        self.b = rg.Param(np.zeros(2))
        self.name = "dense"
        self.act = np.tanh


def test_moves_nested_structures_there_and_back(remote: str) -> None:
    """Lists, tuples, dicts and objects are walked; non-arrays are left alone."""
    model = {"layers": [Layer(), Layer()], "scale": 2.0, "data": (np.arange(3.0), "x")}
    moved = to(model, remote)
    layer = moved["layers"][0]
    assert isinstance(layer.w.value, Remote) and isinstance(moved["data"][0], Remote)
    assert moved["scale"] == 2.0 and moved["data"][1] == "x" and layer.act is np.tanh
    back = to(moved, "cpu")
    assert back["layers"][0].w.value.dtype == np.float32
    assert np.array_equal(back["data"][0], np.arange(3.0))


def test_params_and_objects_move_in_place(remote: str) -> None:
    """The same Param and layer objects come back, so optimizers keyed by them still work."""
    layer = Layer()
    w = layer.w
    assert to(layer, remote) is layer and layer.w is w and isinstance(w.value, Remote)
    assert to(w, "cpu") is w and isinstance(w.value, np.ndarray)


def test_shared_arrays_move_once(remote: str) -> None:
    """An array reached twice is one array on the device too."""
    a = np.ones(3)
    moved = to([a, {"again": a}], remote)
    assert moved[0] is moved[1]["again"]


def test_cycles_are_fine(remote: str) -> None:
    """An object pointing back at itself is moved once."""
    layer = Layer()
    layer.parent = layer
    assert to(layer, remote).parent is layer


def test_arrays_already_there_are_kept() -> None:
    """Moving numpy arrays to the cpu returns them as they are."""
    a = np.ones(2)
    assert to(a, "cpu") is a
    assert to(copy.deepcopy([1, "s", None]), "cpu") == [1, "s", None]


def test_unknown_and_unavailable_backends_say_why() -> None:
    """A backend that is not registered, or cannot run, raises with the reason."""
    with pytest.raises(plugins.BackendUnavailableError, match="no backend is called 'tpu'"):
        to(np.ones(2), "tpu")
    gpu = plugins.load().backends["gpu"]
    if not gpu.available:
        with pytest.raises(plugins.BackendUnavailableError, match="backend 'gpu' is unavailable"):
            to(np.ones(2), "gpu")


def test_recorded_values_cannot_be_moved() -> None:
    """Inside rg.diff a moved value would leave the tape: an error says to move first."""
    w = rg.Param(np.ones(2))
    with pytest.raises(TypeError, match="move the Params and data before"):
        rg.diff(lambda: to(w * 2, "cpu"))

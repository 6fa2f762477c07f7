"""Tests for rulegrad/checkpoint.py: rg.save and rg.load of models and optimizer state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rulegrad as rg
from rulegrad.checkpoint import CheckpointError
from rulegrad.optim import SGD, Adam, Momentum, optimizers, update


class Linear:
    """A user class holding Params, as models are written."""

    def __init__(self, n_in: int, n_out: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rg.Param(rng.standard_normal((n_in, n_out)))
        self.b = rg.Param(np.zeros(n_out))
        self.name = "linear"


def test_nested_structure_round_trips(tmp_path: Path):
    """Lists, tuples, dicts, Params, arrays and numbers come back in the same structure."""
    w = rg.Param(np.arange(6.0).reshape(2, 3))
    obj = {"layers": [w, (rg.Param(np.float32(2.0)), np.arange(3))], "lr": 0.5, 3: "three"}
    rg.save(tmp_path / "m.npz", obj)
    got = rg.load(tmp_path / "m.npz")
    assert list(got) == ["layers", "lr", 3] and got["lr"] == 0.5 and got[3] == "three"
    assert isinstance(got["layers"], list) and isinstance(got["layers"][1], tuple)
    assert isinstance(got["layers"][0], rg.Param)
    np.testing.assert_array_equal(got["layers"][0].value, w.value)
    scalar = got["layers"][1][0]
    assert isinstance(scalar, rg.Param) and scalar.value.dtype == np.float32
    assert scalar.value.shape == ()
    assert type(got["layers"][1][1]) is np.ndarray and got["layers"][1][1].tolist() == [0, 1, 2]


def test_shared_param_stays_shared(tmp_path: Path):
    """A Param reached twice is saved once and loaded back as one object (tied weights)."""
    w = rg.Param(np.ones(2))
    rg.save(tmp_path / "m.npz", [w, {"again": w}])
    got = rg.load(tmp_path / "m.npz")
    assert got[0] is got[1]["again"]
    with np.load(tmp_path / "m.npz") as f:
        assert len([n for n in f.files if n != "index"]) == 1


def test_file_is_arrays_and_json_without_pickle(tmp_path: Path):
    """The .npz holds plain arrays and one JSON index; np.load with allow_pickle=False reads it."""
    rg.save(tmp_path / "m.npz", {"model": Linear(3, 2), "opt": Adam(lr=0.1)})
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        index = json.loads(str(f["index"]))
        assert all(f[n].dtype != object for n in f.files)
    assert index["format"] == "rulegrad-checkpoint" and index["version"] == 1
    assert zipfile.is_zipfile(tmp_path / "m.npz")


def test_object_loads_as_namespace_or_into_instance(tmp_path: Path):
    """Without `into` a user object comes back as a namespace of its fields; with it, in place."""
    model = Linear(3, 2, seed=1)
    rg.save(tmp_path / "m.npz", model)
    ns = rg.load(tmp_path / "m.npz")
    assert ns.name == "linear" and isinstance(ns.w, rg.Param)
    np.testing.assert_array_equal(ns.w.value, model.w.value)
    fresh = Linear(3, 2, seed=2)
    w_before = fresh.w
    assert rg.load(tmp_path / "m.npz", into=fresh) is fresh
    assert fresh.w is w_before  # the same Param, refilled
    np.testing.assert_array_equal(fresh.w.value, model.w.value)


def test_load_into_checks_shapes_and_structure(tmp_path: Path):
    """Loading into a model of another shape or structure names the place and both shapes."""
    rg.save(tmp_path / "m.npz", {"w": rg.Param(np.ones((2, 3)))})
    with pytest.raises(CheckpointError, match=r"\['w'\].*shape \(2, 3\).*\(3, 2\)"):
        rg.load(tmp_path / "m.npz", into={"w": rg.Param(np.ones((3, 2)))})
    with pytest.raises(CheckpointError, match="key 'w'"):
        rg.load(tmp_path / "m.npz", into={"v": rg.Param(np.ones((2, 3)))})
    assert issubclass(CheckpointError, rg.RulegradError)


def test_unsupported_value_is_refused_with_place(tmp_path: Path):
    """A value that is not data (a function, say) is refused, naming where it is; no file."""
    with pytest.raises(CheckpointError, match=r"\['f'\].*function"):
        rg.save(tmp_path / "m.npz", {"f": lambda x: x, "w": rg.Param(np.ones(1))})
    assert not (tmp_path / "m.npz").exists()


def test_optimizer_state_follows_its_params(tmp_path: Path):
    """Momentum's velocity is saved with the Params it belongs to and reattached on load."""
    model = [rg.Param(np.ones(2)), rg.Param(np.zeros(3))]
    opt = Momentum(lr=0.1, gamma=0.5)
    update(model, [np.ones(2), np.ones(3)], opt)
    rg.save(tmp_path / "c.npz", {"model": model, "opt": opt})
    got = rg.load(tmp_path / "c.npz")
    opt2 = got["opt"]
    assert type(opt2) is Momentum and (opt2.lr, opt2.gamma) == (0.1, 0.5)
    states = {id(w): s for w, s in opt2.states()}
    assert set(states) == {id(p) for p in got["model"]}
    np.testing.assert_array_equal(states[id(got["model"][0])]["v"], [-0.1, -0.1])


def test_attached_per_param_optimizers(tmp_path: Path):
    """`optimizers(..., attach=True)` state travels in each Param's `.opt`."""
    model = {"w": rg.Param(np.ones(2))}
    optimizers(model, Adam, lr=0.1, attach=True)
    update(model, {"w": np.array([1.0, -1.0])})
    rg.save(tmp_path / "c.npz", model)
    got = rg.load(tmp_path / "c.npz")
    ((w, s),) = got["w"].opt.states()
    assert w is got["w"] and s["t"] == 1


def test_optimizer_state_of_unsaved_param_is_refused(tmp_path: Path):
    """Saving an optimizer without the Params it holds state for says to save them together."""
    w = rg.Param(np.ones(2))
    opt = Adam()
    opt.step(w, np.ones(2))
    with pytest.raises(CheckpointError, match="save the model and the optimizer together"):
        rg.save(tmp_path / "c.npz", opt)
    rg.save(tmp_path / "h.npz", Adam(lr=0.2))  # no state: the hyperparameters alone are fine
    assert rg.load(tmp_path / "h.npz").lr == 0.2


def test_not_a_checkpoint(tmp_path: Path):
    """An .npz that rg.save did not write is refused with a clear message."""
    np.savez(tmp_path / "x.npz", a=np.ones(2))
    with pytest.raises(CheckpointError, match="not a rulegrad checkpoint"):
        rg.load(tmp_path / "x.npz")


def test_gradients_through_loaded_params(tmp_path: Path):
    """Loaded Params are ordinary Params: rg.diff tracks them (checked numerically)."""
    rg.save(tmp_path / "m.npz", [rg.Param(np.array([0.3, -0.7]))])
    (w,) = rg.load(tmp_path / "m.npz")
    J = rg.diff(lambda: np.sum(np.sin(w) * w))
    g = rg.grad(J, w)
    h = 1e-6
    numeric = [
        (np.sum(np.sin(w.value + e) * (w.value + e)) - np.sum(np.sin(w.value - e) * (w.value - e)))
        / (2 * h)
        for e in np.eye(2) * h
    ]
    np.testing.assert_allclose(g, numeric, rtol=1e-7)


TRAIN = textwrap.dedent(
    """
    import sys
    import numpy as np
    import rulegrad as rg
    from rulegrad.optim import Adam

    class MLP:
        def __init__(self):
            rng = np.random.default_rng(0)
            self.layers = [
                {"w": rg.Param(rng.standard_normal((4, 8))), "b": rg.Param(np.zeros(8))},
                {"w": rg.Param(rng.standard_normal((8, 1))), "b": rg.Param(np.zeros(1))},
            ]

    def loss(model, x, y):
        h = np.tanh(x @ model.layers[0]["w"] + model.layers[0]["b"])
        return np.mean((h @ model.layers[1]["w"] + model.layers[1]["b"] - y) ** 2)

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))

    def step(model, opt):
        J = rg.diff(loss, model, x, y)
        for p in rg.params(model):
            opt.step(p, rg.grad(J, p))

    model, opt = MLP(), Adam(lr=0.01)
    if sys.argv[1] == "save":
        for _ in range(3):
            step(model, opt)
        rg.save(sys.argv[2], {"model": model, "opt": opt})
    else:
        rg.load(sys.argv[2], into={"model": model, "opt": opt})
    step(model, opt)
    np.save(sys.argv[3], np.concatenate([p.value.ravel() for p in rg.params(model)]))
    """
)


def test_resume_in_new_process_takes_identical_step(tmp_path: Path):
    """Train 3 Adam steps, save, load into a fresh process: the 4th step is bit for bit the same."""
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    ckpt = tmp_path / "ckpt.npz"
    for mode, out in (("save", "a.npy"), ("load", "b.npy")):
        subprocess.run(
            [sys.executable, str(script), mode, str(ckpt), str(tmp_path / out)],
            check=True,
            cwd=tmp_path,
        )
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    np.testing.assert_array_equal(a, b)


def test_save_takes_sgd_and_load_accepts_str_path(tmp_path: Path):
    """An SGD (stateless) saves and loads by a str path; the suffix .npz is kept as given."""
    path = str(tmp_path / "opt.npz")
    rg.save(path, SGD(lr=0.3, gclip=2.0))
    opt = rg.load(path)
    assert (type(opt), opt.lr, opt.gclip) == (SGD, 0.3, 2.0)


def test_cycles_and_shared_containers_round_trip(tmp_path: Path):
    """An object pointing back to its parent (a cycle) is saved once and comes back as one."""
    parent = {"w": rg.Param(np.ones(1)), "children": []}
    parent["children"].append({"parent": parent})
    rg.save(tmp_path / "m.npz", parent)
    got = rg.load(tmp_path / "m.npz")
    assert got["children"][0]["parent"] is got
    fresh = {"w": rg.Param(np.zeros(1)), "children": []}
    fresh["children"].append({"parent": fresh})
    rg.load(tmp_path / "m.npz", into=fresh)
    assert fresh["w"].value.tolist() == [1.0]


def test_failed_save_keeps_the_old_file(tmp_path: Path):
    """A save that fails leaves an existing checkpoint as it was, and no temporary file."""
    path = tmp_path / "m.npz"
    rg.save(path, [rg.Param(np.ones(2))])
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"obj\[0\]: an array of Python objects"):
        rg.save(path, [np.array([None, 1], dtype=object)])
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]

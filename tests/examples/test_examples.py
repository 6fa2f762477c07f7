"""The Knet tutorial's examples train on the real data in ../shared/data and learn.

The fast tests train briefly (a few seconds each); the ``slow`` ones are the tutorial's full
runs (deselect them with ``-m "not slow"``). Every test skips, saying why, when its data is
not in the shared data folder: tests never download.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import rulegrad as rg
from rulegrad.data import find_shared_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHARED = find_shared_data()
NAMES = ["housing", "mnist_softmax", "mnist_mlp", "autoencoder", "lenet", "charlm"]
sys.path.insert(0, str(EXAMPLES))  # the examples import their shared helpers from _common.py


def needs(folder: str) -> pytest.MarkDecorator:
    """Skip unless ``shared/data/<folder>`` exists."""
    return pytest.mark.skipif(
        SHARED is None or not (SHARED / folder).is_dir(),
        reason=f"real data not found: no {folder}/ in ../shared/data (see its README); "
        "the tests never download (tests/conftest.py sets RULEGRAD_OFFLINE)",
    )


def example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _data_from_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the shared data folder even if RULEGRAD_DATA points elsewhere."""
    if SHARED is not None:
        monkeypatch.setenv("RULEGRAD_DATA", str(SHARED))


@pytest.fixture(params=[False, True], ids=["diff", "jit"])
def jit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The example's ``--jit`` flag, or none; with it, asserts that the step was replayed
    (not run with diff: the example's loss is replayable) once the example has run."""
    if not request.param:
        yield []
        return
    made = []
    real = rg.jit
    monkeypatch.setattr(rg, "jit", lambda f: made.append(real(f)) or made[-1])
    yield ["--jit"]
    assert len(made) == 1 and made[0].programs
    assert all(p is not None for p in made[0].programs.values()), made[0]


# ---- fast: a few seconds each ----
@needs("housing")
def test_housing_reproduces_knet(jit: list[str]) -> None:
    """Ten steps with lr 0.1 take the loss from about 366 (after step 1) to about 30."""
    got = example("housing").main(jit)
    assert got["losses"][0] == pytest.approx(366, rel=0.05)
    assert got["losses"][-1] == pytest.approx(30, rel=0.1)
    assert got["losses"][-1] < 0.1 * got["start"]


@needs("mnist")
def test_softmax_one_epoch(jit: list[str]) -> None:
    """One epoch of softmax regression reaches 0.90 test accuracy."""
    got = example("mnist_softmax").main(["--epochs", "1", *jit])
    assert got["losses"][0] < 0.5 * got["start"]
    assert got["test_acc"][-1] >= 0.90


@needs("mnist")
def test_mlp_one_epoch(jit: list[str]) -> None:
    """One epoch of the 784-64-10 MLP reaches 0.90 test accuracy."""
    got = example("mnist_mlp").main(["--epochs", "1", *jit])
    assert got["losses"][0] < 0.5 * got["start"]
    assert got["test_acc"][-1] >= 0.90


@needs("mnist")
def test_autoencoder_brief(jit: list[str]) -> None:
    """A short run of the sigmoid autoencoder (Adam) cuts the reconstruction error well down."""
    got = example("autoencoder").main(
        ["--epochs", "1", "--train-size", "5000", "--test-size", "2000", *jit]
    )
    assert got["test"][-1] < 0.5 * got["start"]


@needs("mnist")
def test_lenet_brief(jit: list[str]) -> None:
    """A short run of LeNet on 1000 images brings the loss well below its start."""
    args = "--epochs 1 --train-size 1000 --test-size 500 --batch 25 --lr 0.05"
    got = example("lenet").main(args.split() + jit)
    assert got["losses"][-1] < 0.7 * got["start"]  # about 2.6 -> 1.15
    assert got["test_acc"][-1] > 0.6


@needs("text")
@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
def test_charlm_trains_saves_loads_and_writes(tmp_path: Path, fused: bool) -> None:
    """A small CharLM learns, is saved and loaded back, and generates text from the vocabulary."""
    path = tmp_path / "charlm.npz"
    args = ["--epochs", "8", "--embed", "16", "--hidden", "32", "--seqlen", "20", "--batch", "32",
            "--windows", "8", "--lr", "0.03", "--generate", "80", "--save", str(path)]  # fmt: skip
    got = example("charlm").main(args + (["--fused"] if fused else []))
    assert got["losses"][-1] < 0.75 * got["losses"][0]  # about 3.6 -> 2.3 nats per character
    assert path.is_file() and len(got["text"]) == 80
    module = example("charlm")
    model, vocab = module.load(str(path))
    assert set(got["text"]) <= set(vocab.chars) and model["w"].shape == (16 + 32, 4 * 32)


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty data folder and no downloads: an example that loads data fails at once."""
    monkeypatch.setenv("RULEGRAD_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("RULEGRAD_OFFLINE", "1")


@pytest.mark.parametrize("name", NAMES)
def test_gpu_flag_without_cupy_exits_2_before_data(name: str, no_data: None, capsys) -> None:
    """--gpu without cupy exits with status 2 and says why, before looking for any data."""
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("cupy is installed: --gpu would run")
    with pytest.raises(SystemExit) as info:
        example(name).main(["--gpu"])
    assert info.value.code == 2 and "cupy not available" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_plot_without_matplotlib_exits_2_before_data(
    name: str, no_data: None, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """--plot without matplotlib exits with status 2 and says so, before any training."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(SystemExit) as info:
        example(name).main(["--plot", "curves.png"])
    assert info.value.code == 2 and "pip install matplotlib" in capsys.readouterr().err


def test_plot_history_draws_loss_and_accuracy_apart(tmp_path: Path) -> None:
    """The plot has loss and accuracy on separate axes, epoch 0 included, integer ticks,
    axis labels and a title, and is saved as a PNG."""
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from _common import plot_history

    path = tmp_path / "curves.png"
    fig = plot_history(
        path,
        title="MLP on MNIST",
        losses={"training loss": [None, 0.5, 0.3, 0.2], "test loss": [2.3, 0.4, 0.3, 0.25]},
        accuracies={"test accuracy": [0.1, 0.9, 0.93, 0.95]},
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loss_ax, acc_ax = fig.axes
    assert fig._suptitle.get_text() == "MLP on MNIST"
    assert (loss_ax.get_ylabel(), acc_ax.get_ylabel(), acc_ax.get_xlabel()) == (
        "loss",
        "accuracy",
        "epoch",
    )
    assert [line.get_xdata().tolist() for line in loss_ax.lines] == [[1, 2, 3], [0, 1, 2, 3]]
    assert acc_ax.lines[0].get_xdata().tolist() == [0, 1, 2, 3]
    ticks = [t for t in acc_ax.get_xticks() if 0 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)


@needs("housing")
def test_housing_plot_starts_at_step_0(tmp_path: Path) -> None:
    """housing.py --plot saves a PNG whose loss curve starts before the first step."""
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    path = tmp_path / "loss.png"
    got = example("housing").main(["--steps", "3", "--plot", str(path)])
    assert (
        path.read_bytes()[:4] == b"\x89PNG" and got["figure"].axes[0].lines[0].get_xdata()[0] == 0
    )


# ---- slow: the tutorial's full runs ----
@pytest.mark.slow
@needs("mnist")
def test_softmax_ten_epochs_reaches_092() -> None:
    """Ten epochs (lr 0.5, batch 100) reach about 0.92, as in the Knet tutorial."""
    got = example("mnist_softmax").main([])
    assert got["test_acc"][-1] >= 0.915


@pytest.mark.slow
@needs("mnist")
def test_mlp_ten_epochs_reaches_097() -> None:
    """Ten epochs of the 64-hidden MLP reach about 0.973."""
    got = example("mnist_mlp").main([])
    assert got["test_acc"][-1] >= 0.97


@pytest.mark.slow
@needs("mnist")
def test_lenet_one_epoch_reaches_098() -> None:
    """One full epoch of LeNet passes 0.98 (three epochs reach about 0.988)."""
    got = example("lenet").main(["--epochs", "1"])
    assert got["test_acc"][-1] >= 0.98


@pytest.mark.slow
@needs("text")
def test_charlm_full_size_learns() -> None:
    """Two epochs of the full-size fused CharLM (256/256, 128 x 100) cut the loss well down."""
    got = example("charlm").main(["--epochs", "2", "--fused", "--generate", "200"])
    assert got["losses"][-1] < 0.85 * got["losses"][0]

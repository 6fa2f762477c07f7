"""What an installed rulegrad declares (license, extras, typing), and that CI runs the README.

The metadata is read from the installed distribution (``importlib.metadata``), so these
tests check what pip built from pyproject.toml, not the file's text.
"""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requires(extra: str) -> set[str]:
    """The requirement names an extra adds (``rulegrad[x]`` self-references followed)."""
    dist = distribution("rulegrad")
    names: set[str] = set()
    for req in dist.requires or []:
        if f'extra == "{extra}"' not in req:
            continue
        name = re.split(r"[ ;<>=!~\[]", req, maxsplit=1)[0]
        nested = re.search(r"\[([^\]]+)\]", req.split(";")[0])
        if name == "rulegrad" and nested:
            for sub in nested.group(1).split(","):
                names |= _requires(sub.strip())
        else:
            names.add(name)
    return names


def test_license_is_an_spdx_expression_with_its_file() -> None:
    """The license is declared as the SPDX expression MIT and its text ships as LICENSE."""
    meta = distribution("rulegrad").metadata
    assert meta["License-Expression"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the rulegrad authors" in text


def test_typed_and_classified() -> None:
    """The package says it is typed (py.typed) and has classifiers."""
    import rulegrad

    assert (Path(rulegrad.__file__).parent / "py.typed").is_file()
    meta = distribution("rulegrad").metadata
    assert "Typing :: Typed" in meta.get_all("Classifier")


def test_extras() -> None:
    """test pulls no linter and dev does; one GPU extra per CUDA major and no other."""
    extras = set(distribution("rulegrad").metadata.get_all("Provides-Extra"))
    assert {"test", "dev", "check", "bench", "plot", "cuda12", "cuda13"} <= extras
    assert "gpu" not in extras
    assert "ruff" not in _requires("test") and "ruff" in _requires("dev")
    assert {"pytest", "hypothesis"} <= _requires("test") <= _requires("dev")
    assert _requires("cuda12") == {"cupy-cuda12x"} and _requires("cuda13") == {"cupy-cuda13x"}
    assert {"mpi4py", "mpich"} == _requires("mpi") <= _requires("test")  # the MPI tests run
    assert {"scipy", "mpmath"} <= _requires("test")  # the scipy rules and their references


def test_gpu_extra_named_the_same_everywhere() -> None:
    """Docs, examples and messages name the cuda12/cuda13 extras, never a `gpu` extra."""
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("examples/*.py")]
    files += [p for p in (ROOT / "rulegrad").rglob("*.py")]
    wrong = [str(p.relative_to(ROOT)) for p in files if "rulegrad[gpu]" in p.read_text()]
    assert wrong == []


def _commands(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("python3 -m venv")]


def test_ci_runs_the_readmes_test_command_and_nothing_else() -> None:
    """.ci/run's one command is the README's test command, character for character."""
    readme = _commands((ROOT / "README.md").read_text())
    ci = (ROOT / ".ci" / "run").read_text()
    steps = [
        line
        for line in ci.splitlines()
        if line.strip() and not line.startswith("#")
        and not line.startswith(("set -", "cd ", "export CI"))
    ]  # fmt: skip
    assert len(readme) == 2 and steps == [readme[1]]
    assert "pytest" in readme[1] and "demo" in readme[0]

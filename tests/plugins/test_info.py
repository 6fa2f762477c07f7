"""``rulegrad info``: backends, plugins with rule counts and errors, primitives by type."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rulegrad import plugins
from rulegrad.cli import main as cli
from rulegrad.plugins.info import main, report


def test_lists_backends_with_availability_and_reason() -> None:
    """Each backend is shown available, or unavailable with the reason."""
    text = report(("backends",))
    assert "cpu  available    numpy" in text
    gpu = next(line for line in text.splitlines() if line.lstrip().startswith("gpu"))
    assert ("available" in gpu and "cupy" in gpu) or "unavailable" in gpu


def test_lists_plugins_with_method_counts() -> None:
    """The cpu plugin is credited with its 7 conv4/pool/unpool kernels."""
    text = report(("plugins",))
    line = next(x for x in text.splitlines() if x.lstrip().startswith("cpu "))
    assert "rulegrad.backends.cpu" in line and "7 methods, backends: cpu" in line


def test_lists_primitives_with_methods_per_type() -> None:
    """conv4 has a generic method and an ndarray method credited to the cpu plugin."""
    lines = report(("primitives",)).splitlines()
    i = next(i for i, x in enumerate(lines) if x.split()[:1] == ["conv4"])
    assert "object, object" in lines[i] and "rulegrad.rules.conv" in lines[i]
    assert "ndarray, ndarray" in lines[i + 1] and "[plugin cpu]" in lines[i + 1]
    assert any("np.sign" in x and "(no gradient)" in x for x in lines)


def test_shows_load_errors(install, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken plugin appears as FAILED with its error, and info still exits 0."""
    install("throwaway_info", "raise ImportError('needs libfoo')\n")
    with pytest.warns(plugins.PluginWarning):
        plugins.load(reload=True)
    assert main(["--only", "plugins"]) == 0
    out = capsys.readouterr().out
    assert "throwaway_info" in out and "FAILED: ImportError: needs libfoo" in out
    assert "1 plugin(s) failed to load" in out


def test_strict_mode_exits_1(install) -> None:
    """In strict mode a broken plugin makes `rulegrad info` exit 1 with the error."""
    site = install("throwaway_info_strict", "raise ImportError('needs libbar')\n")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{root}", plugins.STRICT_ENV: "1"}
    run = subprocess.run(
        [sys.executable, "-m", "rulegrad", "info", "--only", "plugins"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert run.returncode == 1
    assert "throwaway_info_strict" in run.stderr and "needs libbar" in run.stderr


def test_reached_from_the_rulegrad_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`rulegrad info` dispatches to rulegrad.plugins.info.main."""
    assert cli(["info", "--only", "backends"]) == 0
    assert "Backends:" in capsys.readouterr().out


def test_a_plugin_calling_sys_exit_does_not_end_info(
    install, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin that calls sys.exit() is listed as FAILED; `rulegrad info` carries on."""
    install("throwaway_info_exit", "import sys\nsys.exit('no thanks')\n")
    with pytest.warns(plugins.PluginWarning):
        plugins.load(reload=True)
    assert main(["--only", "plugins"]) == 0
    assert "FAILED: SystemExit: no thanks" in capsys.readouterr().out


def test_primitives_say_native_or_derived_forward_rules(scratch_registry: None) -> None:
    """Each method's line says whether forward mode has native rules for it (np.sin, a
    primitive given jvp=) or derives its jvp from the reverse rules; a count line totals them."""
    import rulegrad as rg

    @rg.primitive(lambda dy, y, x: dy, jvp=lambda dx, y, x: dx)
    def scratch_info_native(x):
        return x

    @rg.primitive(lambda dy, y, x: dy)
    def scratch_info_derived(x):
        return x

    lines = report(("primitives",)).splitlines()
    line = {x.split()[0]: x.split() for x in lines if x.startswith("  ") and x.split()}
    assert line["np.sin"][2] == "native"
    assert line[scratch_info_native.name][2] == "native"
    assert line[scratch_info_derived.name][2] == "derived"
    count = next(x for x in lines if x.startswith("Forward mode:"))
    assert "methods with native forward rules" in count and "derived" in count

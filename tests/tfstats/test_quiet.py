"""Quiet by default: a fresh process that imports tfstats and fits prints nothing on
stderr (no TensorFlow C++ logging, CUDA probe or retracing notice); errors still show, and
TFSTATS_VERBOSE=1 lets everything through."""

from __future__ import annotations

import os

import pytest

from tests.tfstats.fitted import fresh_process
from tfstats import quiet


def test_importing_and_fitting_print_nothing() -> None:
    # the fresh process imports tfstats, loads a fit, simulates, continues the chains and
    # compiles six functions in a row (TensorFlow's retracing notice)
    stderr = fresh_process()["stderr"]
    assert stderr.strip() == "", stderr[-2000:]


def _write_native(text: str) -> None:
    os.write(2, text.encode())


def test_errors_are_written_back_and_noise_dropped(capfd: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TFSTATS_VERBOSE", raising=False)
    with quiet.native_output():
        _write_native("I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\n"
                      "E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: x\n"
                      "E0000 00:00:1.0 1 kernel.cc:1] a real failure\n")
    err = capfd.readouterr().err
    assert "a real failure" in err and "oneDNN" not in err and "cuInit" not in err


def test_verbose_lets_everything_through(capfd: pytest.CaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFSTATS_VERBOSE", "1")
    with quiet.native_output():
        _write_native("I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\n")
    assert "oneDNN" in capfd.readouterr().err


@pytest.mark.parametrize("verbose", ["", "1"])
def test_announcements_of_imported_libraries_are_dropped_unless_verbose(
        tmp_path, monkeypatch: pytest.MonkeyPatch, verbose: str) -> None:
    name = f"announcing_{verbose or 'quiet'}"
    (tmp_path / f"{name}.py").write_text(
        "import warnings\n"
        "warnings.warn('\\nArviZ is undergoing a major refactor ...', FutureWarning)\n"
        "warnings.warn('a real problem', FutureWarning)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TFSTATS_VERBOSE", verbose)
    with pytest.warns(FutureWarning) as record:
        quiet.import_without_notices(name)
    messages = [str(w.message) for w in record]
    assert "a real problem" in messages
    assert any("ArviZ" in m for m in messages) == bool(verbose), messages

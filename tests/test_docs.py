"""The code in the README and docs runs as written (MCMC and VI settings shrunk for
speed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tfstats as ts

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["docs/model-language.md", "docs/inference.md", "docs/backends.md", "docs/formulas.md",
         "docs/variational.md", "docs/tracking.md"]


def _blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def _shrink(code: str) -> str:
    code = re.sub(r"n_samples=\d+, warmup=\d+", "n_samples=100, warmup=100", code)
    # ts.vi: three of its 100-step chunks, so the convergence rule and the average over
    # the last steps still run (the pages' fits are not checked here, only run)
    return re.sub(r"steps=\d[\d_]*", "steps=300", code)


@pytest.mark.parametrize("page", PAGES)
def test_doc_page_code_runs(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    blocks = _blocks(ROOT / page)
    assert blocks, f"{page} has no python examples"
    before = ts.backend_name()  # docs/backends.md switches backends
    try:
        for block in blocks:
            exec(compile(_shrink(block), page, "exec"), namespace)  # noqa: S102
    finally:
        ts.set_backend(before)


def test_readme_example_runs_and_is_right() -> None:
    block, *others = _blocks(ROOT / "README.md")
    namespace: dict = {}
    code = block.replace("print(draws.summary())", "table = draws.summary()")
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    pages = {block for page in PAGES for block in _blocks(ROOT / page)}
    for other in others:  # the later snippets run too (here, or as a copy of a docs block)
        if other not in pages:
            exec(compile(_shrink(other), "README.md", "exec"), {})  # noqa: S102
    table = namespace["table"]
    # eight schools reference posterior (posteriordb): mu 4.4 (sd 3.3), tau 3.6 (sd 3.2)
    assert abs(table.loc["mu", "mean"] - 4.41) < 5 * table.loc["mu", "mcse_mean"] + 0.05
    assert abs(table.loc["tau", "mean"] - 3.60) < 5 * table.loc["tau", "mcse_mean"] + 0.05
    assert table["r_hat"].max() < 1.01

"""Every module opens with a two-line docstring: what it is, then the capability it belongs to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "provisioner"
# The folder a module lives in → the capability its docstring's second line must name.
CAPABILITY = {
    "cli": "CLI",
    "engine": "Engine",
    "local": "Local runs",
    "adopt": "Adopt",
    "sandbox": "Sandbox",
    "providers/auth0": "Provider auth0",
    "providers/cognito": "Provider cognito",
    "providers": "Providers",
}
LONG = 800  # lines: a module this long says why in its docstring ("Why one module: …" / "… 800 lines …")
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _capability(path: Path) -> str:
    folder = path.parent.relative_to(PACKAGE).as_posix()
    while folder and folder not in CAPABILITY:
        folder = folder.rpartition("/")[0]
    return CAPABILITY.get(folder, "hookctl")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_module__opens_with_what_it_is_then_its_capability(path: Path) -> None:
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring, f"{path.name}: no module docstring"
    lines = docstring.strip("\n").splitlines()
    assert len(lines) >= 2 and lines[0].strip() and lines[1].strip(), f"{path.name}: needs two lines"
    assert lines[1].startswith(f"{_capability(path)}:"), f"{path.name}: line 2 should start '{_capability(path)}:'"
    if source.count("\n") > LONG:
        assert re.search(r"Why one module:|800 lines", docstring), f"{path.name} is over {LONG} lines: say why"

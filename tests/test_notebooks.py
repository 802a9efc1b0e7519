"""Every teaching notebook runs top to bottom without an error, at its CI setting, and is kept without outputs.

The CI setting: the suite sets CHATVLA2_NOTEBOOK_CI=1, and each notebook's parameters cell (the first code cell,
tagged "parameters") takes its small values when it is set (a few questions, a short step budget, a few training
steps). On the 2-core CI machine each notebook runs in under 3 minutes at that setting.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
CI_VARIABLE = "CHATVLA2_NOTEBOOK_CI"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv(CI_VARIABLE, "1")  # the kernel inherits it: the notebook takes its small setting
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    dirty = [
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs; clear them (Edit > Clear Outputs of All Cells)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_a_ci_setting(path):
    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), f"{path.name}: tag its first code cell"
    assert CI_VARIABLE in first, f"{path.name}: its parameters cell must read {CI_VARIABLE}"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"

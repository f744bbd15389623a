"""The quickstart notebook runs top to bottom."""

import os
import pathlib

import nbclient
import nbformat
import pytest

NOTEBOOK = (pathlib.Path(__file__).resolve().parents[1] / 'notebooks'
            / 'quickstart.ipynb')


@pytest.mark.slow
def test_quickstart_notebook_runs(monkeypatch):
  monkeypatch.setenv('JAX_PLATFORMS', 'cpu')
  monkeypatch.setenv('XLA_FLAGS', os.environ.get('XLA_FLAGS', ''))
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  client = nbclient.NotebookClient(
      notebook, timeout=600, kernel_name='python3',
      resources={'metadata': {'path': str(NOTEBOOK.parent)}})
  client.execute()
  outputs = [output for cell in notebook.cells if cell.cell_type == 'code'
             for output in cell.get('outputs', [])]
  text = ''.join(output.get('text', '') for output in outputs)
  assert 'success AUC' in text
  assert '"loss"' in text
  assert sum('image/png' in output.get('data', {}) for output in outputs) >= 2

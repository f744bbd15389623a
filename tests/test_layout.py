"""Package directions: the core (siamfc_jax) imports neither the data
pipeline (data_prep) nor the jobs (experiments); importing it changes
nothing in the process."""

import ast
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imported_modules(path: pathlib.Path):
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module


def test_the_core_imports_neither_data_prep_nor_experiments():
  wrong = sorted(
      f'{path.relative_to(ROOT)}: {name}'
      for path in (ROOT / 'siamfc_jax').rglob('*.py')
      for name in _imported_modules(path)
      if name.split('.')[0] in ('data_prep', 'experiments'))
  assert wrong == []


def test_importing_the_package_leaves_the_environment_alone():
  code = ('import os, sys; before = dict(os.environ); import siamfc_jax;'
          ' import siamfc_jax.configs.train_shared;'
          ' assert dict(os.environ) == before;'
          ' assert "data_prep" not in sys.modules, "data_prep";'
          ' assert "torch" not in sys.modules, "torch"')
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  done = subprocess.run([sys.executable, '-c', code], env=env, cwd=ROOT,
                        capture_output=True, text=True, timeout=120,
                        check=False)
  assert done.returncode == 0, done.stderr[-2000:]

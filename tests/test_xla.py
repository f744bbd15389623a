"""Tests of siamfc_jax/xla.py: the fast CPU flags, opted into, never forced."""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

from siamfc_jax import xla

_FAST = ' '.join(xla.FAST_CPU_FLAGS + xla.CPU_ONLY_FLAGS)


def _flags_after(statement, xla_flags):
  """XLA_FLAGS in a fresh CPU-only process after ``statement`` and JAX ran."""
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  env['JAX_PLATFORMS'] = 'cpu'
  if xla_flags is not None:
    env['XLA_FLAGS'] = xla_flags
  code = (f'import os; {statement}; import jax.numpy as jnp;'
          ' jnp.ones(2).block_until_ready();'
          ' print(repr(os.environ.get("XLA_FLAGS")))')
  done = subprocess.run([sys.executable, '-W', 'error::RuntimeWarning', '-c',
                         code], env=env, capture_output=True, text=True,
                        timeout=120, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('own', [None, '', '--xla_cpu_enable_fast_math=false'])
def test_importing_the_library_changes_nothing(own):
  assert _flags_after('import siamfc_jax', own) == repr(own)


@pytest.mark.parametrize('own,expected', [
    (None, _FAST),
    ('', _FAST),
    ('--xla_cpu_enable_fast_math=false',
     '--xla_cpu_enable_fast_math=false ' + _FAST),
])
def test_opting_in_appends_the_flags_to_the_users(own, expected):
  statement = 'from siamfc_jax import xla; xla.use_fast_cpu_flags()'
  assert _flags_after(statement, own) == repr(expected)


def _calls_use_fast_cpu_flags(function: ast.FunctionDef) -> bool:
  return any(isinstance(node, ast.Call)
             and ast.unparse(node.func) == 'xla.use_fast_cpu_flags'
             for node in ast.walk(function))


def test_every_job_opts_in():
  root = pathlib.Path(__file__).resolve().parents[1]
  mains = {}
  for path in [*(root / 'experiments').glob('*.py'),
               root / 'data_prep' / 'build.py']:
    for node in ast.parse(path.read_text()).body:
      if isinstance(node, ast.FunctionDef) and node.name == 'main':
        mains[path.relative_to(root).as_posix()] = (
            _calls_use_fast_cpu_flags(node))
  assert len(mains) >= 10, mains
  assert [name for name, calls in mains.items() if not calls] == []


def test_a_flag_the_user_set_keeps_the_users_value():
  own = '--xla_cpu_experimental_ynn_fusion_type=dot  --xla_dump_to=/tmp/d'
  merged = xla.merged_flags(own, xla.FAST_CPU_FLAGS + xla.CPU_ONLY_FLAGS)
  assert merged == ('--xla_cpu_experimental_ynn_fusion_type=dot'
                    ' --xla_dump_to=/tmp/d ' + ' '.join(xla.CPU_ONLY_FLAGS))
  assert xla.merged_flags('', ('--a=1', '--b')) == '--a=1 --b'


def test_too_late_only_warns(monkeypatch):
  # The test process has run JAX already (tests/conftest.py set the flags).
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  jnp.ones(1).block_until_ready()
  monkeypatch.setenv('XLA_FLAGS', '--mine')
  with pytest.warns(RuntimeWarning, match='already started'):
    xla.use_fast_cpu_flags()
  assert os.environ['XLA_FLAGS'] == '--mine'


@pytest.mark.parametrize('platforms,plugins,cpu_only', [
    (None, [], True),
    (None, ['xla_cuda12'], False),
    ('cpu', ['xla_cuda12'], True),
    ('cuda', [], True),
    ('', ['libtpu'], False),
])
def test_cpu_only_flags_only_without_accelerators(monkeypatch, platforms,
                                                  plugins, cpu_only):
  if platforms is None:
    monkeypatch.delenv('JAX_PLATFORMS', raising=False)
  else:
    monkeypatch.setenv('JAX_PLATFORMS', platforms)
  monkeypatch.setattr(xla, 'accelerator_plugins', lambda: plugins)
  expected = xla.FAST_CPU_FLAGS + (xla.CPU_ONLY_FLAGS if cpu_only else ())
  assert xla.fast_cpu_flags() == expected


def test_accelerator_plugins_finds_an_installed_plugin(tmp_path,
                                                       monkeypatch):
  plugin = tmp_path / 'jax_plugins' / 'xla_testgpu'
  plugin.mkdir(parents=True)
  (plugin / '__init__.py').write_text('')
  assert 'xla_testgpu' not in xla.accelerator_plugins()
  monkeypatch.syspath_prepend(str(tmp_path))
  assert 'xla_testgpu' in xla.accelerator_plugins()

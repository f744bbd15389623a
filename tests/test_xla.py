"""Tests of siamfc_jax/xla.py: the fast CPU flags set on import."""

import os
import subprocess
import sys

import pytest

from siamfc_jax import xla

_PRINT_FLAGS = ('import os, siamfc_jax, jax.numpy as jnp;'
                ' jnp.ones(2).block_until_ready();'
                ' print(repr(os.environ.get("XLA_FLAGS")))')


def _flags_after_import(xla_flags):
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  env['JAX_PLATFORMS'] = 'cpu'
  if xla_flags is not None:
    env['XLA_FLAGS'] = xla_flags
  done = subprocess.run([sys.executable, '-c', _PRINT_FLAGS], env=env,
                        capture_output=True, text=True, timeout=120,
                        check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  return done.stdout.strip().splitlines()[-1]


def test_import_sets_the_fast_flags_when_unset():
  flags = ' '.join(xla.FAST_CPU_FLAGS + xla.CPU_ONLY_FLAGS)
  assert _flags_after_import(None) == repr(flags)


@pytest.mark.parametrize('own', ['', '--xla_cpu_enable_fast_math=false'])
def test_import_keeps_the_users_flags(own):
  assert _flags_after_import(own) == repr(own)


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

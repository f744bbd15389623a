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
  assert _flags_after_import(None) == repr(' '.join(xla.FAST_CPU_FLAGS))


@pytest.mark.parametrize('own', ['', '--xla_cpu_enable_fast_math=false'])
def test_import_keeps_the_users_flags(own):
  assert _flags_after_import(own) == repr(own)

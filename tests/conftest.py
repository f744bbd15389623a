"""Test set-up: CPU only, fast CPU convolutions, and the shared data path."""

import os
import pathlib

os.environ['JAX_PLATFORMS'] = 'cpu'

# pylint: disable=wrong-import-position (the environment must be set first)
import pytest  # noqa: E402

from siamfc_jax import xla  # noqa: E402

xla.use_fast_cpu_convolutions()

SHARED_SEQUENCES = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
                    / 'data' / 'sequences')


@pytest.fixture
def shared_sequences() -> pathlib.Path:
  """The real OTB/VOT sequences beside the repository, or a skip."""
  if not SHARED_SEQUENCES.is_dir():
    pytest.skip(f'{SHARED_SEQUENCES} not found: real-data tests need the'
                ' shared sequences (../shared/data/sequences)')
  return SHARED_SEQUENCES

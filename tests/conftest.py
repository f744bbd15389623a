"""Test set-up: CPU only, fast CPU convolutions, and the shared data path."""

import os
import pathlib

os.environ['JAX_PLATFORMS'] = 'cpu'

# pylint: disable=wrong-import-position (the environment must be set first)
import pytest  # noqa: E402

# Importing the package sets the fast CPU XLA flags (siamfc_jax/xla.py).
import siamfc_jax  # noqa: E402,F401

SHARED_SEQUENCES = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
                    / 'data' / 'sequences')


@pytest.fixture
def shared_sequences() -> pathlib.Path:
  """The real OTB/VOT sequences beside the repository, or a skip."""
  if not SHARED_SEQUENCES.is_dir():
    pytest.skip(f'{SHARED_SEQUENCES} not found: real-data tests need the'
                ' shared sequences (../shared/data/sequences)')
  return SHARED_SEQUENCES

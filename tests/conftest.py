"""Test set-up: CPU only, fast CPU convolutions, and the shared data path."""

import os
import pathlib

os.environ['JAX_PLATFORMS'] = 'cpu'
os.environ.setdefault('XLA_FLAGS',
                      '--xla_cpu_experimental_ynn_fusion_type=dot')

import pytest  # noqa: E402  (the environment must be set before JAX loads)

SHARED_SEQUENCES = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
                    / 'data' / 'sequences')


@pytest.fixture
def shared_sequences() -> pathlib.Path:
  """The real OTB/VOT sequences beside the repository, or a skip."""
  if not SHARED_SEQUENCES.is_dir():
    pytest.skip(f'{SHARED_SEQUENCES} not found: real-data tests need the'
                ' shared sequences (../shared/data/sequences)')
  return SHARED_SEQUENCES

"""Tests of weights files."""

import jax
import numpy as np
import pytest

from siamfc_jax import weights
from siamfc_jax import model as model_lib
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s


@pytest.fixture(scope='module')
def variables():
  net = model_lib.create_model(base.model_config())
  return model_lib.init_variables(net, jax.random.key(3))


def test_round_trip(tmp_path, variables):
  path = tmp_path / 'w.msgpack'
  weights.save_weights(path, variables)
  loaded = weights.load_weights(path, variables)
  jax.tree.map(np.testing.assert_array_equal, loaded, variables)
  assert not list(tmp_path.glob('.*'))  # No temporary file left behind.


def test_float16_storage_is_smaller_and_close(tmp_path, variables):
  full, half = tmp_path / 'full.msgpack', tmp_path / 'half.msgpack'
  weights.save_weights(full, variables)
  weights.save_weights(half, variables, dtype=np.float16)
  assert half.stat().st_size < 0.6 * full.stat().st_size
  loaded = weights.load_weights(half, variables)
  assert loaded['params']['embedding']['conv1']['kernel'].dtype == np.float32
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3,
                                                       atol=1e-4),
               loaded, variables)


def test_bad_files_raise_weights_error(tmp_path, variables):
  with pytest.raises(weights.WeightsError, match='cannot read'):
    weights.load_weights(tmp_path / 'missing.msgpack', variables)
  corrupt = tmp_path / 'corrupt.msgpack'
  corrupt.write_bytes(b'\x00garbage\xff' * 10)
  with pytest.raises(weights.WeightsError, match='corrupt.msgpack'):
    weights.load_weights(corrupt, variables)
  other = model_lib.init_variables(
      model_lib.create_model(base.model_config()), jax.random.key(0))
  other['params']['embedding'].pop('conv5')
  partial = tmp_path / 'partial.msgpack'
  weights.save_weights(partial, other)
  with pytest.raises(weights.WeightsError, match='differ'):
    weights.load_weights(partial, variables)


def test_load_for_tracking_uses_the_checkpoint_flag(tmp_path, variables):
  path = tmp_path / 'w.msgpack'
  weights.save_weights(path, variables)
  config = track_3s.get_config()
  config.checkpoint = str(path)
  assert weights.weights_path(config) == path
  loaded = weights.load_for_tracking(config)
  jax.tree.map(np.testing.assert_array_equal, loaded, variables)

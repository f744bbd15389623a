"""Tests of the SiamFC network."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import model as model_lib
from siamfc_jax.configs import base


@pytest.fixture(scope='module')
def net_and_variables():
  net = model_lib.create_model(base.model_config())
  return net, model_lib.init_variables(net, jax.random.key(0))


@pytest.mark.parametrize('size,cells', [(127, 6), (255, 22), (239, 20)])
def test_embedding_shapes(net_and_variables, size, cells):
  net, variables = net_and_variables
  images = jnp.zeros((2, size, size, 3))
  features = net.apply(variables, images, method=net.embed)
  assert features.shape == (2, cells, cells, 256)


def test_score_map_shape(net_and_variables):
  net, variables = net_and_variables
  rng = np.random.default_rng(0)
  z = rng.uniform(0, 255, (2, 127, 127, 3)).astype(np.float32)
  x = rng.uniform(0, 255, (2, 3, 255, 255, 3)).astype(np.float32)
  scores = net.apply(variables, z, x, train=False)
  assert scores.shape == (2, 3, 17, 17)
  assert np.all(np.isfinite(scores))


def test_initialisation(net_and_variables):
  _, variables = net_and_variables
  params = variables['params']
  conv2 = params['embedding']['conv2']
  assert conv2['kernel'].shape == (5, 5, 48, 256)  # Two groups.
  fan_in = 5 * 5 * 48
  np.testing.assert_allclose(np.std(conv2['kernel']), np.sqrt(2 / fan_in),
                             rtol=0.05)
  assert abs(float(np.mean(conv2['kernel']))) < 0.01
  for layer in ('conv1', 'conv2', 'conv3', 'conv4', 'conv5'):
    assert not np.any(params['embedding'][layer]['bias'])
  assert float(params['score_bias']) == 0
  assert set(variables['batch_stats']['embedding']) == {
      'bn1', 'bn2', 'bn3', 'bn4'}


def test_split_groups_matches_grouped_convolution(net_and_variables):
  _, variables = net_and_variables
  config = base.model_config()
  images = np.random.default_rng(1).uniform(
      0, 255, (1, 127, 127, 3)).astype(np.float32)
  outputs = []
  for split in (True, False):
    config.split_groups = split
    net = model_lib.create_model(config)
    outputs.append(net.apply(variables, images, method=net.embed))
  np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-3)


def test_train_mode_updates_batch_stats(net_and_variables):
  net, variables = net_and_variables
  rng = np.random.default_rng(2)
  z = rng.uniform(0, 255, (2, 127, 127, 3)).astype(np.float32)
  x = rng.uniform(0, 255, (2, 1, 255, 255, 3)).astype(np.float32)
  _, updates = net.apply(variables, z, x, train=True,
                         mutable=['batch_stats'])
  before = variables['batch_stats']['embedding']['bn1']['mean']
  after = updates['batch_stats']['embedding']['bn1']['mean']
  assert not np.allclose(before, after)


def test_score_head_gain_and_bias(net_and_variables):
  net, variables = net_and_variables
  z = jnp.ones((1, 6, 6, 256))
  x = jnp.ones((1, 1, 22, 22, 256))
  params = jax.tree.map(lambda a: a, variables['params'])
  params['score_bias'] = jnp.asarray(0.5)
  scores = net.apply({**variables, 'params': params}, z, x, method=net.score)
  np.testing.assert_allclose(scores, 1e-3 * 6 * 6 * 256 + 0.5, rtol=1e-6)


def test_bfloat16_compute_is_close(net_and_variables):
  _, variables = net_and_variables
  config = base.model_config()
  config.dtype = 'bfloat16'
  net16 = model_lib.create_model(config)
  net32 = model_lib.create_model(base.model_config())
  images = np.random.default_rng(3).uniform(
      0, 255, (1, 127, 127, 3)).astype(np.float32)
  f16 = net16.apply(variables, images, method=net16.embed)
  f32 = net32.apply(variables, images, method=net32.embed)
  assert f16.dtype == jnp.float32
  relative = np.linalg.norm(f16 - f32) / np.linalg.norm(f32)
  assert relative < 0.05

"""Tests of the SiamFC network."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import cpu_ops
from siamfc_jax import model as model_lib
from siamfc_jax import tracker
from siamfc_jax import validation
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s


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


@pytest.mark.parametrize('instance_size', [255, 256, 239, 263])
def test_response_size_is_the_networks(net_and_variables, instance_size):
  # One source for the score map's size: the network. At 256 the old
  # 256 // 8 - 127 // 8 + 1 said 18 where the network gives 17.
  net, variables = net_and_variables
  z = jax.ShapeDtypeStruct((1, 127, 127, 3), jnp.float32)
  x = jax.ShapeDtypeStruct((1, 1, instance_size, instance_size, 3),
                           jnp.float32)
  scores = jax.eval_shape(
      functools.partial(net.apply, variables, train=False), z, x)
  assert model_lib.response_size(127, instance_size) == scores.shape[-1]
  settings = tracker.Settings.from_config(track_3s.get_config())
  if (instance_size - 7) % 8:
    # Off the network's grid: the tracker settings refuse it.
    with pytest.raises(validation.ConfigError, match='instance_size=256'):
      settings.replace(instance_size=instance_size)
    return
  settings = settings.replace(instance_size=instance_size)
  assert settings.response_size == scores.shape[-1]


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


def test_auto_picks_the_cpu_tuned_ops_on_the_cpu(net_and_variables,
                                                monkeypatch):
  assert jax.default_backend() == 'cpu'  # conftest.py.
  assert base.model_config().ops == 'auto'
  assert model_lib.resolve_ops('auto') == 'cpu_tuned'
  for name in ('cpu_tuned', 'plain'):
    assert model_lib.resolve_ops(name) == name
  with pytest.raises(ValueError, match='not one of'):
    model_lib.resolve_ops('gpu')
  # Chosen when the network is traced: the default train step has the
  # barriers of the CPU-tuned ops on the CPU, not where JAX's default
  # backend is a GPU.
  net, variables = net_and_variables
  images = np.zeros((2, 87, 87, 3), np.float32)
  barrier = 'optimization_barrier'
  assert barrier in _lowered(net, variables, images, True)[2].as_text()
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  assert model_lib.resolve_ops('auto') == 'plain'
  assert barrier not in _lowered(net, variables, images, True)[2].as_text()


def _pool_input(shape, seed=0):
  """Post-ReLU-like values: many zero ties, and rows of positive ties."""
  rng = np.random.default_rng(seed)
  x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
  x[:, ::5] = 1.0
  return jnp.asarray(x)


@pytest.mark.parametrize('shape', [(2, 15, 15, 4), (1, 16, 13, 3)])
def test_max_pool_matches_flax(shape):
  x = _pool_input(shape)
  reference = lambda v: nn.max_pool(v, (3, 3), (2, 2))  # noqa: E731
  np.testing.assert_array_equal(cpu_ops.max_pool(x), reference(x))
  cotangent = jnp.asarray(np.random.default_rng(1).standard_normal(
      reference(x).shape).astype(np.float32))
  ours = jax.vjp(cpu_ops.max_pool, x)[1](cotangent)[0]
  theirs = jax.vjp(reference, x)[1](cotangent)[0]
  # Same routing of each gradient to the first maximum of its window; only
  # the order of the sums where windows overlap may differ.
  np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
  assert np.count_nonzero(ours) == np.count_nonzero(theirs)


@pytest.mark.parametrize('ops', ['cpu_tuned', 'plain'])
@pytest.mark.parametrize('train', [True, False])
def test_batch_norm_relu_matches_flax(ops, train):
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.standard_normal((4, 5, 5, 6)) * 3 + 1, jnp.float32)
  ours = model_lib.BatchNormReLU(use_running_average=not train,
                                 momentum=0.9, epsilon=1e-6, ops=ops)
  theirs = nn.BatchNorm(use_running_average=not train, momentum=0.9,
                        epsilon=1e-6)
  variables = theirs.init(jax.random.key(0), x)
  assert (jax.tree.structure(ours.init(jax.random.key(0), x))
          == jax.tree.structure(variables))
  variables = {
      'params': {'scale': jnp.asarray(rng.uniform(0.5, 2, 6), jnp.float32),
                 'bias': jnp.asarray(rng.standard_normal(6), jnp.float32)},
      'batch_stats': {'mean': jnp.asarray(rng.standard_normal(6),
                                          jnp.float32),
                      'var': jnp.asarray(rng.uniform(0.5, 2, 6),
                                         jnp.float32)}}
  cotangent = jnp.asarray(rng.standard_normal(x.shape), jnp.float32)
  # Gradients through the running averages too (they are outputs).
  stats_cotangent = jax.tree.map(
      lambda a: jnp.asarray(rng.standard_normal(a.shape), jnp.float32),
      variables['batch_stats'])

  def run(module, params, inputs, activation):
    y, updates = module.apply({**variables, 'params': params}, inputs,
                              mutable=['batch_stats'])
    return activation(y), updates['batch_stats']

  results = {}
  for name, module, activation in (('ours', ours, lambda y: y),
                                   ('flax', theirs, nn.relu)):
    (y, stats), pullback = jax.vjp(
        functools.partial(run, module, activation=activation),
        variables['params'], x)
    results[name] = y, stats, pullback((cotangent, stats_cotangent))
  close = functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-5)
  jax.tree.map(close, results['ours'], results['flax'])


def _network(**model):
  config = base.model_config()
  config.update(model)
  return model_lib.create_model(config)


def _embedding_grads(net, variables, images, train):
  def loss(params):
    features, _ = net.apply({**variables, 'params': params}, images,
                            train=train, method=net.embed,
                            mutable=['batch_stats'])
    return jnp.sum(jnp.square(features))
  return jax.jit(jax.grad(loss)), variables['params']


# (ops, split_groups) compared with the default, cpu_tuned with split groups.
VARIANTS = [('plain', True), ('cpu_tuned', False)]


@pytest.mark.parametrize('ops,split_groups', VARIANTS)
def test_plain_ops_give_the_values_of_the_cpu_tuned_ones(
    net_and_variables, ops, split_groups, assert_same_train_outputs):
  # Same parameters, same scores, batch statistics and gradients, to
  # float32 rounding: eval scores within 1e-5 and train outputs within
  # 1e-4 of each array's largest magnitude (measured: 2e-7 and 5e-6).
  # Inside the jitted train-mode gradient XLA fuses each pool's input into
  # the backward pass and may round it differently there: a pool gradient
  # that compared floats with its output lost ~80% of conv1's gradient this
  # way. The biases of conv1-4 are left out: BatchNorm follows them, so
  # their gradients are zero in exact arithmetic and rounding noise here.
  tuned, variables = net_and_variables
  net = _network(ops=ops, split_groups=split_groups)
  rng = np.random.default_rng(4)
  z = rng.uniform(0, 255, (2, 87, 87, 3)).astype(np.float32)
  x = rng.uniform(0, 255, (2, 1, 111, 111, 3)).astype(np.float32)
  eval_scores = [n.apply(variables, z, x, train=False) for n in (tuned, net)]
  np.testing.assert_allclose(eval_scores[1], eval_scores[0], rtol=0,
                             atol=1e-5 * np.abs(eval_scores[0]).max())
  assert_same_train_outputs(tuned, net, variables, z, x)


def _lowered(net, variables, images, train):
  grads, params = _embedding_grads(net, variables, images, train)
  return grads, params, grads.lower(params)


def test_ops_choose_the_program(net_and_variables):
  _, variables = net_and_variables
  images = np.zeros((2, 87, 87, 3), np.float32)
  tuned = _lowered(_network(ops='cpu_tuned'), variables, images, True)[2]
  plain = _lowered(_network(ops='plain'), variables, images, True)[2]
  tuned, plain = tuned.as_text(), plain.as_text()
  # Plain: flax's pooling (reduce-window, select-and-scatter), one grouped
  # convolution per grouped layer, no barriers; CPU-tuned: none of these.
  for text, present in ((plain, True), (tuned, False)):
    assert ('reduce_window' in text) == present
    assert ('select_and_scatter' in text) == present
    assert ('feature_group_count = 2' in text) == present
    assert ('optimization_barrier' in text) != present


def test_train_embedding_keeps_its_barriers(net_and_variables):
  net, variables = net_and_variables
  images = np.random.default_rng(3).uniform(
      0, 255, (2, 87, 87, 3)).astype(np.float32)
  _, _, lowered = _lowered(net, variables, images, train=True)
  # The test session runs with siamfc_jax's CPU flags: barriers survive
  # fusion into the compiled step, one per stored convolution input.
  assert lowered.compile().as_text().count('opt-barrier(') >= 4
  _, _, eval_lowered = _lowered(net, variables, images, train=False)
  assert 'optimization_barrier' not in eval_lowered.as_text()


@pytest.mark.parametrize('kernel_size,strides,groups', [
    (11, 2, 1), (5, 1, 2), (3, 1, 1)])
def test_im2col_convolution_equals_direct(kernel_size, strides, groups):
  x = jnp.asarray(np.random.default_rng(5).uniform(
      0, 255, (2, 31, 29, 4)), jnp.float32)
  results = {}
  for algorithm in ('direct', 'im2col'):  # Others: test_conv_algorithms.
    conv = model_lib.GroupedConv(8, kernel_size, groups=groups,
                                 strides=strides, algorithm=algorithm)
    variables = conv.init(jax.random.key(0), x)
    results[algorithm] = conv.apply(variables, x)
  np.testing.assert_allclose(results['im2col'], results['direct'],
                             rtol=1e-5,
                             atol=1e-5 * np.abs(results['direct']).max())

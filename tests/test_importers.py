"""Tests of loading published weights: MatConvNet .mat and siamfc-pytorch .pth.

The files are written here in those exact layouts, and the imported network
is compared with a direct evaluation of the original semantics.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.io

from siamfc_jax import weights
from siamfc_jax import model as model_lib
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s

# (layer, kernel, input channels per group, outputs, stride, groups)
LAYERS = [(1, 11, 3, 96, 2, 1), (2, 5, 48, 256, 1, 2), (3, 3, 256, 384, 1, 1),
          (4, 3, 192, 384, 1, 2), (5, 3, 192, 256, 1, 2)]
EPS = 1e-6


@pytest.fixture(scope='module')
def net_and_template():
  net = model_lib.create_model(base.model_config())
  return net, model_lib.init_variables(net, jax.random.key(0))


def _raw_layers(rng):
  """Random conv/BN parameters: kernel HWIO, bias, BN gain, bias, mean, std."""
  layers = {}
  for i, k, cin, cout, _, _ in LAYERS:
    layers[i] = dict(
        kernel=rng.normal(0, np.sqrt(2 / (k * k * cin)), (k, k, cin, cout)),
        bias=rng.normal(0, 0.1, cout), gain=rng.uniform(0.5, 1.5, cout),
        beta=rng.normal(0, 0.1, cout), mean=rng.normal(0, 1, cout),
        std=rng.uniform(0.5, 3.0, cout))
  return layers


def _reference_embedding(images, layers):
  """Conv (correlation) -> BN gain*(x-mean)/std+beta -> ReLU -> max pool."""
  x = jnp.asarray(images, jnp.float32)
  for i, _, _, _, stride, groups in LAYERS:
    p = layers[i]
    x = jax.lax.conv_general_dilated(
        x, jnp.asarray(p['kernel'], jnp.float32), (stride, stride), 'VALID',
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        feature_group_count=groups) + p['bias']
    if i < 5:
      x = jax.nn.relu(p['gain'] * (x - p['mean']) / p['std'] + p['beta'])
    if i < 3:
      x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1),
                                (1, 2, 2, 1), 'VALID')
  return x


def _write_matconvnet(path, layers, adjust):
  params = []
  for i, *_ in LAYERS:
    p = layers[i]
    params += [(f'br_conv{i}f', p['kernel'].astype(np.float32)),
               (f'br_conv{i}b', p['bias'].astype(np.float32))]
    if i < 5:
      params += [(f'br_bn{i}m', p['gain'].astype(np.float32)),
                 (f'br_bn{i}b', p['beta'].astype(np.float32)),
                 (f'br_bn{i}x', np.stack([p['mean'], p['std']], 1)
                  .astype(np.float32))]
  params += [('fin_adjust_bnm', np.float32(adjust[0])),
             ('fin_adjust_bnb', np.float32(adjust[1])),
             ('fin_adjust_bnx', np.array(adjust[2:], np.float32))]
  records = np.empty(len(params), dtype=[('name', 'O'), ('value', 'O')])
  for j, (name, value) in enumerate(params):
    records[j] = (name, value)
  layer_records = np.empty(1, dtype=[('name', 'O'), ('type', 'O')])
  layer_records[0] = ('br1_conv1', 'dagnn.Conv')
  scipy.io.savemat(path, {'net': {'params': records,
                                  'layers': layer_records}})


def test_matconvnet_network_scores_match_the_original(tmp_path,
                                                      net_and_template):
  net, template = net_and_template
  rng = np.random.default_rng(0)
  layers = _raw_layers(rng)
  adjust = (0.02, -1.5, 3.0, 40.0)  # gain m, bias b, mean, sigma.
  path = tmp_path / '2016-08-17.net.mat'
  _write_matconvnet(path, layers, adjust)
  variables = weights.import_matconvnet(
      path, template, score_gain=1e-3, bn_epsilon=EPS)

  z = rng.uniform(0, 255, (1, 127, 127, 3)).astype(np.float32)
  x = rng.uniform(0, 255, (1, 255, 255, 3)).astype(np.float32)
  ours = net.apply(variables, z, x[:, None], train=False)[0, 0]
  fz, fx = _reference_embedding(z, layers), _reference_embedding(x, layers)
  xcorr = jax.lax.conv_general_dilated(
      fx, jnp.transpose(fz, (1, 2, 3, 0)), (1, 1), 'VALID',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))[0, ..., 0]
  expected = adjust[0] * (xcorr - adjust[2]) / adjust[3] + adjust[1]
  # Float32 rounding only: measured 3.6e-7 of the largest score on an AMD
  # EPYC (AVX2), 30 times below the tolerance.
  np.testing.assert_allclose(ours, expected, rtol=0,
                             atol=1e-5 * np.abs(expected).max())


def test_matconvnet_errors(tmp_path, net_and_template):
  _, template = net_and_template
  bad = tmp_path / 'bad.mat'
  bad.write_bytes(b'not a mat file')
  with pytest.raises(weights.WeightsError, match='bad.mat'):
    weights.import_matconvnet(bad, template, score_gain=1e-3,
                                  bn_epsilon=EPS)
  other = tmp_path / 'other.mat'
  scipy.io.savemat(other, {'something': np.zeros(3)})
  with pytest.raises(weights.WeightsError, match='net.params'):
    weights.import_matconvnet(other, template, score_gain=1e-3,
                                  bn_epsilon=EPS)


def _siamfc_pytorch_checkpoint(torch, path, layers):
  """A siamfc-pytorch state dict of ``layers``, saved to ``path``."""
  state_dict = {}
  for i, *_ in LAYERS:
    p = layers[i]
    state_dict[f'backbone.conv{i}.0.weight'] = torch.tensor(
        np.transpose(p['kernel'], (3, 2, 0, 1)), dtype=torch.float32)
    state_dict[f'backbone.conv{i}.0.bias'] = torch.tensor(
        p['bias'], dtype=torch.float32)
    if i < 5:
      bn = f'backbone.conv{i}.1.'
      state_dict[bn + 'weight'] = torch.tensor(p['gain'], dtype=torch.float32)
      state_dict[bn + 'bias'] = torch.tensor(p['beta'], dtype=torch.float32)
      state_dict[bn + 'running_mean'] = torch.tensor(p['mean'],
                                                     dtype=torch.float32)
      state_dict[bn + 'running_var'] = torch.tensor(p['std'] ** 2,
                                                    dtype=torch.float32)
      state_dict[bn + 'num_batches_tracked'] = torch.tensor(10)
  torch.save(state_dict, path)
  return state_dict


def _siamfc_pytorch_embedding(torch, state_dict, images):
  """siamfc-pytorch's AlexNetV1 backbone in eval mode on NHWC ``images``."""
  functional = torch.nn.functional
  x = torch.tensor(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
  for i, _, _, _, stride, groups in LAYERS:
    x = functional.conv2d(x, state_dict[f'backbone.conv{i}.0.weight'],
                          state_dict[f'backbone.conv{i}.0.bias'],
                          stride=stride, groups=groups)
    if i < 5:
      bn = f'backbone.conv{i}.1.'
      x = functional.relu(functional.batch_norm(
          x, state_dict[bn + 'running_mean'], state_dict[bn + 'running_var'],
          state_dict[bn + 'weight'], state_dict[bn + 'bias'], eps=EPS))
    if i < 3:
      x = functional.max_pool2d(x, 3, 2)
  return x.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize('bgr_input', [False, True])
def test_siamfc_pytorch_checkpoint_matches_torch(tmp_path, net_and_template,
                                                 bgr_input):
  torch = pytest.importorskip('torch')
  net, template = net_and_template
  rng = np.random.default_rng(1)
  path = tmp_path / 'siamfc_alexnet_e50.pth'
  state_dict = _siamfc_pytorch_checkpoint(torch, path, _raw_layers(rng))
  # The default is RGB: only BGR checkpoints pass the option.
  variables = weights.import_siamfc_pytorch(
      path, template, **({'bgr_input': True} if bgr_input else {}))

  # siamfc-pytorch feeds RGB (ops.read_image, datasets.Pair), as we do;
  # a checkpoint trained on BGR frames sees our RGB frames reversed.
  rgb = rng.uniform(0, 255, (1, 127, 127, 3)).astype(np.float32)
  expected = _siamfc_pytorch_embedding(
      torch, state_dict, rgb[..., ::-1] if bgr_input else rgb)
  ours = net.apply(variables, rgb, method=net.embed)
  # Float32 rounding of two implementations (XLA's and oneDNN's
  # convolutions): measured 2.0e-6 of the largest feature on an AMD EPYC
  # (AVX2); reversed input channels give 2.0e-1.
  np.testing.assert_allclose(ours, expected, rtol=0,
                             atol=2e-5 * np.abs(expected).max())


def test_load_for_tracking_dispatches_on_the_suffix(tmp_path):
  layers = _raw_layers(np.random.default_rng(2))
  path = tmp_path / 'net.mat'
  _write_matconvnet(path, layers, (0.01, 0.0, 0.0, 10.0))
  config = track_3s.get_config()
  config.checkpoint = str(path)
  variables = weights.load_for_tracking(config)
  np.testing.assert_allclose(
      variables['params']['embedding']['conv1']['kernel'],
      layers[1]['kernel'], rtol=1e-6)

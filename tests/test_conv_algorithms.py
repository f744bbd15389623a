"""Tests of siamfc_jax/conv_algorithms.py: each convolution algorithm
against the direct convolution, layer by layer, in the whole network (eval
and jitted train-mode gradients), the tracker and the train step.

The float32 tolerances sit about 10x above the errors measured on an AMD
EPYC (AVX2); float64 ones show that only rounding differs.
"""

import functools
import itertools

import imageio.v3 as iio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from data_prep import pairs
from siamfc_jax import conv_algorithms
from siamfc_jax import demo
from siamfc_jax import model as model_lib
from siamfc_jax import tracker
from siamfc_jax import train_lib
from siamfc_jax import validation
from siamfc_jax import weights
from siamfc_jax.configs import base
from siamfc_jax.configs import tiny
from siamfc_jax.configs import track_3s

# The network-wide choices that compute some layer other than directly.
REWRITTEN = ('space_to_depth', 'winograd', 'space_to_depth_winograd')

# SiamFC's layers as (features, kernel side, groups, strides, input
# channels), on small inputs of side x side + 1: odd and even sides, so
# that Winograd's last tiles are partial in one direction or the other.
LAYERS = {
    'conv1': ((96, 11, 1, 2, 3), 39),
    'conv2': ((256, 5, 2, 1, 96), 9),
    'conv3': ((384, 3, 1, 1, 256), 8),
    'conv4': ((384, 3, 2, 1, 384), 9),
    'conv5': ((256, 3, 2, 1, 384), 7),
}
# The layer and the per-layer algorithm that computes it other than
# directly.
REWRITTEN_LAYERS = [('conv1', 'space_to_depth'), ('conv3', 'winograd'),
                    ('conv4', 'winograd'), ('conv5', 'winograd')]


def _relative(a, b) -> float:
  """Largest |a - b| over the largest |b|."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.abs(a - b).max() / np.abs(b).max())


def test_each_layer_gets_its_algorithm():
  per_layer = {
      name: [conv_algorithms.layer_algorithm(
          algorithm, kernel_size=layer[1], strides=layer[3])
             for algorithm in model_lib.CONV_ALGORITHMS]
      for name, (layer, _) in LAYERS.items()}
  # Columns: direct, im2col, space_to_depth, winograd, both.
  assert per_layer == {
      'conv1': ['direct', 'im2col', 'space_to_depth', 'direct',
                'space_to_depth'],
      'conv2': ['direct', 'im2col', 'direct', 'direct', 'direct'],
      'conv3': ['direct', 'im2col', 'direct', 'winograd', 'winograd'],
      'conv4': ['direct', 'im2col', 'direct', 'winograd', 'winograd'],
      'conv5': ['direct', 'im2col', 'direct', 'winograd', 'winograd'],
  }
  assert base.model_config().conv_algorithm == 'direct'


def test_unknown_algorithm_is_one_clear_error():
  config = track_3s.get_config()
  config.model.conv_algorithm = 'fft'
  with pytest.raises(validation.ConfigError,
                     match=r"config.model.conv_algorithm='fft': not one of"
                     r" the options; allowed: one of 'direct', 'im2col',"
                     r" 'space_to_depth', 'winograd',"
                     r" 'space_to_depth_winograd'"):
    validation.check_track(config)
  with pytest.raises(ValueError, match="'fft' is not one of.*'winograd'"):
    conv_algorithms.layer_algorithm('fft', kernel_size=3, strides=1)
  with pytest.raises(ValueError, match='no Winograd tile for 5x5'):
    conv_algorithms.winograd_conv(jnp.zeros((1, 6, 6, 1)),
                                  jnp.zeros((5, 5, 1, 1)))
  with pytest.raises(ValueError, match='stride 1, not 2'):
    conv_algorithms.winograd_conv(jnp.zeros((1, 6, 6, 1)),
                                  jnp.zeros((3, 3, 1, 1)), stride=2)


@pytest.mark.parametrize('m,r', [(2, 3), (4, 3), (2, 5), (4, 5)])
def test_winograd_matrices_correlate(m, r):
  # A^T [(G g) * (B^T d)] is the 1-D correlation of d by g, m outputs.
  at, g, bt = conv_algorithms.winograd_matrices(m, r)
  assert (at.shape, g.shape, bt.shape) == ((m, m + r - 1), (m + r - 1, r),
                                           (m + r - 1, m + r - 1))
  rng = np.random.default_rng(m * r)
  signal, taps = rng.normal(size=m + r - 1), rng.normal(size=r)
  np.testing.assert_allclose(at @ ((g @ taps) * (bt @ signal)),
                             np.correlate(signal, taps, 'valid'),
                             rtol=1e-12, atol=1e-12)
  # The input transform holds small multiples of 1/4 only (integers up to
  # 5 points): exact in any float, bfloat16 included.
  np.testing.assert_array_equal(bt * 4, np.round(bt * 4))
  if m + r - 1 <= 6:
    np.testing.assert_array_equal(bt, np.round(bt))


def _layer_case(name: str, algorithm: str, dtype, seed: int = 0):
  """The layer as a GroupedConv of ``algorithm``, its variables, an input
  and an output gradient, in ``dtype`` (call under 64-bit arrays for
  float64)."""
  (features, k, groups, strides, channels), side = LAYERS[name]
  conv = model_lib.GroupedConv(features, k, groups=groups, strides=strides,
                               dtype=dtype, algorithm=algorithm)
  rng = np.random.default_rng(seed)
  if name == 'conv1':  # Pixels.
    x = rng.uniform(0, 255, (2, side, side + 1, channels))
  else:  # Post-ReLU activations.
    x = np.maximum(rng.normal(size=(2, side, side + 1, channels)), 0)
  fan_in = k * k * channels // groups
  variables = {'params': {
      'kernel': jnp.asarray(rng.normal(
          size=(k, k, channels // groups, features)) * np.sqrt(2 / fan_in),
                            dtype),
      'bias': jnp.asarray(rng.normal(size=features), dtype)}}
  rows = (side - k) // strides + 1
  cols = (side + 1 - k) // strides + 1
  cotangent = jnp.asarray(rng.normal(size=(2, rows, cols, features)), dtype)
  return conv, variables, jnp.asarray(x, dtype), cotangent


def _values_and_gradients(name, algorithm, dtype):
  """The layer's output and its (kernel, bias, input) gradients."""
  conv, variables, x, cotangent = _layer_case(name, algorithm, dtype)
  y, pullback = jax.vjp(jax.jit(conv.apply), variables, x)
  grad_variables, grad_x = pullback(cotangent.astype(y.dtype))
  return dict(output=y, kernel=grad_variables['params']['kernel'],
              bias=grad_variables['params']['bias'], input=grad_x)


# Float32 tolerance (relative to the largest value): measured at most
# 4.2e-7 for the outputs and 3.1e-7 for the gradients over these layers
# (Winograd's gradients are the direct ones: no difference at all).
FLOAT32_RTOL = 5e-6


@pytest.mark.parametrize('name,algorithm', REWRITTEN_LAYERS)
@pytest.mark.parametrize('dtype', ['float64', 'float32'])
def test_layer_equals_direct(name, algorithm, dtype):
  with jax.enable_x64(dtype == 'float64'):
    ours = _values_and_gradients(name, algorithm, jnp.dtype(dtype))
    direct = _values_and_gradients(name, 'direct', jnp.dtype(dtype))
  tolerance = 1e-10 if dtype == 'float64' else FLOAT32_RTOL
  for what, value in ours.items():
    assert value.dtype == direct[what].dtype == jnp.dtype(dtype), what
    assert value.shape == direct[what].shape, what
    error = _relative(value, direct[what])
    assert error < tolerance, f'{what}: {error:.2e}'


def test_winograd_transforms_differentiate_to_the_same_gradients():
  # winograd_conv takes the direct convolution's gradients; autodiff
  # through the transforms (slower) gives the same ones.
  rng = np.random.default_rng(1)
  with jax.enable_x64(True):
    x = jnp.asarray(rng.normal(size=(2, 9, 8, 16)))
    kernel = jnp.asarray(rng.normal(size=(3, 3, 16, 8)))
    cotangent = jnp.asarray(rng.normal(size=(2, 7, 6, 8)))
    results = [jax.jit(lambda x, k, c, conv=conv: jax.vjp(conv, x, k)[1](c))(
        x, kernel, cotangent) for conv in (
        conv_algorithms.winograd_transforms_conv,
        conv_algorithms.winograd_conv, conv_algorithms.direct_conv)]
  for grads in results[:2]:
    for ours, theirs in zip(grads, results[2], strict=True):
      assert _relative(ours, theirs) < 1e-12


def _network(**model):
  config = base.model_config()
  config.update(model)
  return model_lib.create_model(config)


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', REWRITTEN)
def test_train_mode_gradients_of_the_network_equal_direct(
    algorithm, assert_same_train_outputs):
  # As tests/test_model.py compares ops: the scores, batch statistics and
  # every parameter's gradient within 1e-4 of each array's largest value
  # (measured: 7.5e-6 at most, conv4's kernel). The biases of conv1-4 are
  # left out: BatchNorm follows them, so their gradients are rounding
  # noise.
  direct = _network()
  variables = model_lib.init_variables(direct, jax.random.key(0))
  rng = np.random.default_rng(4)
  z = rng.uniform(0, 255, (2, 87, 87, 3)).astype(np.float32)
  x = rng.uniform(0, 255, (2, 1, 111, 111, 3)).astype(np.float32)
  assert_same_train_outputs(direct, _network(conv_algorithm=algorithm),
                            variables, z, x)


@pytest.fixture(scope='module')
def shipped_variables():
  config = track_3s.get_config()
  if weights.weights_path(config) != weights.PRETRAINED:
    pytest.skip(f'{weights.PRETRAINED} not found: these tests compare the'
                ' shipped model\'s activations')
  return weights.load_for_tracking(config)


def _real_images(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """A 127x127 and a 255x255 window of a real frame, float32 pixels."""
  frame = frame.astype(np.float32)
  top = (frame.shape[0] - 255) // 2
  left = (frame.shape[1] - 255) // 2
  search = frame[top:top + 255, left:left + 255]
  return search[64:191, 64:191][None], search[None]


def _demo_frame():
  return next(iter(demo.demo_sequence(1)))


def _shared_frame(shared_sequences):
  return iio.imread(sorted(shared_sequences.glob('*/img/00000001.jpg'))[0])


# Measured float32 errors of the shipped model's embeddings against the
# direct path, relative to the largest feature, on the demo frame and the
# first frame of the first shared sequence (127 / 255 windows):
# space_to_depth 1.0e-6 / 7.2e-7, winograd 8.2e-7 / 6.7e-7, both 1.2e-6 /
# 8.7e-7.
EMBEDDING_RTOL = 1e-5


@pytest.mark.slow
@pytest.mark.parametrize(
    'source', ['demo', pytest.param('shared', marks=pytest.mark.shared)])
def test_shipped_embeddings_equal_direct(shipped_variables, source,
                                         request):
  if source == 'demo':
    frame = _demo_frame()
  else:
    frame = _shared_frame(request.getfixturevalue('shared_sequences'))
  embeddings = {}
  for algorithm in ('direct', *REWRITTEN):
    net = _network(conv_algorithm=algorithm)
    embed = jax.jit(functools.partial(net.apply, method=net.embed))
    embeddings[algorithm] = [embed(shipped_variables, images)
                             for images in _real_images(frame)]
  for algorithm in REWRITTEN:
    for ours, theirs in zip(embeddings[algorithm], embeddings['direct'],
                            strict=True):
      error = _relative(ours, theirs)
      assert error < EMBEDDING_RTOL, f'{algorithm}: {error:.2e}'


@pytest.fixture(scope='module')
def demo_boxes(shipped_variables):
  """{algorithm: the boxes tracked over the first 30 demo frames}."""
  del shipped_variables  # Only its skip: the tracker loads the same file.
  sequence = demo.demo_sequence()
  frames = list(itertools.islice(sequence, 30))
  tracked = {}
  for algorithm in ('direct', *REWRITTEN):
    config = track_3s.get_config()
    config.model.conv_algorithm = algorithm
    trk = tracker.Tracker(weights.load_for_tracking(config), config)
    tracked[algorithm] = trk.track(frames, sequence.groundtruth[0]).boxes
  return tracked, sequence.groundtruth[:30]


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', REWRITTEN)
def test_tracked_boxes_equal_direct(demo_boxes, algorithm):
  # Measured: the same boxes (0 px): 1e-6 changes of the scores seldom
  # move the peak of the upsampled response.
  tracked, groundtruth = demo_boxes
  # The direct path follows the target, so the comparison means something.
  centre = lambda b: b[:, :2] + b[:, 2:] / 2  # noqa: E731
  assert np.abs(centre(tracked['direct']) - centre(groundtruth)).max() < 20
  difference = np.abs(tracked[algorithm] - tracked['direct']).max()
  assert difference < 0.5, f'{difference:.3f} px'


@pytest.fixture(scope='module')
def tiny_losses(tiny_data):
  """{algorithm: the losses of 3 train steps of configs/tiny.py}."""
  config = tiny.get_config()
  config.data_dir, config.sequences_root = map(str, tiny_data)
  batches = pairs.training_batches(config)(
      start_step=0, batch_size=config.batch_size, shard_index=0,
      shard_count=1)
  batches = [next(batches) for _ in range(3)]
  losses = {}
  for algorithm in ('direct', *REWRITTEN):
    config.model.conv_algorithm = algorithm
    tx = train_lib.create_optimizer(config, train_lib.steps_per_epoch(config))
    state = train_lib.create_train_state(jax.random.key(config.seed),
                                         config=config, tx=tx)
    step = jax.jit(functools.partial(train_lib.train_step, config=config,
                                     tx=tx))
    losses[algorithm] = []
    for batch in batches:
      state, metrics = step(state, batch)
      losses[algorithm].append(float(metrics['loss']))
  return losses


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', REWRITTEN)
def test_train_losses_equal_direct(tiny_losses, algorithm):
  # Measured: at most 3.0e-7 relative over the 3 steps.
  assert len(set(tiny_losses['direct'])) == 3  # The steps change the net.
  np.testing.assert_allclose(tiny_losses[algorithm], tiny_losses['direct'],
                             rtol=1e-5)

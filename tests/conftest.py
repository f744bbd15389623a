"""Test set-up: CPU only, fast CPU convolutions, a shared compilation cache
and the shared data path."""

import os
import pathlib
import tempfile

os.environ['JAX_PLATFORMS'] = 'cpu'
# The tests (and the jobs they start as subprocesses) compile the same
# tracker and train steps many times over; JAX's persistent cache lets each
# compile once per machine. A cached executable is the one a fresh
# compilation would give, so results do not change.
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', str(
    pathlib.Path(tempfile.gettempdir()) / f'siamfc-jax-tests-{os.getuid()}'
    / 'jax-cache'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES', '0')

# pylint: disable=wrong-import-position (the environment must be set first)
import pytest  # noqa: E402

from siamfc_jax import xla  # noqa: E402

# The tests run with the jobs' XLA flags (the experiments package sets them
# too), so that they test what the jobs run.
xla.use_fast_cpu_flags()

SHARED = pathlib.Path(__file__).resolve().parents[2] / 'shared'
SHARED_SEQUENCES = SHARED / 'data' / 'sequences'


@pytest.fixture
def shared_sequences() -> pathlib.Path:
  """The real OTB/VOT sequences beside the repository, or a skip."""
  if not SHARED_SEQUENCES.is_dir():
    pytest.skip(f'{SHARED_SEQUENCES} not found: real-data tests need the'
                ' shared sequences (../shared/data/sequences)')
  return SHARED_SEQUENCES


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
  """(dataset folder, sequences folder) made from 20 demo frames: the data
  of the tiny train config (configs/tiny.py), built once per test module."""
  # pylint: disable=g-import-not-at-top (only the training tests need them)
  import imageio.v3 as iio
  from data_prep import builders
  from siamfc_jax import demo
  from siamfc_jax import sequences
  from siamfc_jax.configs import data
  root = tmp_path_factory.mktemp('sequences')
  sequence = demo.demo_sequence(20)
  (root / 'demo' / 'img').mkdir(parents=True)
  for i, frame in enumerate(sequence, start=1):
    iio.imwrite(root / 'demo' / 'img' / f'{i:08d}.jpg', frame, quality=90)
  sequences.write_boxes(root / 'demo' / 'groundtruth.txt',
                        sequence.groundtruth)
  out = tmp_path_factory.mktemp('data')
  builders.build('sequences', root=root, out=out,
                 config=data.data_config().curation)
  return out, root


@pytest.fixture
def assert_same_train_outputs():
  """A check of (reference, network, variables, z, x): the two networks'
  scores, batch-stat updates and parameter gradients of a loss in train
  mode (one jitted call each) agree within 1e-4 of each array's largest
  magnitude. The biases of conv1-4 are left out: BatchNorm follows them,
  so their gradients are zero in exact arithmetic and rounding noise."""
  # pylint: disable=g-import-not-at-top
  import jax
  import jax.numpy as jnp
  import numpy as np

  def outputs(net, variables, z, x):
    def loss(params):
      scores, updates = net.apply({**variables, 'params': params}, z, x,
                                  train=True, mutable=['batch_stats'])
      return jnp.sum(jnp.sin(scores)), (scores, updates['batch_stats'])
    (_, (scores, stats)), grads = jax.jit(
        jax.value_and_grad(loss, has_aux=True))(variables['params'])
    return scores, stats, grads

  def check(reference, net, variables, z, x):
    expected = outputs(reference, variables, z, x)
    got = outputs(net, variables, z, x)
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(expected),
                            jax.tree.leaves(got), strict=True):
      keys = [getattr(k, 'key', None) for k in path]
      if keys[-1] == 'bias' and keys[-2] in ('conv1', 'conv2', 'conv3',
                                             'conv4'):
        continue
      np.testing.assert_allclose(b, a, rtol=0, atol=1e-4 * np.abs(a).max(),
                                 err_msg=jax.tree_util.keystr(path))

  return check

"""Tests of the batch-preserving cross-correlation."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import xcorr


def naive_xcorr(exemplar, search):
  """out[b, s, i, j] = sum(search[b, s, i:i+h, j:j+w, :] * exemplar[b])."""
  exemplar = np.asarray(exemplar, np.float64)
  search = np.asarray(search, np.float64)
  batch, scales, height, width, _ = search.shape
  h, w = exemplar.shape[1:3]
  out = np.zeros((batch, scales, height - h + 1, width - w + 1))
  for b in range(batch):
    for s in range(scales):
      for i in range(height - h + 1):
        for j in range(width - w + 1):
          out[b, s, i, j] = np.sum(
              search[b, s, i:i + h, j:j + w] * exemplar[b])
  return out


def random_features(shape, seed):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize('batch,scales,h,w,height,width,channels', [
    (1, 1, 3, 3, 7, 7, 4),
    (2, 3, 3, 3, 9, 9, 5),
    (3, 1, 2, 4, 6, 9, 3),
    (4, 5, 1, 1, 4, 5, 2),
    (2, 2, 5, 5, 5, 5, 6),  # Search as large as the exemplar: 1x1 output.
])
@pytest.mark.parametrize('method', xcorr.METHODS)
def test_cross_correlate_matches_naive_loop(batch, scales, h, w, height,
                                            width, channels, method):
  exemplar = random_features((batch, h, w, channels), seed=batch)
  search = random_features((batch, scales, height, width, channels),
                           seed=scales + 10)
  got = xcorr.cross_correlate(jnp.asarray(exemplar), jnp.asarray(search),
                              method=method)
  assert got.shape == (batch, scales, height - h + 1, width - w + 1)
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(got), naive_xcorr(exemplar, search),
                             rtol=1e-4, atol=1e-4)


def test_cross_correlate_pairs_each_exemplar_with_its_own_search():
  # Exemplar b is all b+1 and search is all ones: every response of item b
  # is (b + 1) * h * w * C, so a mixed-up batch pairing would show.
  exemplar = jnp.stack([jnp.full((2, 2, 3), b + 1.0) for b in range(3)])
  search = jnp.ones((3, 2, 4, 4, 3))
  got = np.asarray(xcorr.cross_correlate(exemplar, search))
  for b in range(3):
    np.testing.assert_allclose(got[b], (b + 1) * 12.0)


def test_cross_correlate_real_feature_shapes():
  exemplar = random_features((2, 6, 6, 256), seed=1)
  search = random_features((2, 3, 22, 22, 256), seed=2)
  got = jax.jit(xcorr.cross_correlate)(exemplar, search)
  assert got.shape == (2, 3, 17, 17)
  np.testing.assert_allclose(np.asarray(got), naive_xcorr(exemplar, search),
                             rtol=1e-3, atol=1e-3)


def test_cross_correlate_bfloat16_gives_float32():
  exemplar = random_features((2, 3, 3, 8), seed=3)
  search = random_features((2, 2, 6, 6, 8), seed=4)
  got = xcorr.cross_correlate(jnp.asarray(exemplar, jnp.bfloat16),
                              jnp.asarray(search, jnp.bfloat16))
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(got), naive_xcorr(exemplar, search),
                             rtol=0.05, atol=0.3)


@pytest.mark.parametrize('exemplar_shape,search_shape', [
    ((6, 6, 8), (2, 3, 22, 22, 8)),  # Exemplar without batch axis.
    ((2, 6, 6, 8), (2, 22, 22, 8)),  # Search without scale axis.
    ((2, 6, 6, 8), (3, 1, 22, 22, 8)),  # Batch mismatch.
    ((2, 6, 6, 8), (2, 1, 22, 22, 4)),  # Channel mismatch.
    ((1, 2, 6, 6, 8), (2, 1, 22, 22, 8)),  # Exemplar with a scale axis.
])
def test_cross_correlate_bad_shapes_raise(exemplar_shape, search_shape):
  with pytest.raises(ValueError):
    xcorr.cross_correlate(jnp.zeros(exemplar_shape), jnp.zeros(search_shape))


_SHARDED_SCRIPT = textwrap.dedent("""
    import json
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    from siamfc_jax import xcorr

    assert jax.device_count() == 4, jax.devices()
    rng = np.random.default_rng(0)
    exemplar = rng.normal(size=(8, 3, 3, 16)).astype(np.float32)
    search = rng.normal(size=(8, 2, 9, 9, 16)).astype(np.float32)
    single = np.asarray(jax.jit(xcorr.cross_correlate)(exemplar, search))

    mesh = jax.make_mesh((4,), ('data',),
                         axis_types=(jax.sharding.AxisType.Auto,))
    sharding = NamedSharding(mesh, P('data'))
    exemplar_sharded = jax.device_put(exemplar, sharding)
    search_sharded = jax.device_put(search, sharding)
    out = jax.jit(xcorr.cross_correlate)(exemplar_sharded, search_sharded)
    want = NamedSharding(mesh, P('data', None, None, None))
    print(json.dumps({
        'max_diff': float(np.max(np.abs(np.asarray(out) - single))),
        'shape': list(out.shape),
        'spec': str(out.sharding.spec),
        'batch_sharded': out.sharding.is_equivalent_to(want, out.ndim),
        'shard_shapes': sorted({tuple(s.data.shape)
                                for s in out.addressable_shards}),
        'num_shards': len(out.addressable_shards),
    }))
""")


def test_cross_correlate_keeps_batch_sharding_on_four_devices():
  env = dict(os.environ)
  env['JAX_PLATFORMS'] = 'cpu'
  env['XLA_FLAGS'] = (env.get('XLA_FLAGS', '')
                      + ' --xla_force_host_platform_device_count=4').strip()
  result = subprocess.run([sys.executable, '-c', _SHARDED_SCRIPT], env=env,
                          capture_output=True, text=True, timeout=120,
                          check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  assert report['shape'] == [8, 2, 7, 7]
  assert report['max_diff'] < 1e-4
  assert report['num_shards'] == 4
  assert report['batch_sharded'], report['spec']
  assert report['shard_shapes'] == [[2, 2, 7, 7]]

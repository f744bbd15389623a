"""The SiamFC network: AlexNet-style embedding and the cross-correlation head.

Modules are Flax Linen and used functionally through ``init``/``apply`` with
explicit ``params`` and ``batch_stats`` collections.
"""

import functools
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from siamfc_jax import xcorr

Variables = Mapping[str, Any]

# N(0, 2/fan_in), as in the paper (He et al. initialisation without truncation).
he_normal = nn.initializers.variance_scaling(2.0, 'fan_in', 'normal')


def accumulation_dtype(dtype) -> jnp.dtype:
  """What convolutions of ``dtype`` accumulate and return in: float32 for
  bfloat16 and float32, float64 for float64 (reference runs under x64)."""
  return jnp.promote_types(dtype, jnp.float32)


CONV_ALGORITHMS = ('direct', 'im2col')


def im2col_conv(x: jax.Array, kernel: jax.Array, *, stride: int,
                preferred_element_type) -> jax.Array:
  """VALID NHWC x HWIO convolution as strided slices and one matrix product.

  XLA's CPU backend runs float64 convolutions with a naive loop (about 50x
  slower than float32; a float64 train step took over a minute), but its
  float64 matrix products are fast; this gives the same result.
  """
  patches = jnp.concatenate(
      [s for _, _, s in _windows(x, kernel.shape[0], stride)], axis=-1)
  return jnp.einsum('nhwk,ko->nhwo', patches,
                    kernel.reshape(-1, kernel.shape[-1]),
                    preferred_element_type=preferred_element_type)


class GroupedConv(nn.Module):
  """VALID convolution whose kernel is stored as (k, k, in/groups, out).

  The parameter layout is the same as ``nn.Conv(feature_group_count=g)``;
  ``split_groups`` and ``algorithm`` only change how it is computed: as one
  grouped convolution, or as ``groups`` ordinary convolutions on channel
  slices, which XLA's CPU backend runs much faster and gives identical
  results; each by XLA's convolution ('direct') or as a matrix product of
  image patches ('im2col', for float64 reference runs).
  """

  features: int
  kernel_size: int
  groups: int = 1
  strides: int = 1
  split_groups: bool = True
  dtype: Any = jnp.float32
  algorithm: str = 'direct'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    in_features = x.shape[-1]
    if in_features % self.groups or self.features % self.groups:
      raise ValueError(
          f'{in_features} inputs / {self.features} outputs do not split into'
          f' {self.groups} groups')
    k = self.kernel_size
    kernel = self.param('kernel', he_normal,
                        (k, k, in_features // self.groups, self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    x = x.astype(self.dtype)
    kernel = kernel.astype(self.dtype)
    if self.algorithm not in CONV_ALGORITHMS:
      raise ValueError(f'conv algorithm {self.algorithm!r} is not one of'
                       f' {CONV_ALGORITHMS}')
    if self.algorithm == 'im2col':
      conv = functools.partial(
          im2col_conv, stride=self.strides,
          preferred_element_type=accumulation_dtype(self.dtype))
    else:
      conv = functools.partial(
          jax.lax.conv_general_dilated,
          window_strides=(self.strides, self.strides),
          padding='VALID',
          dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
          preferred_element_type=accumulation_dtype(self.dtype))
    if self.groups == 1:
      y = conv(x, kernel)
    elif not self.split_groups and self.algorithm == 'direct':
      y = conv(x, kernel, feature_group_count=self.groups)
    else:  # im2col always splits the groups.
      xs = jnp.split(x, self.groups, axis=-1)
      ks = jnp.split(kernel, self.groups, axis=-1)
      y = jnp.concatenate([conv(xi, ki) for xi, ki in zip(xs, ks)], axis=-1)
    return y + bias


def _windows(x: jax.Array, window: int, stride: int):
  """(row offset, column offset, strided slice) for each position in a
  VALID window, row-major: the inputs of a pooling or a convolution."""
  rows = (x.shape[1] - window) // stride + 1
  cols = (x.shape[2] - window) // stride + 1
  return [(i, j, x[:, i:i + stride * (rows - 1) + 1:stride,
                   j:j + stride * (cols - 1) + 1:stride])
          for i in range(window) for j in range(window)]


def _max_pool_forward(x, window, stride):
  # The position of each window's first maximum (row-major) is kept as an
  # index, so that the gradient never compares floats: XLA may recompute x
  # inside the backward pass, rounded differently (fused multiply-adds),
  # and an equality test against y then drops gradients at random.
  windows = _windows(x, window, stride)
  y = windows[0][2]
  index = jnp.zeros(y.shape, jnp.int8)
  for k, (_, _, values) in enumerate(windows[1:], start=1):
    better = values > y
    y = jnp.where(better, values, y)
    index = jnp.where(better, jnp.int8(k), index)
  # A zero-size array carries x's shape and dtype to the backward pass.
  return y, (index, jnp.zeros((0, *x.shape), x.dtype))


def _max_pool_backward(window, stride, residuals, grad):
  # Each output's gradient goes to the first maximum of its window in
  # row-major order, as XLA's select-and-scatter does, but as one fused
  # loop instead of a scatter.
  index, like = residuals
  shape = like.shape[1:]
  dx = jnp.zeros(shape, grad.dtype)
  zero = jnp.zeros((), grad.dtype)
  for k, (i, j) in enumerate((i, j) for i in range(window)
                             for j in range(window)):
    padding = [(0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0)]
    for axis, offset in ((1, i), (2, j)):
      high = shape[axis] - offset - stride * (index.shape[axis] - 1) - 1
      padding[axis] = (offset, high, stride - 1)
    dx = dx + jax.lax.pad(jnp.where(index == k, grad, zero), zero, padding)
  return (dx.astype(like.dtype),)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def max_pool(x: jax.Array, window: int = 3, stride: int = 2) -> jax.Array:
  """VALID max pooling of (N, H, W, C), the same values as ``nn.max_pool``.

  Written as the maximum of strided slices with a hand-written gradient:
  XLA's CPU reduce-window and its select-and-scatter gradient took about a
  quarter of a train step.
  """
  return _max_pool_forward(x, window, stride)[0]


max_pool.defvjp(_max_pool_forward, _max_pool_backward)


def _batch_stats(x: jax.Array):
  axes = tuple(range(x.ndim - 1))
  mean = jnp.mean(x, axes)
  var = jnp.maximum(jnp.mean(jnp.square(x), axes) - jnp.square(mean), 0.0)
  return mean, var


def _normalize_relu(x, mean, var, scale, bias, epsilon):
  inv_std = jax.lax.rsqrt(var + epsilon)
  return jnp.maximum((x - mean) * (inv_std * scale) + bias, 0.0), inv_std


def _batch_norm_relu_forward(x, scale, bias, epsilon):
  mean, var = _batch_stats(x)
  y, inv_std = _normalize_relu(x, mean, var, scale, bias, epsilon)
  return (y, mean, var), (x, mean, inv_std, scale, y)


def _batch_norm_relu_backward(epsilon, residuals, cotangents):
  del epsilon
  x, mean, inv_std, scale, y = residuals
  grad, grad_mean, grad_var = cotangents
  axes = tuple(range(x.ndim - 1))
  count = x.size // x.shape[-1]
  grad = jnp.where(y > 0, grad, 0.0)
  centered = x - mean
  normalized = centered * inv_std
  grad_bias = jnp.sum(grad, axes)
  grad_scale = jnp.sum(grad * normalized, axes)
  grad_x = (scale * inv_std / count) * (
      count * grad - grad_bias - normalized * grad_scale)
  # The batch mean and variance are outputs too (for the running averages).
  grad_x = grad_x + (grad_mean + 2 * grad_var * centered) / count
  return grad_x, grad_scale, grad_bias


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def batch_norm_relu(x: jax.Array, scale: jax.Array, bias: jax.Array,
                    epsilon: float):
  """ReLU of batch-normalised x, with the batch mean and (biased) variance.

  The gradient is the closed form of BatchNorm's, in two passes over x
  instead of the several that autodiff of the statistics produces.
  """
  return _batch_norm_relu_forward(x, scale, bias, epsilon)[0]


batch_norm_relu.defvjp(_batch_norm_relu_forward, _batch_norm_relu_backward)


def materialize(x: jax.Array) -> jax.Array:
  """x itself, stored once rather than recomputed by the ops that read it.

  A train step reads each convolution's input again, transposed, for the
  weight gradient; XLA would recompute the BatchNorm, ReLU and max-pool
  that made it inside every such copy (about 6% of a CPU train step). The
  barrier holds only where XLA keeps barriers through fusion: on GPUs, and
  on the CPU with the flags of siamfc_jax/xla.py.
  """
  return jax.lax.optimization_barrier(x)


class BatchNormReLU(nn.Module):
  """BatchNorm followed by ReLU over the last axis.

  Variables and updates are those of ``nn.BatchNorm`` (params scale, bias;
  batch_stats mean, var; ``ra = momentum * ra + (1 - momentum) * batch``).
  """

  use_running_average: bool
  momentum: float
  epsilon: float

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    features = x.shape[-1]
    scale = self.param('scale', nn.initializers.ones, (features,))
    bias = self.param('bias', nn.initializers.zeros, (features,))
    ra_mean = self.variable('batch_stats', 'mean', jnp.zeros, (features,))
    ra_var = self.variable('batch_stats', 'var', jnp.ones, (features,))
    if self.use_running_average:
      return _normalize_relu(x, ra_mean.value, ra_var.value, scale, bias,
                             self.epsilon)[0]
    y, mean, var = batch_norm_relu(x, scale, bias, self.epsilon)
    if not self.is_initializing():
      ra_mean.value = (self.momentum * ra_mean.value
                       + (1 - self.momentum) * mean)
      ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
    return y


class AlexNetEmbedding(nn.Module):
  """Fully convolutional AlexNet of SiamFC; total stride 8, no padding.

  127x127 exemplars map to 6x6x256 and 255x255 search images to 22x22x256.
  Inputs are RGB pixel values in [0, 255], as in the original model.
  """

  bn_momentum: float = 0.95
  bn_epsilon: float = 1e-6
  split_groups: bool = True
  dtype: Any = jnp.float32
  conv_algorithm: str = 'direct'

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    conv = functools.partial(
        GroupedConv, split_groups=self.split_groups, dtype=self.dtype,
        algorithm=self.conv_algorithm)
    norm_relu = functools.partial(
        BatchNormReLU, use_running_average=not train,
        momentum=self.bn_momentum, epsilon=self.bn_epsilon)
    stored = materialize if train else lambda x: x
    x = images.astype(accumulation_dtype(self.dtype))
    x = norm_relu(name='bn1')(conv(96, 11, strides=2, name='conv1')(x))
    x = stored(max_pool(x))
    x = norm_relu(name='bn2')(conv(256, 5, groups=2, name='conv2')(x))
    x = stored(max_pool(x))
    x = stored(norm_relu(name='bn3')(conv(384, 3, name='conv3')(x)))
    x = stored(norm_relu(name='bn4')(conv(384, 3, groups=2, name='conv4')(x)))
    return conv(256, 3, groups=2, name='conv5')(x)


class SiamFC(nn.Module):
  """Embedding plus the score head ``f(z, x) = gain * (phi(z) * phi(x)) + b``.

  ``__call__`` scores exemplars (B, 127, 127, 3) against search images
  (B, S, 255, 255, 3) and returns (B, S, 17, 17). ``embed`` and ``score``
  are exposed separately so the tracker embeds the exemplar only once.
  """

  score_gain: float = 1e-3
  bn_momentum: float = 0.95
  bn_epsilon: float = 1e-6
  split_groups: bool = True
  dtype: Any = jnp.float32
  conv_algorithm: str = 'direct'

  def setup(self):
    self.embedding = AlexNetEmbedding(
        bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon,
        split_groups=self.split_groups, dtype=self.dtype,
        conv_algorithm=self.conv_algorithm)
    self.score_bias = self.param('score_bias', nn.initializers.zeros, ())

  def embed(self, images: jax.Array, *, train: bool = False) -> jax.Array:
    return self.embedding(images, train=train)

  def score(self, exemplar_features: jax.Array, search_features: jax.Array,
            *, xcorr_method: str = 'conv') -> jax.Array:
    response = xcorr.cross_correlate(exemplar_features, search_features,
                                     method=xcorr_method)
    return self.score_gain * response + self.score_bias

  def __call__(self, exemplars: jax.Array, searches: jax.Array, *,
               train: bool) -> jax.Array:
    batch, scales = searches.shape[:2]
    z = self.embed(exemplars, train=train)
    x = self.embed(searches.reshape(batch * scales, *searches.shape[2:]),
                   train=train)
    # Training differentiates the scores, which the grouped convolution
    # gets wrong on a sharded batch (xcorr.cross_correlate).
    return self.score(z, x.reshape(batch, scales, *x.shape[1:]),
                      xcorr_method='shifts' if train else 'conv')


def create_model(config: ml_collections.ConfigDict) -> SiamFC:
  """Builds the network from a ``config.model`` ConfigDict."""
  return SiamFC(
      score_gain=config.score_gain,
      bn_momentum=config.bn_momentum,
      bn_epsilon=config.bn_epsilon,
      split_groups=config.split_groups,
      dtype=jnp.dtype(config.dtype),
      conv_algorithm=config.conv_algorithm)


def init_variables(model: SiamFC, rng: jax.Array, *,
                   exemplar_size: int = 127,
                   search_size: int = 255) -> dict[str, Any]:
  """Returns freshly initialised ``{'params', 'batch_stats'}``."""
  z = jnp.zeros((1, exemplar_size, exemplar_size, 3), jnp.float32)
  x = jnp.zeros((1, 1, search_size, search_size, 3), jnp.float32)
  variables = jax.jit(functools.partial(model.init, train=False))(rng, z, x)
  return dict(variables)

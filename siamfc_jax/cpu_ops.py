"""Ops of the network tuned for XLA's CPU backend.

The network (siamfc_jax.model) uses these with ``config.model.ops`` =
'cpu_tuned', which 'auto' (the default) picks on the CPU, and plain flax/lax
ops otherwise ('plain', picked on GPUs and TPUs). Each gives the values and
gradients of the plain op it replaces, to float32 rounding (tested); the
speed-ups were measured on CPUs only (README, Speed):

- ``max_pool`` and ``batch_norm_relu``: hand-written gradients, for
  XLA's CPU select-and-scatter and autodiff of the batch statistics;
- ``materialize``: optimisation barriers that keep a train step from
  recomputing each convolution's input;
- ``split_group_conv``: a grouped convolution as ordinary ones on channel
  slices;
- ``im2col_conv``: a convolution as a matrix product of image patches, for
  float64 reference runs (chosen apart, by ``config.model.conv_algorithm``,
  among the algorithms of siamfc_jax/conv_algorithms.py).
"""

import functools
from typing import Callable

import jax
import jax.numpy as jnp


def windows(x: jax.Array, window: int, stride: int):
  """(row offset, column offset, strided slice) for each position in a
  VALID window, row-major: the inputs of a pooling or a convolution."""
  rows = (x.shape[1] - window) // stride + 1
  cols = (x.shape[2] - window) // stride + 1
  return [(i, j, x[:, i:i + stride * (rows - 1) + 1:stride,
                   j:j + stride * (cols - 1) + 1:stride])
          for i in range(window) for j in range(window)]


def im2col_conv(x: jax.Array, kernel: jax.Array, *, stride: int,
                preferred_element_type) -> jax.Array:
  """VALID NHWC x HWIO convolution as strided slices and one matrix product.

  XLA's CPU backend runs float64 convolutions with a naive loop (about 50x
  slower than float32; a float64 train step took over a minute), but its
  float64 matrix products are fast; this gives the same result.
  """
  patches = jnp.concatenate(
      [s for _, _, s in windows(x, kernel.shape[0], stride)], axis=-1)
  return jnp.einsum('nhwk,ko->nhwo', patches,
                    kernel.reshape(-1, kernel.shape[-1]),
                    preferred_element_type=preferred_element_type)


def split_group_conv(conv: Callable[[jax.Array, jax.Array], jax.Array],
                     x: jax.Array, kernel: jax.Array,
                     groups: int) -> jax.Array:
  """``conv`` with ``groups`` feature groups, as ``groups`` ordinary
  convolutions on channel slices.

  XLA's CPU backend runs the grouped convolution, and above all its
  gradients, much slower (3.2x slower train step); the results are the same.
  """
  xs = jnp.split(x, groups, axis=-1)
  ks = jnp.split(kernel, groups, axis=-1)
  return jnp.concatenate([conv(xi, ki) for xi, ki in zip(xs, ks)], axis=-1)


def _max_pool_forward(x, window, stride):
  # The position of each window's first maximum (row-major) is kept as an
  # index, so that the gradient never compares floats: XLA may recompute x
  # inside the backward pass, rounded differently (fused multiply-adds),
  # and an equality test against y then drops gradients at random.
  slices = windows(x, window, stride)
  y = slices[0][2]
  index = jnp.zeros(y.shape, jnp.int8)
  for k, (_, _, values) in enumerate(slices[1:], start=1):
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


# The forward computation of BatchNorm+ReLU, also that of the plain op
# (model.py), so that both give the same values.


def batch_stats(x: jax.Array):
  """Mean and biased variance over all axes but the last, as
  ``nn.BatchNorm`` computes them (E[x^2] - E[x]^2, clipped at 0)."""
  axes = tuple(range(x.ndim - 1))
  mean = jnp.mean(x, axes)
  var = jnp.maximum(jnp.mean(jnp.square(x), axes) - jnp.square(mean), 0.0)
  return mean, var


def normalize_relu(x, mean, var, scale, bias, epsilon):
  """ReLU of x normalised by mean and var; also returns 1/std."""
  inv_std = jax.lax.rsqrt(var + epsilon)
  return jnp.maximum((x - mean) * (inv_std * scale) + bias, 0.0), inv_std


def _batch_norm_relu_forward(x, scale, bias, epsilon):
  mean, var = batch_stats(x)
  y, inv_std = normalize_relu(x, mean, var, scale, bias, epsilon)
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

"""Other ways of computing the convolutions of the network, in jnp/lax.

``config.model.conv_algorithm`` chooses how each convolution of the network
is computed (model.GroupedConv, per layer by ``layer_algorithm``); the
parameters and, to float rounding, the values and gradients are the same
whichever it is:

- 'direct': XLA's convolution (the default; see README, Speed, for why);
- 'im2col': a matrix product of image patches (cpu_ops.im2col_conv, for
  float64 reference runs);
- 'space_to_depth': a strided convolution (conv1, 11x11 stride 2) as a
  stride-1 convolution of the image with its 2x2 pixel blocks stacked into
  channels (6x6 on 12 channels: a few more multiplies, by the zero taps
  that pad 11 to 12, but a weight gradient XLA computes faster), the
  others direct; differentiated by autodiff;
- 'winograd': the stride-1 convolutions whose kernel side has a tile in
  WINOGRAD_TILES (the 3x3 ones, conv3-5) by Winograd's minimal filtering
  F(m x m, r x r): tiles of the input and the kernel are transformed by
  small constant matrices, multiplied point by point as a batch of matrix
  products over the channels, and transformed back, m*m*r*r / (m+r-1)^2
  times fewer multiplies than direct; the gradients are the direct
  convolution's (winograd_conv); the others direct;
- 'space_to_depth_winograd': both.

The transforms are written as strided slices and sums with constant
coefficients (zeros skipped) that XLA fuses, never as gathered tiles.
"""

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from siamfc_jax import cpu_ops

# Network-wide choices (config.model.conv_algorithm), each mapped to one
# per-layer algorithm by ``layer_algorithm``.
ALGORITHMS = ('direct', 'im2col', 'space_to_depth', 'winograd',
              'space_to_depth_winograd')

# Output tile side m of F(m x m, r x r) for each kernel side r that
# 'winograd' computes so. Measured on an Intel Xeon (AVX-512) against the
# direct convolution, forward: F(2x2, 3x3) 1.05-1.14x as fast on conv3,
# 0.94-1.19x on conv4, 0.98-1.07x on conv5; F(4x4, 3x3) 0.74-0.99x, with a
# float32 error 10x larger (1e-5). conv2's 5x5 ran at 0.23-0.59x (F(2x2,
# 5x5) and F(4x4, 5x5)): its 48 channels per group make the transformed
# tiles (9x or 4x the input) cost more than the products save, so it stays
# direct. The interpolation points are 0, +-1, +-2, +-1/2 and infinity, as
# in Lavin and Gray (2016).
WINOGRAD_TILES = {3: 2}
_POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)


def layer_algorithm(algorithm: str, *, kernel_size: int, strides: int) -> str:
  """'direct', 'im2col', 'space_to_depth' or 'winograd' for one layer.

  Space-to-depth applies to strided layers, Winograd to stride-1 layers
  whose kernel side has a tile in WINOGRAD_TILES; the rest is direct.
  """
  if algorithm not in ALGORITHMS:
    raise ValueError(f'conv algorithm {algorithm!r} is not one of'
                     f' {ALGORITHMS}')
  if algorithm in ('direct', 'im2col'):
    return algorithm
  if strides > 1 and 'space_to_depth' in algorithm:
    return 'space_to_depth'
  if (strides == 1 and 'winograd' in algorithm
      and kernel_size in WINOGRAD_TILES):
    return 'winograd'
  return 'direct'


def direct_conv(x: jax.Array, kernel: jax.Array, *, stride: int = 1,
                feature_group_count: int = 1,
                preferred_element_type=None) -> jax.Array:
  """XLA's VALID NHWC x HWIO convolution."""
  return jax.lax.conv_general_dilated(
      x, kernel, window_strides=(stride, stride), padding='VALID',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
      feature_group_count=feature_group_count,
      preferred_element_type=preferred_element_type)


def _pad_to(x: jax.Array, height: int, width: int) -> jax.Array:
  """x (NHWC) with zero rows and columns appended up to height x width."""
  return jnp.pad(x, ((0, 0), (0, height - x.shape[1]),
                     (0, width - x.shape[2]), (0, 0)))


def space_to_depth_conv(x: jax.Array, kernel: jax.Array, *, stride: int,
                        preferred_element_type=None) -> jax.Array:
  """VALID stride-s convolution as a stride-1 one on s x s pixel blocks.

  The k x k kernel is padded with zeros to a multiple of s and both it and
  the image have each s x s block stacked into channels (block row, block
  column, channel), so that the products and sums are those of the strided
  convolution with zero taps added: the same values to float32 rounding.
  """
  s = stride
  n, height, width, channels = x.shape
  k = kernel.shape[0]
  blocks = -(-k // s)  # Kernel side in blocks.
  rows = (height - k) // s + 1
  cols = (width - k) // s + 1
  # Only the pixels the strided convolution reads, padded to whole blocks.
  x = _pad_to(x[:, :(rows + blocks - 1) * s, :(cols + blocks - 1) * s],
              (rows + blocks - 1) * s, (cols + blocks - 1) * s)
  x = x.reshape(n, rows + blocks - 1, s, cols + blocks - 1, s, channels)
  x = x.transpose(0, 1, 3, 2, 4, 5).reshape(
      n, rows + blocks - 1, cols + blocks - 1, s * s * channels)
  kernel = jnp.pad(kernel, ((0, blocks * s - k), (0, blocks * s - k),
                            (0, 0), (0, 0)))
  inputs, outputs = kernel.shape[2:]
  kernel = kernel.reshape(blocks, s, blocks, s, inputs, outputs)
  kernel = kernel.transpose(0, 2, 1, 3, 4, 5).reshape(
      blocks, blocks, s * s * inputs, outputs)
  return direct_conv(x, kernel, preferred_element_type=preferred_element_type)


@functools.lru_cache(maxsize=None)
def winograd_matrices(m: int, r: int):
  """(A^T (m, a), G (a, r), B^T (a, a)) of F(m, r), a = m + r - 1, float64.

  For a 1-D signal d of a values and a filter g of r: the correlation
  y_i = sum_j g_j d_{i+j} (i < m) is A^T [(G g) * (B^T d)]. Built by
  Toom-Cook on the points 0, +-1, +-2, ... and infinity: G evaluates the
  filter, A^T the output polynomial and B^T is the transposed inverse of
  the Vandermonde matrix (the transposition principle); each row of B^T is
  scaled to a smallest coefficient of +-1 (small multiples of 1/4, exact
  in any float, e.g. integers for F(2, 3) and F(4, 3)), its inverse moved
  into G.
  """
  a = m + r - 1
  points = _POINTS[:a - 1]
  if len(points) < a - 1:
    raise ValueError(f'F({m}, {r}) needs more than {len(_POINTS)} points')

  def vandermonde(columns):
    rows = [[p ** j for j in range(columns)] for p in points]
    return np.array(rows + [[0.0] * (columns - 1) + [1.0]])  # Infinity.

  g = vandermonde(r)
  at = vandermonde(m).T
  bt = np.linalg.inv(vandermonde(a)).T
  scale = np.array([[np.abs(row[np.abs(row) > 1e-12]).min()] for row in bt])
  bt, g = bt / scale, g * scale
  # Exactly the multiples of 1/4 that the inverse gives to rounding.
  snapped = np.round(bt * 4) / 4
  bt = np.where(np.abs(bt - snapped) < 1e-9, snapped, bt)
  # The identity above, checked on the unit signals and filters.
  product = np.einsum('ki,ij,il->kjl', at, g, bt)
  expected = np.zeros((m, r, a))
  for i in range(m):
    for j in range(r):
      expected[i, j, i + j] = 1.0
  np.testing.assert_allclose(product, expected, atol=1e-12)
  return at, g, bt


def _combine(terms: list[tuple[float, jax.Array]]) -> jax.Array:
  """sum(c * t) with zero coefficients skipped and +-1 as sums and
  differences, for XLA to fuse into one loop."""
  total = None
  for c, t in terms:
    if c == 0:
      continue
    term = t if c in (1, -1) else t * jnp.asarray(c, t.dtype)
    if total is None:
      total = -term if c == -1 else term
    else:
      total = total - term if c == -1 else total + term
  return total


def _transform(matrix: np.ndarray, pieces: Callable[[int], jax.Array]):
  """[sum_k matrix[i, k] * pieces(k) for each row i]."""
  return [_combine([(float(c), pieces(k)) for k, c in enumerate(row)])
          for row in matrix]


def winograd_transforms_conv(x: jax.Array, kernel: jax.Array, *,
                             stride: int = 1, tile: int | None = None,
                             preferred_element_type=None) -> jax.Array:
  """VALID stride-1 NHWC x HWIO convolution by Winograd's F(m x m, r x r).

  Differentiated by autodiff through the transforms (see winograd_conv).

  Args:
    x: (N, H, W, C) inputs.
    kernel: (r, r, C, O); groups are split by the caller
      (cpu_ops.split_group_conv).
    stride: must be 1.
    tile: the output tile side m (default WINOGRAD_TILES[r]).
    preferred_element_type: the dtype of the transforms, of the products'
      accumulation and of the result (default x's); the transformed inputs
      and kernel are multiplied in x's dtype (bfloat16 products of float32
      transforms for a bfloat16 network).

  Returns:
    (N, H - r + 1, W - r + 1, O).
  """
  if stride != 1:
    raise ValueError(f'Winograd convolutions have stride 1, not {stride}')
  r = kernel.shape[0]
  if tile is None and r not in WINOGRAD_TILES:
    raise ValueError(f'no Winograd tile for {r}x{r} kernels: pass tile or'
                     f' add one to WINOGRAD_TILES {WINOGRAD_TILES}')
  m = tile or WINOGRAD_TILES[r]
  a = m + r - 1
  at, g, bt = winograd_matrices(m, r)
  product_dtype = x.dtype
  accumulation = preferred_element_type or x.dtype
  n, height, width, channels = x.shape
  rows, cols = height - r + 1, width - r + 1
  tiles_h, tiles_w = -(-rows // m), -(-cols // m)
  x = _pad_to(x.astype(accumulation), (tiles_h - 1) * m + a,
              (tiles_w - 1) * m + a)
  kernel = kernel.astype(accumulation)

  # B^T d B over all tiles at once, as strided slices: row k of every
  # tile, then column l of every tile row.
  by_rows = _transform(bt, lambda k: x[:, k:k + (tiles_h - 1) * m + 1:m])
  v = jnp.stack([
      t for row in by_rows for t in _transform(
          bt, lambda l, row=row: row[:, :, l:l + (tiles_w - 1) * m + 1:m])])
  # G g G^T, the same way (an einsum of it took 26 ms for conv3's kernel).
  by_rows = _transform(g, lambda k: kernel[k])
  u = jnp.stack([t for row in by_rows
                 for t in _transform(g, lambda l, row=row: row[l])])
  # One (tiles, C) x (C, O) product per tile position.
  products = jax.lax.dot_general(
      v.reshape(a * a, -1, channels).astype(product_dtype),
      u.astype(product_dtype), (((2,), (1,)), ((0,), (0,))),
      preferred_element_type=accumulation)
  products = products.reshape(a, a, n, tiles_h, tiles_w, -1)
  # A^T M A, stacked straight into (N, tile row, m, tile column, m, O).
  by_rows = _transform(at, lambda i: products[i])
  y = jnp.stack([jnp.stack(_transform(at, lambda j, row=row: row[j]), axis=3)
                 for row in by_rows], axis=2)
  return y.reshape(n, tiles_h * m, tiles_w * m, -1)[:, :rows, :cols]


def _winograd_forward(x, kernel, tile, preferred_element_type):
  y = winograd_transforms_conv(x, kernel, tile=tile,
                               preferred_element_type=preferred_element_type)
  return y, (x, kernel)


def _winograd_backward(tile, preferred_element_type, residuals, grad):
  del tile
  x, kernel = residuals
  _, pullback = jax.vjp(
      functools.partial(direct_conv,
                        preferred_element_type=preferred_element_type),
      x, kernel)
  return pullback(grad)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _winograd(x, kernel, tile, preferred_element_type):
  return _winograd_forward(x, kernel, tile, preferred_element_type)[0]


_winograd.defvjp(_winograd_forward, _winograd_backward)


def winograd_conv(x: jax.Array, kernel: jax.Array, *, stride: int = 1,
                  tile: int | None = None,
                  preferred_element_type=None) -> jax.Array:
  """winograd_transforms_conv's values, with the direct convolution's
  gradients (the same function: Winograd's is exact but for rounding).

  Autodiff through the transforms ran the weight and input gradients at
  0.1-0.6x the speed of the direct ones on an Intel Xeon (0.1x for
  F(4x4, 3x3)): the transposed strided slices become pads and sums that
  XLA does not fuse well.
  """
  if stride != 1:
    raise ValueError(f'Winograd convolutions have stride 1, not {stride}')
  return _winograd(x, kernel, tile, preferred_element_type)


# The convolution of each per-layer algorithm (layer_algorithm), all called
# as conv(x, kernel, stride=..., preferred_element_type=...).
LAYER_CONVS = {
    'direct': direct_conv,
    'im2col': cpu_ops.im2col_conv,
    'space_to_depth': space_to_depth_conv,
    'winograd': winograd_conv,
}

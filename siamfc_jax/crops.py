"""SiamFC context crops and scale pyramids (jittable).

A crop is a square window of side ``size`` (in frame pixels) centred on
``center`` and resampled bilinearly to ``out_size`` pixels; where the window
leaves the frame it is filled with ``pad_color`` (SiamFC uses the frame's
mean colour). Output pixel ``i`` samples frame coordinate
``center + (i - (out_size - 1) / 2) * size / out_size``, so pixel centres of
the crop and of the frame stay aligned.

Two options reproduce siamfc-pytorch's ``ops.crop_and_resize``: the window
rounded to whole pixels (``window='whole_pixels'``) and OpenCV's fixed-point
``cv2.resize(INTER_LINEAR)`` of the uint8 window (``resample='cv2_linear'``,
bit-exact; see ``_cv2_linear_crop``).
"""

import jax
import jax.numpy as jnp

WINDOWS = ('subpixel', 'whole_pixels')
RESAMPLINGS = ('bilinear', 'cv2_linear')

# OpenCV's INTER_RESIZE_COEF_BITS: bilinear weights are multiples of 2^-11.
_COEF_BITS = 11


def exemplar_size_in_frame(target_size, context: float) -> jax.Array:
  """Side of the exemplar window: sqrt((w + p)(h + p)), p = context (w + h)."""
  target_size = jnp.asarray(target_size, jnp.float32)
  pad = context * jnp.sum(target_size, axis=-1, keepdims=True)
  return jnp.sqrt(jnp.prod(target_size + pad, axis=-1))


def whole_pixel_window(center, size) -> tuple[jax.Array, jax.Array]:
  """siamfc-pytorch's window: ``round(size)`` whole pixels about ``center``.

  Args:
    center: (cy, cx) in 0-based frame coordinates.
    size: window side in frame pixels.

  Returns:
    (corner, side): the (row, col) of the window's first pixel and its
    side, integer-valued float32; ``corner = round(center - (side - 1) / 2)``
    and ``side = round(size)``, rounding half to even as NumPy does.
  """
  side = jnp.round(jnp.asarray(size, jnp.float32))
  corner = jnp.round(jnp.asarray(center, jnp.float32) - (side - 1) / 2)
  return corner, side


def _axis_taps(center, size, out_size: int, length: int):
  """Indices and weights of the two bilinear taps along one axis.

  Taps that fall outside [0, length) get weight zero; the caller fills
  the missing weight with the pad colour.
  """
  steps = jnp.arange(out_size, dtype=jnp.float32) - (out_size - 1) / 2
  coords = center + steps * (size / out_size)
  low = jnp.floor(coords)
  frac = coords - low
  low = low.astype(jnp.int32)
  indices, weights = [], []
  for idx, weight in ((low, 1 - frac), (low + 1, frac)):
    inside = (idx >= 0) & (idx < length)
    indices.append(jnp.clip(idx, 0, length - 1))
    weights.append(jnp.where(inside, weight, 0.0))
  return indices, weights


def _bilinear_crop(frame, center, size, out_size: int, pad_color):
  height, width = frame.shape[:2]
  # Separable bilinear sampling of (frame - pad): out-of-frame taps contribute
  # zero, i.e. the pad colour once it is added back.
  shifted = frame.astype(jnp.float32) - pad_color
  rows, row_weights = _axis_taps(center[0], size, out_size, height)
  cols, col_weights = _axis_taps(center[1], size, out_size, width)
  sampled_rows = sum(w[:, None, None] * shifted[r]
                     for r, w in zip(rows, row_weights))
  sampled = sum(w[None, :, None] * sampled_rows[:, c]
                for c, w in zip(cols, col_weights))
  return sampled + pad_color


def _round_half_even_div(num, den):
  """round_half_even(num / den) for non-negative integer arrays."""
  quotient, remainder = num // den, num % den
  up = (2 * remainder > den) | ((2 * remainder == den) & (quotient % 2 == 1))
  return quotient + up.astype(quotient.dtype)


def cv2_linear_taps(side, out_size: int) -> tuple[jax.Array, jax.Array]:
  """cv2.resize(INTER_LINEAR)'s sample points along one axis, exactly.

  OpenCV samples window coordinate ``f = float32((i + 0.5) * side /
  out_size - 0.5)`` (computed in double) and weighs the tap above it with
  ``round_half_even(2048 * (f - floor(f)))``. Here f = num / den with num =
  (2i + 1) side - out_size and den = 2 out_size, and both are found in
  integers, so that no float division (which XLA may turn into a rounded
  reciprocal) decides a weight.

  Args:
    side: window side in pixels, an integer (traced or not).
    out_size: number of output pixels (static), below 512 so that the
      integers fit in 32 bits.

  Returns:
    (floor(f), weight of the upper tap in 1/2048), int32 (out_size,) each.
  """
  if not 0 < out_size < 512:
    raise ValueError(f'out_size {out_size} outside 1..511')
  i = jnp.arange(out_size, dtype=jnp.int32)
  num = (2 * i + 1) * jnp.asarray(side).astype(jnp.int32) - out_size
  den = 2 * out_size
  low = num // den  # Floor division, also for num < 0 (only low = -1).
  rem = num - low * den  # f - low = rem / den, in [0, 1).
  # low <= 0: float32 holds f to 2^-24, while 2048 rem / den is never within
  # 1 / den of a half-integer, so the weight is the rational one rounded.
  small = _round_half_even_div(1024 * rem, out_size)
  # low >= 1: float32(f) keeps `bits` fraction bits; round rem / den to them
  # (an exact half cannot occur for odd out_size; even sizes get half to
  # even, as float32 rounding does), then 2048x that to an integer.
  exponent = 31 - jax.lax.clz(jnp.maximum(low, 1))
  bits = jnp.maximum(23 - exponent, 1).astype(jnp.uint32)
  frac = _round_half_even_div(rem.astype(jnp.uint32) << (bits - 1),
                              jnp.uint32(out_size))
  carry = frac >> bits  # float32(f) rounded up to low + 1.
  frac = jnp.where(carry > 0, 0, frac)
  coarse = frac << jnp.where(bits < _COEF_BITS, _COEF_BITS - bits, 0)
  shift = jnp.where(bits > _COEF_BITS, bits - _COEF_BITS, 0)
  fine = _round_half_even_div(frac, jnp.uint32(1) << shift)
  large = jnp.where(bits <= _COEF_BITS, coarse, fine).astype(jnp.int32)
  weight = jnp.where(low >= 1, large, small)
  return low + (low >= 1) * carry.astype(jnp.int32), weight


def _cv2_linear_crop(frame, corner, side, out_size: int, pad_color):
  """``cv2.resize(window, (out_size, out_size), INTER_LINEAR)``, bit-exact.

  The window is the uint8 frame's pixels ``corner .. corner + side - 1``
  per axis, those outside the frame being ``round(pad_color)`` (what
  ``cv2.copyMakeBorder`` pads with). OpenCV's fixed-point arithmetic
  (OpenCV 4 on x86, checked against ``cv2.resize``): per axis tap ``s =
  floor(f)`` and weight ``w1`` from ``cv2_linear_taps``, ``w0 = 2048 - w1``;
  along columns a sample before the first or after the last pixel takes
  that pixel (weight cleared), along rows the tap indices are clamped to the
  window; ``h = w0 P[x0] + w1 P[x1]`` per row, then ``((v0 (h0 >> 4)) >> 16
  + (v1 (h1 >> 4)) >> 16 + 2) >> 2`` (OpenCV's SIMD rounding).
  """
  height, width, _ = frame.shape
  if jnp.issubdtype(frame.dtype, jnp.integer):
    pixels = frame.astype(jnp.int32)
  else:  # Float frames, e.g. padded to a common size: whole values.
    pixels = jnp.clip(jnp.round(frame), 0, 255).astype(jnp.int32)
  pad = jnp.clip(jnp.round(jnp.asarray(pad_color, jnp.float32)), 0, 255
                 ).astype(jnp.int32)
  side = jnp.asarray(side).astype(jnp.int32)
  corner = jnp.asarray(corner).astype(jnp.int32)
  low, weight = cv2_linear_taps(side, out_size)
  one = 1 << _COEF_BITS
  row_taps = [jnp.clip(low, 0, side - 1), jnp.clip(low + 1, 0, side - 1)]
  row_weights = [one - weight, weight]
  off_window = (low < 0) | (low >= side - 1)
  col_low = jnp.clip(low, 0, side - 1)
  col_taps = [col_low, jnp.minimum(col_low + 1, side - 1)]
  col_weight = jnp.where(off_window, 0, weight)
  col_weights = [one - col_weight, col_weight]

  def in_frame(taps, start, length):
    position = start + taps
    inside = (position >= 0) & (position < length)
    return jnp.clip(position, 0, length - 1), inside

  cols = [in_frame(t, corner[1], width) for t in col_taps]
  passes = []
  for taps in row_taps:
    rows, row_inside = in_frame(taps, corner[0], height)
    picked = pixels[rows]
    horizontal = 0
    for (index, col_inside), w in zip(cols, col_weights):
      inside = row_inside[:, None, None] & col_inside[None, :, None]
      values = jnp.where(inside, picked[:, index], pad)
      horizontal = horizontal + w[None, :, None] * values
    passes.append(horizontal)
  out = sum((w[:, None, None] * (h >> 4)) >> 16
            for h, w in zip(passes, row_weights))
  return ((out + 2) >> 2).astype(jnp.float32)


def crop(frame: jax.Array, center, size, out_size: int, pad_color, *,
         window: str = 'subpixel', resample: str = 'bilinear') -> jax.Array:
  """Extracts one square crop.

  Args:
    frame: (H, W, C) image, any numeric dtype.
    center: (cy, cx) window centre in 0-based frame coordinates.
    size: window side in frame pixels.
    out_size: output side in pixels (static).
    pad_color: (C,) colour for the part of the window outside the frame.
    window: 'subpixel' uses ``center`` and ``size`` as they are;
      'whole_pixels' first rounds them as ``whole_pixel_window`` (static).
    resample: 'bilinear' samples the frame (float, taps outside the window
      read the frame); 'cv2_linear' is cv2.resize(INTER_LINEAR) of the
      window, integer-valued (needs 'whole_pixels'; static).

  Returns:
    (out_size, out_size, C) float32 crop.
  """
  if window not in WINDOWS or resample not in RESAMPLINGS:
    raise ValueError(f'window {window!r} / resample {resample!r}: choose'
                     f' from {WINDOWS} / {RESAMPLINGS}')
  center = jnp.asarray(center, jnp.float32)
  size = jnp.asarray(size, jnp.float32)
  if window == 'whole_pixels':
    corner, side = whole_pixel_window(center, size)
    if resample == 'cv2_linear':
      return _cv2_linear_crop(frame, corner, side, out_size, pad_color)
    center, size = corner + (side - 1) / 2, side
  elif resample == 'cv2_linear':
    raise ValueError("resample='cv2_linear' needs window='whole_pixels'")
  return _bilinear_crop(frame, center, size, out_size,
                        jnp.asarray(pad_color, jnp.float32))


def crop_pyramid(frame: jax.Array, center, sizes, out_size: int,
                 pad_color, **options) -> jax.Array:
  """Crops of several sizes around one centre: (S, out_size, out_size, C).

  ``options`` are ``crop``'s ``window`` and ``resample``.
  """
  def one(size):
    return crop(frame, center, size, out_size, pad_color, **options)
  return jax.vmap(one)(jnp.asarray(sizes, jnp.float32))


def mean_color(frame: jax.Array) -> jax.Array:
  """Per-channel mean of a (H, W, C) frame, the SiamFC padding colour."""
  return jnp.mean(frame.astype(jnp.float32), axis=(0, 1))


def rounded_mean_color(frame: jax.Array) -> jax.Array:
  """Per-channel mean rounded half to even, as siamfc-pytorch pads with.

  siamfc-pytorch hands NumPy's float64 mean to ``cv2.copyMakeBorder``,
  which rounds it half to even. For integer frames the exact integer sum
  is rounded (a float32 mean could land on the wrong side of a half);
  values up to 255 on up to 16.8 million pixels fit in 32 bits.

  Returns:
    (C,) float32, whole values.
  """
  if not jnp.issubdtype(frame.dtype, jnp.integer):
    return jnp.round(mean_color(frame))
  count = frame.shape[0] * frame.shape[1]
  total = jnp.sum(frame.astype(jnp.uint32), axis=(0, 1), dtype=jnp.uint32)
  return _round_half_even_div(total, jnp.uint32(count)).astype(jnp.float32)

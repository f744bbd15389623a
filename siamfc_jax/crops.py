"""SiamFC context crops and scale pyramids (jittable).

A crop is a square window of side ``size`` (in frame pixels) centred on
``center`` and resampled bilinearly to ``out_size`` pixels; where the window
leaves the frame it is filled with ``pad_color`` (SiamFC uses the frame's
mean colour). Output pixel ``i`` samples frame coordinate
``center + (i - (out_size - 1) / 2) * size / out_size``, so pixel centres of
the crop and of the frame stay aligned.
"""

import jax
import jax.numpy as jnp


def exemplar_size_in_frame(target_size, context: float) -> jax.Array:
  """Side of the exemplar window: sqrt((w + p)(h + p)), p = context (w + h)."""
  target_size = jnp.asarray(target_size, jnp.float32)
  pad = context * jnp.sum(target_size, axis=-1, keepdims=True)
  return jnp.sqrt(jnp.prod(target_size + pad, axis=-1))


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


def crop(frame: jax.Array, center, size, out_size: int,
         pad_color) -> jax.Array:
  """Extracts one square crop.

  Args:
    frame: (H, W, C) image, any numeric dtype.
    center: (cy, cx) window centre in 0-based frame coordinates.
    size: window side in frame pixels.
    out_size: output side in pixels (static).
    pad_color: (C,) colour for the part of the window outside the frame.

  Returns:
    (out_size, out_size, C) float32 crop.
  """
  height, width = frame.shape[:2]
  center = jnp.asarray(center, jnp.float32)
  size = jnp.asarray(size, jnp.float32)
  pad_color = jnp.asarray(pad_color, jnp.float32)
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


def crop_pyramid(frame: jax.Array, center, sizes, out_size: int,
                 pad_color) -> jax.Array:
  """Crops of several sizes around one centre: (S, out_size, out_size, C)."""
  return jax.vmap(crop, in_axes=(None, None, 0, None, None))(
      frame, center, jnp.asarray(sizes, jnp.float32), out_size, pad_color)


def mean_color(frame: jax.Array) -> jax.Array:
  """Per-channel mean of a (H, W, C) frame, the SiamFC padding colour."""
  return jnp.mean(frame.astype(jnp.float32), axis=(0, 1))


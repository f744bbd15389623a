"""Tests of the SiamFC context crops against a slow numpy reference."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import crops


def reference_crop(frame, center, size, out_size, pad_color):
  """Pixel-by-pixel bilinear crop, following the crops.py docstring.

  Output pixel (i, j) samples frame point
  (cy + (i - (out - 1) / 2) * size / out, cx + (j - (out - 1) / 2) * size /
  out); each of the four bilinear taps reads the frame pixel, or the pad
  colour where the tap lies outside the frame.
  """
  frame = np.asarray(frame, np.float64)
  pad_color = np.asarray(pad_color, np.float64)
  height, width, channels = frame.shape
  scale = size / out_size
  half = (out_size - 1) / 2
  out = np.zeros((out_size, out_size, channels))
  for i in range(out_size):
    y = center[0] + (i - half) * scale
    y0 = math.floor(y)
    fy = y - y0
    for j in range(out_size):
      x = center[1] + (j - half) * scale
      x0 = math.floor(x)
      fx = x - x0
      value = np.zeros(channels)
      for row, wy in ((y0, 1 - fy), (y0 + 1, fy)):
        for col, wx in ((x0, 1 - fx), (x0 + 1, fx)):
          inside = 0 <= row < height and 0 <= col < width
          value += wy * wx * (frame[row, col] if inside else pad_color)
      out[i, j] = value
  return out


def random_frame(shape, seed=0):
  return np.random.default_rng(seed).uniform(0, 255, shape).astype(
      np.float32)


# (frame shape, centre (cy, cx), window size, out size). The frame is 40x64
# unless stated: non-square, so swapped axes would show.
CASES = {
    'inside': ((40, 64, 3), (20.0, 32.0), 20.0, 31),
    'inside_fractional': ((40, 64, 3), (12.3, 40.7), 17.5, 31),
    'upsampling': ((40, 64, 3), (10.4, 9.6), 3.7, 31),
    'downsampling': ((40, 64, 3), (19.5, 31.5), 38.0, 15),
    'even_out_size': ((40, 64, 3), (20.2, 30.9), 21.0, 16),
    'top_border': ((40, 64, 3), (0.0, 32.0), 30.0, 31),
    'bottom_border': ((40, 64, 3), (39.0, 32.0), 30.0, 31),
    'left_border': ((40, 64, 3), (20.0, 0.0), 30.0, 31),
    'right_border': ((40, 64, 3), (20.0, 63.0), 30.0, 31),
    'over_top_left': ((40, 64, 3), (-6.5, -4.25), 30.0, 31),
    'over_bottom_right': ((40, 64, 3), (45.5, 70.0), 30.0, 31),
    'over_top_right': ((40, 64, 3), (-3.0, 66.0), 25.0, 31),
    'over_bottom_left': ((40, 64, 3), (42.0, -2.0), 25.0, 31),
    'over_every_border': ((40, 64, 3), (19.5, 31.5), 100.0, 31),
    'square_frame': ((48, 48, 3), (5.5, 44.0), 27.0, 31),
    'tall_frame': ((64, 24, 3), (50.0, 3.0), 33.0, 31),
}


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
@pytest.mark.parametrize('case', list(CASES), ids=list(CASES))
def test_crop_matches_reference(case, jit):
  shape, center, size, out_size = CASES[case]
  frame = random_frame(shape, seed=len(case))
  pad = np.array([10.0, 120.0, 240.0], np.float32)
  fn = crops.crop
  if jit:
    fn = jax.jit(functools.partial(crops.crop, out_size=out_size))
    got = fn(frame, center, size, pad_color=pad)
  else:
    got = fn(frame, center, size, out_size, pad)
  want = reference_crop(frame, center, size, out_size, pad)
  assert got.shape == (out_size, out_size, 3)
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(got), want, atol=2e-2, rtol=0)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
@pytest.mark.parametrize('center', [(-100.0, -100.0), (20.0, 200.0),
                                    (300.0, 30.0), (-40.0, 32.0)])
def test_crop_fully_outside_is_pad_colour(center, jit):
  frame = random_frame((40, 64, 3))
  pad = np.array([1.5, 2.5, 3.5], np.float32)
  fn = functools.partial(crops.crop, out_size=15)
  if jit:
    fn = jax.jit(fn)
  got = np.asarray(fn(frame, center, 20.0, pad_color=pad))
  assert got.shape == (15, 15, 3)
  np.testing.assert_allclose(got, np.broadcast_to(pad, got.shape), atol=1e-5)


def test_crop_border_pixels_blend_with_pad():
  # A window far larger than the frame: the centre pixel is frame data and
  # the outer ring of the crop is entirely pad colour.
  frame = np.full((10, 10, 3), 200.0, np.float32)
  pad = np.zeros(3, np.float32)
  got = np.asarray(crops.crop(frame, (4.5, 4.5), 100.0, 21, pad))
  np.testing.assert_allclose(got[10, 10], 200.0, atol=1e-4)
  np.testing.assert_allclose(got[0], 0.0, atol=1e-4)
  np.testing.assert_allclose(got[:, -1], 0.0, atol=1e-4)
  assert np.all((got >= -1e-4) & (got <= 200.0 + 1e-3))


def test_identity_crop_returns_the_frame():
  # size == out_size and centre at the frame centre: pixel i samples i.
  frame = random_frame((17, 17, 3))
  got = crops.crop(frame, (8.0, 8.0), 17.0, 17, np.zeros(3))
  np.testing.assert_allclose(np.asarray(got), frame, atol=1e-4)


def test_integer_shift_crop_is_a_window():
  frame = random_frame((30, 40, 3))
  # Window of 11 pixels centred on (12, 25): rows 7..17, columns 20..30.
  got = crops.crop(frame, (12.0, 25.0), 11.0, 11, np.zeros(3))
  np.testing.assert_allclose(np.asarray(got), frame[7:18, 20:31], atol=1e-4)


def test_half_pixel_shift_averages_neighbours():
  frame = random_frame((20, 20, 3))
  got = np.asarray(crops.crop(frame, (9.5, 9.0), 5.0, 5, np.zeros(3)))
  want = (frame[7:12, 7:12] + frame[8:13, 7:12]) / 2
  np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
def test_crop_grayscale_expanded_frame(jit):
  gray = random_frame((36, 50), seed=3)
  frame = np.stack([gray] * 3, axis=-1)
  pad = crops.mean_color(frame)
  center, size, out_size = (3.0, 47.5), 29.0, 31
  fn = functools.partial(crops.crop, out_size=out_size)
  if jit:
    fn = jax.jit(fn)
  got = np.asarray(fn(frame, center, size, pad_color=pad))
  want = reference_crop(gray[..., None], center, size, out_size,
                        np.asarray(pad)[:1])
  for channel in range(3):
    np.testing.assert_allclose(got[..., channel], want[..., 0], atol=2e-2)
  np.testing.assert_array_equal(got[..., 0], got[..., 1])
  np.testing.assert_array_equal(got[..., 0], got[..., 2])


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
def test_crop_uint8_frame(jit):
  frame = np.random.default_rng(5).integers(0, 256, (33, 45, 3), np.uint8)
  pad = crops.mean_color(frame)
  center, size, out_size = (30.0, 2.0), 24.5, 31
  fn = functools.partial(crops.crop, out_size=out_size)
  if jit:
    fn = jax.jit(fn)
  got = fn(frame, center, size, pad_color=pad)
  assert got.dtype == jnp.float32
  want = reference_crop(frame.astype(np.float64), center, size, out_size,
                        np.asarray(pad))
  np.testing.assert_allclose(np.asarray(got), want, atol=2e-2)


def test_crop_one_channel_frame():
  frame = random_frame((20, 30, 1), seed=7)
  pad = np.array([99.0], np.float32)
  got = crops.crop(frame, (1.0, 28.0), 12.0, 15, pad)
  want = reference_crop(frame, (1.0, 28.0), 12.0, 15, pad)
  assert got.shape == (15, 15, 1)
  np.testing.assert_allclose(np.asarray(got), want, atol=2e-2)


def test_jitted_crop_traces_once_for_new_boxes():
  traces = []

  def counted(frame, center, size, pad_color):
    traces.append(None)
    return crops.crop(frame, center, size, 15, pad_color)

  fn = jax.jit(counted)
  frame = random_frame((40, 64, 3))
  pad = crops.mean_color(frame)
  for center, size in (((20.0, 30.0), 10.0), ((-5.0, 70.0), 33.0),
                       ((1.5, 2.5), 4.0)):
    got = fn(frame, jnp.asarray(center), jnp.float32(size), pad)
    want = reference_crop(frame, center, size, 15, np.asarray(pad))
    np.testing.assert_allclose(np.asarray(got), want, atol=2e-2)
  assert len(traces) == 1


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
def test_crop_pyramid_equals_per_size_crops(jit):
  frame = random_frame((40, 64, 3), seed=11)
  pad = crops.mean_color(frame)
  center = (5.25, 60.5)
  sizes = np.array([18.0, 21.5, 25.0, 60.0], np.float32)
  fn = functools.partial(crops.crop_pyramid, out_size=23)
  if jit:
    fn = jax.jit(fn)
  got = np.asarray(fn(frame, center, sizes, pad_color=pad))
  assert got.shape == (4, 23, 23, 3)
  for s, size in enumerate(sizes):
    single = np.asarray(crops.crop(frame, center, size, 23, pad))
    # Same computation; jit may fuse float32 ops differently.
    np.testing.assert_allclose(got[s], single, atol=5e-3, rtol=0)
    want = reference_crop(frame, center, float(size), 23, np.asarray(pad))
    np.testing.assert_allclose(got[s], want, atol=2e-2)


def test_crop_pyramid_fully_outside_is_pad():
  frame = random_frame((20, 20, 3))
  pad = np.array([4.0, 5.0, 6.0])
  got = np.asarray(crops.crop_pyramid(frame, (-50.0, 10.0), [5.0, 8.0], 9,
                                      pad))
  np.testing.assert_allclose(got, np.broadcast_to(pad, got.shape), atol=1e-5)


def test_exemplar_size_in_frame_hand_values():
  # w=40, h=20, context 0.5: p = 30, side sqrt(70 * 50).
  got = crops.exemplar_size_in_frame(np.array([20.0, 40.0]), 0.5)
  np.testing.assert_allclose(float(got), math.sqrt(70 * 50), rtol=1e-6)
  # Symmetric in h and w.
  got = crops.exemplar_size_in_frame(np.array([40.0, 20.0]), 0.5)
  np.testing.assert_allclose(float(got), math.sqrt(70 * 50), rtol=1e-6)
  # No context: the geometric mean side of the box.
  got = crops.exemplar_size_in_frame(np.array([9.0, 16.0]), 0.0)
  np.testing.assert_allclose(float(got), 12.0, rtol=1e-6)
  # Square box: (w + w)(w + w) -> 2w.
  got = crops.exemplar_size_in_frame(np.array([10.0, 10.0]), 0.5)
  np.testing.assert_allclose(float(got), 20.0, rtol=1e-6)


def test_exemplar_size_in_frame_batched_and_jitted():
  sizes = np.array([[20.0, 40.0], [10.0, 10.0], [9.0, 16.0]])
  want = [math.sqrt(70 * 50), 20.0, math.sqrt((9 + 12.5) * (16 + 12.5))]
  got = crops.exemplar_size_in_frame(sizes, 0.5)
  assert got.shape == (3,)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
  jitted = jax.jit(functools.partial(crops.exemplar_size_in_frame,
                                     context=0.5))
  np.testing.assert_allclose(np.asarray(jitted(sizes)), want, rtol=1e-6)


def test_mean_color():
  frame = np.zeros((2, 3, 3), np.uint8)
  frame[..., 0] = 255
  frame[0, :, 1] = 30
  got = crops.mean_color(frame)
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(got), [255.0, 15.0, 0.0], rtol=1e-6)

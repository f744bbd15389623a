"""Tests of the SiamFC context crops against a slow numpy reference.

siamfc-pytorch's crops (whole-pixel windows, cv2.resize) are checked against
OpenCV itself.
"""

import functools
import math

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import boxes
from siamfc_jax import crops
from siamfc_jax import sequences


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


# --- siamfc-pytorch's crops: whole-pixel windows and cv2.resize ----------


def pytorch_crop(frame, center, size, out_size, pad_color):
  """siamfc-pytorch's ops.crop_and_resize (commit 82c01cb), verbatim."""
  size = round(size)
  corners = np.concatenate((np.round(center - (size - 1) / 2),
                            np.round(center - (size - 1) / 2) + size))
  corners = np.round(corners).astype(int)
  pads = np.concatenate((-corners[:2], corners[2:] - frame.shape[:2]))
  npad = max(0, int(pads.max()))
  if npad > 0:
    frame = cv2.copyMakeBorder(frame, npad, npad, npad, npad,
                               cv2.BORDER_CONSTANT, value=pad_color)
  corners = (corners + npad).astype(int)
  patch = frame[corners[0]:corners[2], corners[1]:corners[3]]
  return cv2.resize(patch, (out_size, out_size),
                    interpolation=cv2.INTER_LINEAR)


def cv2_sample_points(side, out_size):
  """OpenCV's resize coordinates (double, then float) and 11-bit weights."""
  f = ((np.arange(out_size) + 0.5) * (1 / (out_size / side)) - 0.5).astype(
      np.float32)
  low = np.floor(f)
  return low, np.round((f - low) * np.float32(2048)).astype(np.int64)


@pytest.mark.parametrize('out_size', [127, 255, 31, 16])
def test_cv2_linear_taps_are_opencvs(out_size):
  taps = jax.jit(crops.cv2_linear_taps, static_argnums=1)
  for side in [*range(1, 1100), 2047, 4095, 10_000]:
    low, weight = cv2_sample_points(side, out_size)
    got_low, got_weight = taps(side, out_size)
    np.testing.assert_array_equal(got_low, low, err_msg=f'side {side}')
    np.testing.assert_array_equal(got_weight, weight, err_msg=f'side {side}')


def _reference_frames(shared_sequences):
  for name in ('otb_Dog', 'vot2015_car1', 'dtb70_Surfing06'):
    folder = shared_sequences / name
    yield name, sequences.read_image(sequences.frame_paths(folder)[0]), (
        sequences.read_boxes(folder / 'groundtruth.txt')[0])


def _windows(frame, box, rng):
  """Exemplar and search windows about the target, and random ones."""
  (cy, cx), (h, w) = (np.asarray(v) for v in
                      boxes.xywh_to_center_size(np.float32(box)))
  exemplar = float(crops.exemplar_size_in_frame(np.float32([h, w]), 0.5))
  center = np.float32([cy, cx])
  for factor in (1 / 1.0375, 1.0, 1.0375):
    yield center, exemplar, 127
    yield center, np.float32(exemplar * 255 / 127 * factor), 255
  height, width = frame.shape[:2]
  for _ in range(20):
    center = rng.uniform([-40, -40], [height + 40, width + 40]).astype(
        np.float32)
    yield center, np.float32(rng.uniform(20, 1.5 * max(height, width))), (
        int(rng.choice([127, 255])))


def test_cv2_linear_crop_equals_cv2_resize_on_real_frames(shared_sequences):
  fn = jax.jit(crops.crop, static_argnames=('out_size', 'window', 'resample'))
  rng = np.random.default_rng(0)
  checked = 0
  for name, frame, box in _reference_frames(shared_sequences):
    mean = np.mean(frame, axis=(0, 1))
    pad = crops.rounded_mean_color(frame)
    for center, size, out_size in _windows(frame, box, rng):
      want = pytorch_crop(frame, center, size, out_size, mean)
      got = fn(frame, center, size, out_size=out_size, pad_color=pad,
               window='whole_pixels', resample='cv2_linear')
      np.testing.assert_array_equal(np.asarray(got), want,
                                    err_msg=f'{name} {center} {size}')
      checked += 1
  assert checked == 3 * 26


@pytest.mark.parametrize('seed', range(3))
def test_cv2_linear_crop_equals_cv2_resize_on_random_frames(seed):
  rng = np.random.default_rng(seed)
  frame = rng.integers(0, 256, (rng.integers(30, 90), rng.integers(30, 90),
                                3), np.uint8)
  fn = jax.jit(crops.crop, static_argnames=('out_size', 'window', 'resample'))
  unlike_bilinear = 0
  for _ in range(20):
    center = rng.uniform(-20, 110, 2).astype(np.float32)
    size = np.float32(rng.uniform(3, 200))
    out_size = int(rng.choice([15, 31, 127]))
    pad = rng.uniform(0, 255, 3)
    want = pytorch_crop(frame, center, size, out_size, pad)
    got = fn(frame, center, size, out_size=out_size,
             pad_color=np.round(pad), window='whole_pixels',
             resample='cv2_linear')
    np.testing.assert_array_equal(np.asarray(got), want)
    # The float bilinear of the same window is not cv2's: the test can fail.
    bilinear = fn(frame, center, size, out_size=out_size,
                  pad_color=np.round(pad), window='whole_pixels')
    unlike_bilinear += not np.array_equal(np.round(bilinear), want)
  assert unlike_bilinear >= 10


def test_whole_pixel_window_rounds_as_numpy():
  corner, side = crops.whole_pixel_window(np.float32([10.0, 20.25]), 6.5)
  assert float(side) == 6.0  # Half to even.
  np.testing.assert_array_equal(corner, [8.0, 18.0])  # 7.5 -> 8, 17.75 -> 18
  corner, side = crops.whole_pixel_window(np.float32([10.0, 3.5]), 7.5)
  assert float(side) == 8.0
  np.testing.assert_array_equal(corner, [6.0, 0.0])  # 6.5 -> 6, -0.0


def test_whole_pixel_bilinear_crop_is_the_rounded_window():
  frame = random_frame((40, 64, 3), seed=2)
  pad = np.array([9.0, 99.0, 199.0], np.float32)
  got = crops.crop(frame, (12.3, 40.7), 17.6, 31, pad, window='whole_pixels')
  # side 18, corner round(12.3 - 8.5) = 4, round(40.7 - 8.5) = 32.
  want = crops.crop(frame, (4 + 8.5, 32 + 8.5), 18.0, 31, pad)
  np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-4)


def test_crop_options_are_checked():
  frame = random_frame((20, 20, 3))
  with pytest.raises(ValueError, match='whole_pixels'):
    crops.crop(frame, (5.0, 5.0), 8.0, 9, np.zeros(3), resample='cv2_linear')
  with pytest.raises(ValueError, match='choose'):
    crops.crop(frame, (5.0, 5.0), 8.0, 9, np.zeros(3), window='rounded')


def test_rounded_mean_color_is_what_cv2_pads_with():
  frame = np.zeros((2, 2, 3), np.uint8)
  frame[0, 0] = [2, 6, 1]  # Means 0.5, 1.5, 0.25: half to even -> 0, 2, 0.
  frame[1, 1] = [0, 0, 0]
  np.testing.assert_array_equal(crops.rounded_mean_color(frame), [0, 2, 0])
  rng = np.random.default_rng(4)
  for _ in range(20):
    frame = rng.integers(0, 256, (rng.integers(1, 9), 2, 3), np.uint8)
    mean = np.mean(frame, axis=(0, 1))
    padded = cv2.copyMakeBorder(frame, 1, 0, 0, 0, cv2.BORDER_CONSTANT,
                                value=mean)
    np.testing.assert_array_equal(
        jax.jit(crops.rounded_mean_color)(frame), padded[0, 0])
    np.testing.assert_array_equal(crops.rounded_mean_color(
        frame.astype(np.float32)), padded[0, 0])


def test_rounded_mean_color_is_exact_on_large_frames():
  # Means of exactly 127.5 (-> 128) on 720p frames, where a float32 mean
  # can come out as 127.49999.
  count = 720 * 1280
  for seed in range(4):
    rng = np.random.default_rng(seed)
    values = 127 + (np.arange(count) < count // 2)
    noise = rng.integers(0, 128, count // 2)
    values[:count // 2] += noise  # Moved between pixels: the sum stays.
    values[count // 2:] -= noise
    frame = np.stack([rng.permutation(values) for _ in range(3)], -1)
    frame = frame.reshape(720, 1280, 3).astype(np.uint8)
    np.testing.assert_array_equal(crops.rounded_mean_color(frame), 128)

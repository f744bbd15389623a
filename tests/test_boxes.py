"""Tests of box conventions, validation, IoU and centre error."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import boxes


def test_xywh_to_center_size_hand_values():
  center, size = boxes.xywh_to_center_size(jnp.array([1.0, 1.0, 10.0, 20.0]))
  # Columns 0..9 and rows 0..19 (0-based): centre (9.5, 4.5).
  np.testing.assert_allclose(np.asarray(center), [9.5, 4.5])
  np.testing.assert_allclose(np.asarray(size), [20.0, 10.0])
  # A one-pixel box at 1-based (3, 5) is 0-based pixel (row 4, col 2).
  center, size = boxes.xywh_to_center_size(jnp.array([3.0, 5.0, 1.0, 1.0]))
  np.testing.assert_allclose(np.asarray(center), [4.0, 2.0])
  np.testing.assert_allclose(np.asarray(size), [1.0, 1.0])


def test_center_size_to_xywh_hand_values():
  got = boxes.center_size_to_xywh(jnp.array([9.5, 4.5]),
                                  jnp.array([20.0, 10.0]))
  np.testing.assert_allclose(np.asarray(got), [1.0, 1.0, 10.0, 20.0])


def test_round_trip_batched_and_jitted():
  rng = np.random.default_rng(0)
  xywh = np.concatenate([rng.uniform(-20, 300, (6, 2)),
                         rng.uniform(1, 80, (6, 2))], axis=1)
  xywh = jnp.asarray(xywh, jnp.float32)
  center, size = boxes.xywh_to_center_size(xywh)
  assert center.shape == size.shape == (6, 2)
  np.testing.assert_allclose(np.asarray(boxes.center_size_to_xywh(
      center, size)), np.asarray(xywh), rtol=1e-5, atol=1e-4)

  @jax.jit
  def round_trip(b):
    return boxes.center_size_to_xywh(*boxes.xywh_to_center_size(b))

  np.testing.assert_allclose(np.asarray(round_trip(xywh)), np.asarray(xywh),
                             rtol=1e-5, atol=1e-4)
  center = jnp.array([[10.0, 20.0], [0.0, 0.0]])
  size = jnp.array([[5.0, 7.0], [1.0, 2.0]])
  back = boxes.xywh_to_center_size(boxes.center_size_to_xywh(center, size))
  np.testing.assert_allclose(np.asarray(back[0]), np.asarray(center),
                             atol=1e-5)
  np.testing.assert_allclose(np.asarray(back[1]), np.asarray(size))


def test_center_matches_otb_centers_minus_one():
  xywh = np.array([[1.0, 1.0, 10.0, 20.0], [5.5, 7.0, 3.0, 8.0]])
  center, _ = boxes.xywh_to_center_size(jnp.asarray(xywh))
  otb = boxes.centers(xywh)  # 1-based (x, y).
  np.testing.assert_allclose(np.asarray(center)[:, ::-1], otb - 1,
                             atol=1e-5)


def test_check_box_accepts_and_returns_float64():
  got = boxes.check_box([10, 20, 30, 40], (100, 200, 3))
  assert got.dtype == np.float64
  np.testing.assert_array_equal(got, [10, 20, 30, 40])
  got = boxes.check_box(np.array([[1.5, 2.5, 3.0, 4.0]]), (10, 10))
  assert got.shape == (4,)


@pytest.mark.parametrize('box', [
    [-5, 10, 10, 10],  # Sticks out on the left.
    [10, -5, 10, 10],  # Sticks out at the top.
    [195, 10, 10, 10],  # Sticks out on the right.
    [10, 95, 10, 10],  # Sticks out at the bottom.
    [-50, -50, 400, 300],  # Larger than the image.
    [-8, 10, 10, 10],  # Only its last column x + w - 1 = 1 is inside.
    [200, 100, 5, 5],  # Only its first pixel (200, 100) is inside.
])
def test_check_box_accepts_partly_outside(box):
  np.testing.assert_array_equal(boxes.check_box(box, (100, 200, 3)), box)


@pytest.mark.parametrize('box,reason', [
    ([10, 10, 0, 5], 'non-positive'),
    ([10, 10, 5, 0], 'non-positive'),
    ([10, 10, -3, 5], 'non-positive'),
    ([10, 10, 5, -1], 'non-positive'),
    ([10, float('nan'), 5, 5], 'NaN'),
    ([10, 10, float('nan'), 5], 'NaN'),
    ([10, 10, float('inf'), 5], 'NaN or infinite'),
    ([10, 10, 5], '4 numbers'),
    ([10, 10, 5, 5, 1], '4 numbers'),
    ([], '4 numbers'),
    ([-20, 10, 10, 10], 'outside'),  # Entirely left of the image.
    ([-9, 10, 10, 10], 'outside'),  # Right edge at column 0 (1-based).
    ([10, -20, 10, 10], 'outside'),  # Entirely above.
    ([201, 10, 10, 10], 'outside'),  # Entirely right of a 200-wide image.
    ([10, 101, 10, 10], 'outside'),  # Entirely below a 100-high image.
    ([500, 500, 10, 10], 'outside'),
])
def test_check_box_rejects(box, reason):
  with pytest.raises(boxes.BoxError, match=reason) as info:
    boxes.check_box(box, (100, 200, 3), where='init box')
  assert str(info.value).startswith('init box:')
  assert isinstance(info.value, ValueError)


def test_is_valid():
  got = boxes.is_valid([[1, 1, 5, 5], [1, 1, 0, 5], [1, 1, 5, -1],
                        [np.nan, 1, 5, 5], [1, 1, np.inf, 5],
                        [-10, -10, 1, 1]])
  np.testing.assert_array_equal(got, [True, False, False, False, False,
                                      True])


def test_iou_hand_cases():
  a = [[1, 1, 10, 10]] * 6
  b = [[1, 1, 10, 10],  # Identical.
       [50, 50, 10, 10],  # Disjoint.
       [6, 1, 10, 10],  # Half shifted: 50 / 150.
       [11, 1, 10, 10],  # Touching edges: no shared pixel.
       [3, 3, 2, 2],  # Contained: 4 / 100.
       [1, 1, 10, 5]]  # Top half: 50 / 100.
  got = boxes.iou(a, b)
  assert got.shape == (6,)
  np.testing.assert_allclose(got, [1.0, 0.0, 50 / 150, 0.0, 4 / 100, 0.5],
                             rtol=1e-12)
  # Symmetric.
  np.testing.assert_allclose(boxes.iou(b, a), got, rtol=1e-12)


def test_iou_single_boxes_and_fractional():
  np.testing.assert_allclose(boxes.iou([0, 0, 2, 2], [1, 1, 2, 2]),
                             [1 / 7])
  np.testing.assert_allclose(boxes.iou([0.5, 0, 1, 1], [0, 0, 1, 1]),
                             [0.5 / 1.5])


def test_iou_nan_box_gives_nan():
  got = boxes.iou([[np.nan, 1, 5, 5]], [[1, 1, 5, 5]])
  assert np.isnan(got[0])


def test_centers_hand_values():
  np.testing.assert_allclose(boxes.centers([[1, 1, 10, 10], [3, 5, 1, 1]]),
                             [[5.5, 5.5], [3.0, 5.0]])


def test_center_error_hand_cases():
  a = [[1, 1, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10]]
  b = [[1, 1, 10, 10],  # Same: 0.
       [4, 5, 10, 10],  # Shifted by (3, 4): 5.
       [1, 1, 20, 20],  # Centre (10.5, 10.5) vs (5.5, 5.5): 5 sqrt 2.
       [6, 1, 10, 10]]  # Shifted 5 in x.
  got = boxes.center_error(a, b)
  np.testing.assert_allclose(got, [0.0, 5.0, 5 * math.sqrt(2), 5.0],
                             rtol=1e-12)
  np.testing.assert_allclose(boxes.center_error(b, a), got, rtol=1e-12)
  assert np.isnan(boxes.center_error([np.nan, 1, 2, 2], [1, 1, 2, 2])[0])

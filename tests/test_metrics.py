"""Tests of the OTB one-pass evaluation."""

import math

import numpy as np
import pytest

from siamfc_jax import metrics

NAN_BOX = [np.nan] * 4


def test_thresholds():
  assert metrics.SUCCESS_THRESHOLDS.shape == (21,)
  np.testing.assert_allclose(metrics.SUCCESS_THRESHOLDS[[0, 10, 20]],
                             [0.0, 0.5, 1.0])
  np.testing.assert_array_equal(metrics.PRECISION_THRESHOLDS, np.arange(51))
  assert metrics.PRECISION_THRESHOLDS[metrics.PRECISION_AT] == 20


def test_perfect_predictions():
  groundtruth = np.array([[1, 1, 10, 10], [5, 7, 20, 30], [100, 50, 3, 4]],
                         np.float64)
  result = metrics.ope(groundtruth.copy(), groundtruth)
  # IoU 1 exceeds every threshold but 1.0 itself: 20 of 21 points.
  expected_success = np.ones(21)
  expected_success[-1] = 0
  np.testing.assert_array_equal(result.success_curve, expected_success)
  assert result.auc == pytest.approx(20 / 21, abs=1e-12)
  np.testing.assert_array_equal(result.precision_curve, np.ones(51))
  assert result.precision == 1.0
  assert result.num_frames == 3
  assert isinstance(result.auc, float)
  assert isinstance(result.precision, float)
  assert isinstance(result.num_frames, int)


def hand_made():
  """Ground truth and predictions with known IoU and centre error."""
  groundtruth = np.array([[1, 1, 10, 10]] * 4, np.float64)
  predicted = np.array([
      [1, 1, 10, 10],  # IoU 1, error 0.
      [6, 1, 10, 10],  # IoU 1/3, error 5.
      [100, 100, 10, 10],  # IoU 0, error 99 sqrt 2.
      NAN_BOX,  # A miss: IoU 0, infinite error.
  ])
  return predicted, groundtruth


def test_hand_made_curves():
  predicted, groundtruth = hand_made()
  result = metrics.ope(predicted, groundtruth)
  # IoU > t: {1, 1/3} for t <= 0.30 (7 thresholds), {1} for 0.35..0.95
  # (13 thresholds), none for t = 1.
  expected_success = np.array([0.5] * 7 + [0.25] * 13 + [0.0])
  np.testing.assert_allclose(result.success_curve, expected_success)
  assert result.auc == pytest.approx((7 * 0.5 + 13 * 0.25) / 21)
  # Error <= t: {0} for t < 5, {0, 5} for 5 <= t <= 50.
  expected_precision = np.array([0.25] * 5 + [0.5] * 46)
  np.testing.assert_allclose(result.precision_curve, expected_precision)
  assert result.precision == 0.5
  assert result.num_frames == 4


def test_frame_scores_hand_made():
  overlap, error = metrics.frame_scores(*hand_made())
  np.testing.assert_allclose(overlap, [1.0, 1 / 3, 0.0, 0.0])
  np.testing.assert_allclose(error[:3], [0.0, 5.0, 99 * math.sqrt(2)])
  assert error[3] == np.inf


def test_success_is_strictly_greater_than_threshold():
  # IoU exactly 0.5 (top half of the box) does not pass threshold 0.5.
  result = metrics.ope([[1, 1, 10, 5]], [[1, 1, 10, 10]])
  assert metrics.SUCCESS_THRESHOLDS[10] == 0.5
  np.testing.assert_array_equal(result.success_curve[:10], 1.0)
  np.testing.assert_array_equal(result.success_curve[10:], 0.0)
  assert result.auc == pytest.approx(10 / 21)


@pytest.mark.parametrize('bad_groundtruth', [
    NAN_BOX,
    [1, 1, 0, 10],
    [1, 1, 10, -2],
    [np.nan, 1, 10, 10],
])
def test_invalid_groundtruth_frames_are_excluded(bad_groundtruth):
  predicted, groundtruth = hand_made()
  reference = metrics.ope(predicted, groundtruth)
  # Insert a frame with unusable ground truth (and a wrong prediction).
  predicted = np.insert(predicted, 2, [500, 500, 1, 1], axis=0)
  groundtruth = np.insert(groundtruth, 2, bad_groundtruth, axis=0)
  result = metrics.ope(predicted, groundtruth)
  assert result.num_frames == 4
  np.testing.assert_array_equal(result.success_curve,
                                reference.success_curve)
  np.testing.assert_array_equal(result.precision_curve,
                                reference.precision_curve)
  assert result.auc == reference.auc


def test_nan_predictions_are_misses():
  groundtruth = np.array([[1, 1, 10, 10]] * 2, np.float64)
  predicted = np.array([[1, 1, 10, 10], NAN_BOX])
  result = metrics.ope(predicted, groundtruth)
  assert result.num_frames == 2
  expected_success = np.full(21, 0.5)
  expected_success[-1] = 0
  np.testing.assert_array_equal(result.success_curve, expected_success)
  np.testing.assert_array_equal(result.precision_curve, np.full(51, 0.5))
  all_missed = metrics.ope(np.full((2, 4), np.nan), groundtruth)
  assert all_missed.auc == 0.0
  assert all_missed.precision == 0.0


def test_length_mismatch_raises():
  with pytest.raises(ValueError, match='3 predicted boxes for 2'):
    metrics.ope(np.ones((3, 4)), np.ones((2, 4)))


@pytest.mark.parametrize('groundtruth', [
    np.full((3, 4), np.nan),
    [[1, 1, 0, 0], [np.nan] * 4],
    np.zeros((0, 4)),
])
def test_no_valid_frame_raises(groundtruth):
  predicted = np.ones((len(groundtruth), 4))
  with pytest.raises(ValueError, match='no frame with valid ground truth'):
    metrics.ope(predicted, groundtruth)


def test_curves_from_scores():
  result = metrics.curves([0.92, 0.0], [0.0, 60.0])
  assert result.num_frames == 2
  assert result.precision == 0.5
  # 0.92 > t for the 19 thresholds 0..0.9; 0.0 passes none.
  assert result.auc == pytest.approx(19 * 0.5 / 21)


def test_average_ope_averages_curves_not_frames():
  # A 1-frame hit and a 3-frame miss weigh the same: sequences, not frames.
  hit = metrics.curves([0.95], [0.0])
  miss = metrics.curves([0.0, 0.0, 0.0], [60.0, 60.0, 60.0])
  average = metrics.average_ope([hit, miss])
  assert average.num_frames == 4
  assert average.precision == 0.5
  assert average.auc == pytest.approx((hit.auc + miss.auc) / 2)
  np.testing.assert_allclose(average.success_curve,
                             (hit.success_curve + miss.success_curve) / 2)
  with pytest.raises(ValueError, match='no sequence'):
    metrics.average_ope([])

"""The LaSOT/UAV123 (MATLAB toolkit) and TrackingNet metrics, by hand.

Each case is small enough to count on paper; the comments give the count.
Where the got10k toolkit is installed (requirements-vot.txt), its OTB
curves are compared too.
"""

import numpy as np
import pytest

from siamfc_jax import metrics

NAN_BOX = [np.nan] * 4
BOX = [1, 1, 10, 10]


def test_fill_repairs_unusable_boxes_from_the_previous_frame():
  groundtruth = np.array([BOX, BOX, BOX, NAN_BOX, BOX, BOX], np.float64)
  predicted = np.array([
      [50, 50, 5, 5],  # The first frame becomes the ground truth...
      NAN_BOX,  # ...after the repair, which copies this frame's box.
      [3, 3, 0, 4],  # Empty: the box before (itself repaired).
      NAN_BOX,  # Ground truth NaN: left as it is.
      [2, 2, 4, -1],  # Copies the NaN before it.
      [7, 7, 3, 3],
  ], np.float64)
  filled = metrics.toolkit_fill(predicted, groundtruth)
  np.testing.assert_array_equal(filled[0], BOX)
  np.testing.assert_array_equal(filled[1:3], [[50, 50, 5, 5]] * 2)
  assert np.isnan(filled[3:5]).all()
  np.testing.assert_array_equal(filled[5], [7, 7, 3, 3])


def lasot_case():
  """Five frames of one target; frames 2 and 3 absent."""
  groundtruth = np.array([BOX] * 5, np.float64)
  predicted = np.array([
      [50, 50, 5, 5],  # Replaced by the ground truth: IoU 1, error 0.
      [6, 1, 10, 10],  # IoU 50 / 150, error 5 px, 0.5 of the width.
      BOX,  # Perfect, but absent: not counted...
      NAN_BOX,  # ...absent too (repaired with frame 2's box).
      [1, 1, 0, 0],  # Empty: frame 3's box, i.e. frame 2's: perfect.
  ], np.float64)
  return predicted, groundtruth, np.array([0, 0, 1, 1, 0])


def test_lasot_absent_frames_count_as_failures():
  predicted, groundtruth, absent = lasot_case()
  result = metrics.toolkit_ope(predicted, groundtruth, absent=absent)
  # Kept: frames 0, 1, 4 over all 5. IoU > t: frames 0 and 4 for t < 1,
  # frame 1 for t <= 0.30 (7 thresholds).
  np.testing.assert_allclose(result.success_curve,
                             [3 / 5] * 7 + [2 / 5] * 13 + [0])
  assert result.auc == pytest.approx((7 * 3 / 5 + 13 * 2 / 5) / 21)
  # Error <= t px: frames 0 and 4 always, frame 1 from 5 px.
  np.testing.assert_allclose(result.precision_curve,
                             [2 / 5] * 5 + [3 / 5] * 46)
  assert result.precision == pytest.approx(3 / 5)
  # Normalised: frame 1 (0.5) only at the last threshold, 0.5.
  np.testing.assert_allclose(result.normalized_precision_curve,
                             [2 / 5] * 50 + [3 / 5])
  assert result.normalized_precision == pytest.approx(2 / 5)
  assert result.normalized_precision_auc == pytest.approx(
      (50 * 2 / 5 + 3 / 5) / 51)
  assert (result.num_frames, result.num_evaluated) == (5, 3)
  # Without the flags the two absent frames pass: 5 of 5 with error 0...
  plain = metrics.toolkit_ope(predicted, groundtruth)
  assert plain.precision_curve[0] == pytest.approx(4 / 5)


def test_uav_nan_ground_truth_fails_success_and_passes_precision():
  groundtruth = np.array([BOX, NAN_BOX, BOX, [0, 5, 10, 10]], np.float64)
  predicted = np.array([
      BOX,
      BOX,  # Target absent: IoU -1, error -1.
      NAN_BOX,  # Repaired with the box before: perfect.
      [0, 5, 10, 10],  # Perfect, but x = 0 fails the toolkit's > 0 test.
  ], np.float64)
  result = metrics.toolkit_ope(predicted, groundtruth)
  np.testing.assert_allclose(result.success_curve, [0.5] * 20 + [0])
  assert result.auc == pytest.approx(10 / 21)
  np.testing.assert_allclose(result.precision_curve, np.ones(51))
  np.testing.assert_allclose(result.normalized_precision_curve, np.ones(51))
  # metrics.ope (the got10k toolkit's rule) leaves frame 1 out and counts
  # the NaN box as a miss: IoU 1 on 2 of 3 frames.
  assert metrics.ope(predicted, groundtruth).success_curve[0] == (
      pytest.approx(2 / 3))


def test_averaging_weighs_sequences_equally():
  predicted, groundtruth, absent = lasot_case()
  one = metrics.toolkit_ope(predicted, groundtruth, absent=absent)
  two = metrics.toolkit_ope(groundtruth[:2], groundtruth[:2])
  average = metrics.average_toolkit_ope([one, two])
  np.testing.assert_allclose(
      average.success_curve, (one.success_curve + two.success_curve) / 2)
  assert average.auc == pytest.approx((one.auc + two.auc) / 2)
  assert average.normalized_precision_auc == pytest.approx(
      (one.normalized_precision_auc + two.normalized_precision_auc) / 2)
  assert (average.num_frames, average.num_evaluated) == (7, 5)
  with pytest.raises(ValueError, match='no sequence'):
    metrics.average_toolkit_ope([])


def random_boxes(rng, count):
  boxes = np.concatenate([rng.uniform(1, 200, (count, 2)),
                          rng.uniform(5, 80, (count, 2))], axis=1)
  return boxes


def test_valid_boxes_give_the_otb_curves_and_got10k_toolkit_curves():
  rng = np.random.default_rng(0)
  groundtruth = random_boxes(rng, 300)
  predicted = groundtruth + rng.normal(0, 8, groundtruth.shape)
  predicted[:, 2:] = np.abs(predicted[:, 2:]) + 1
  predicted[0] = groundtruth[0]
  ours = metrics.toolkit_ope(predicted, groundtruth)
  otb = metrics.ope(predicted, groundtruth)
  np.testing.assert_allclose(ours.success_curve, otb.success_curve)
  np.testing.assert_allclose(ours.precision_curve, otb.precision_curve)
  reason = 'the got10k toolkit (requirements-vot.txt) is not installed'
  got10k_otb = pytest.importorskip('got10k.experiments.otb', reason=reason,
                                   exc_type=ImportError)
  got10k_metrics = pytest.importorskip('got10k.utils.metrics', reason=reason,
                                       exc_type=ImportError)
  # Its OTB experiment's own curve code, without its dataset.
  experiment = got10k_otb.ExperimentOTB.__new__(got10k_otb.ExperimentOTB)
  experiment.nbins_iou, experiment.nbins_ce = 21, 51
  calc_curves = experiment._calc_curves  # pylint: disable=protected-access
  success, precision = calc_curves(
      got10k_metrics.rect_iou(predicted, groundtruth),
      got10k_metrics.center_error(predicted, groundtruth))
  # Up to t = 0.95: at t = 1, the first frame's IoU of identical boxes
  # rounds to 1 + 1.8e-15 here (and in the MATLAB toolkits' arithmetic),
  # below 1 in got10k's (which adds eps to the union).
  np.testing.assert_allclose(ours.success_curve[:20], success[:20])
  np.testing.assert_allclose(ours.precision_curve, precision)


def test_lengths_and_flags_must_match():
  with pytest.raises(ValueError, match='3 predicted boxes for 2'):
    metrics.toolkit_ope(np.zeros((3, 4)), np.zeros((2, 4)))
  with pytest.raises(ValueError, match='1 absent flags for 2 frames'):
    metrics.toolkit_ope([BOX, BOX], [BOX, BOX], absent=[0])


def trackingnet_case():
  groundtruth = np.array([[10, 10, 10, 10], [10, 10, 10, 10],
                          [0, 0, 20, 10]], np.float64)
  predicted = np.array([
      [90, 90, 3, 3],  # The first frame scores as the ground truth.
      # Rounded (ties to even) to (14, 11, 10, 10): 6 x 9 = 54 pixels in
      # common of 146, IoU 0.370; centres 4 and 1 px apart, 0.412 of the
      # size (half-up rounding would give IoU 0.29 and 0.51).
      [14.5, 11.4, 10, 10],
      [0.5, 0, 20, 10],  # 0.5 rounds to 0: perfect.
  ], np.float64)
  return predicted, groundtruth


def test_trackingnet_server_definition_by_hand():
  result = metrics.trackingnet_ope(*trackingnet_case())
  third = 2 / 3
  # IoU > t: every frame up to t = 0.35, two frames from 0.40 to 0.95.
  np.testing.assert_allclose(result.success_curve,
                             [1] * 8 + [third] * 12 + [0])
  # Trapezoids of width 0.05: 7 ones, 5/6, 11 of 2/3 and 1/3 = 15.5.
  assert result.success == pytest.approx(15.5 * 0.05)
  # Error <= t px (t = 0, 2.5, 5, ...): the 4.12 px frame from 5 px.
  np.testing.assert_allclose(result.precision_curve, [third] * 2 + [1] * 19)
  assert result.precision == pytest.approx((18 + 2 / 3 + 5 / 6) * 0.05)
  # Normalised error 0.412 <= t from t = 0.425 (the 18th point).
  np.testing.assert_allclose(result.normalized_precision_curve,
                             [third] * 17 + [1] * 4)
  assert result.normalized_precision == pytest.approx(
      (16 * third + 5 / 6 + 3) * 0.05)
  assert result.num_frames == 3


def test_trackingnet_average_and_nan_boxes():
  predicted, groundtruth = trackingnet_case()
  one = metrics.trackingnet_ope(predicted, groundtruth)
  missed = predicted.copy()
  missed[1:] = np.nan  # No box: every threshold fails.
  two = metrics.trackingnet_ope(missed, groundtruth)
  np.testing.assert_allclose(two.success_curve, [1 / 3] * 20 + [0])
  average = metrics.average_trackingnet([one, two])
  assert average.success == pytest.approx((one.success + two.success) / 2)
  assert average.normalized_precision == pytest.approx(
      (one.normalized_precision + two.normalized_precision) / 2)
  assert average.num_frames == 6

"""Tests of the GOT-10k and VOT (pysot) metrics on hand-computed cases."""

import numpy as np
import pytest

from siamfc_jax import metrics

NAN_BOX = [np.nan] * 4
TRACKED, INIT, FAILURE, SKIPPED = (metrics.VOT_TRACKED, metrics.VOT_INIT,
                                   metrics.VOT_FAILURE, metrics.VOT_SKIPPED)


def test_got10k_leaves_out_first_invisible_and_unknown_frames():
  groundtruth = np.array([[0, 0, 10, 10]] * 6, np.float64)
  groundtruth[5] = np.nan  # No annotation (test split).
  predicted = np.array([
      [50, 50, 5, 5],  # First frame: never evaluated.
      [0, 0, 10, 5],  # IoU 0.5.
      [0, 0, 10, 10],  # IoU 1, but cover 0.
      [0, 0, 10, 8],  # IoU 0.8, but absent.
      NAN_BOX,  # A miss: IoU 0.
      [0, 0, 10, 10],  # No ground truth.
  ])
  cover = np.array([8, 8, 0, 8, 8, 8])
  absence = np.array([0, 0, 0, 1, 0, 0])
  ious = metrics.got10k_ious(predicted, groundtruth, frame_size=(100, 100),
                             cover=cover, absence=absence)
  np.testing.assert_allclose(ious, [0.5, 0.0])
  ious = metrics.got10k_ious(predicted, groundtruth, frame_size=(100, 100))
  np.testing.assert_allclose(ious, [0.5, 1.0, 0.8, 0.0])


def test_got10k_clips_boxes_as_the_toolkit():
  # The toolkit clips x to [0, W] and then w to [0, W - x]: a box leaving
  # on the left is shifted, not cut (IoU 1 here, 0.5 unclipped).
  ious = metrics.got10k_ious(
      [[0, 0, 1, 1], [-10, 0, 30, 10], [90, 0, 30, 10]],
      [[0, 0, 1, 1], [0, 0, 30, 10], [80, 0, 30, 10]], frame_size=(100, 50))
  # Right: [90, 0, 10, 10] vs [80, 0, 20, 10]: 100 / 200.
  np.testing.assert_allclose(ious, [1.0, 0.5])


def test_got10k_ao_and_success_rates():
  result = metrics.got10k([1.0, 0.6, 0.8, 0.3, 0.0, 0.75])
  assert result.ao == pytest.approx(3.45 / 6)
  assert result.sr50 == pytest.approx(4 / 6)
  # IoU must exceed 0.75: 0.75 itself does not count.
  assert result.sr75 == pytest.approx(2 / 6)
  assert result.num_frames == 6
  assert result.success_curve.shape == (101,)
  assert metrics.GOT10K_THRESHOLDS[50] == 0.5
  assert result.success_curve[0] == pytest.approx(5 / 6)
  assert result.success_curve[50] == pytest.approx(4 / 6)
  assert result.success_curve[100] == 0.0


def test_got10k_pools_frames_over_sequences():
  # As the toolkit: frames, not sequences, are averaged.
  ious = np.concatenate([[1.0, 1.0, 1.0], [0.0]])
  assert metrics.got10k(ious).ao == pytest.approx(0.75)
  with pytest.raises(ValueError, match='no frame'):
    metrics.got10k([])


def test_got10k_speed():
  assert metrics.got10k_speed([0.5, 0.25, 0.0, np.nan]) == pytest.approx(3)
  assert np.isnan(metrics.got10k_speed([0.0]))


def test_vot_iou_cuts_boxes_to_the_image():
  # 1-based [91, 1, 20, 10] in a 100-wide image keeps columns 91..100.
  assert metrics.vot_iou([[91, 1, 20, 10]], [[91, 1, 10, 10]],
                         bound=(100, 50))[0] == pytest.approx(1.0)
  assert metrics.vot_iou([[91, 1, 20, 10]], [[91, 1, 10, 10]],
                         bound=(1000, 50))[0] == pytest.approx(0.5)
  assert metrics.vot_iou([[200, 1, 5, 5]], [[200, 1, 5, 5]],
                         bound=(100, 50))[0] == 0.0
  assert metrics.vot_iou([NAN_BOX], [[1, 1, 5, 5]], bound=(100, 50))[0] == 0


def _box(iou):
  """A box whose IoU with [1, 1, 10, 10] is ``iou`` (a multiple of 0.1)."""
  return [1, 1, 10, round(10 * iou)] if iou == iou else NAN_BOX


def _run(codes, ious, length=None):
  length = length or len(codes)
  return metrics.VOTRun(
      np.asarray(codes), np.array([_box(v) for v in ious], np.float64),
      np.array([[1, 1, 10, 10]] * length, np.float64), 640, 480)


NAN = np.nan
# No failure: overlaps 0.5 after the initialisation.
STEADY = _run([INIT] + [TRACKED] * 5, [NAN] + [0.5] * 5)
# Failure at frame 2, re-initialised at 4 (skipping 2).
FAILING = _run([INIT, TRACKED, FAILURE, SKIPPED, INIT, TRACKED],
               [NAN, 0.8, NAN, NAN, NAN, 0.6])


def test_vot_overlaps_and_burnin():
  np.testing.assert_allclose(metrics.vot_overlaps(FAILING, bound=(640, 480)),
                             [NAN, 0.8, NAN, NAN, NAN, 0.6])
  np.testing.assert_allclose(
      metrics.vot_overlaps(FAILING, bound=(640, 480), burnin=2), [NAN] * 6)
  np.testing.assert_allclose(
      metrics.vot_overlaps(STEADY, bound=(640, 480), burnin=3),
      [NAN] * 3 + [0.5] * 3)


def test_vot_accuracy_robustness():
  accuracy, robustness, lost = metrics.vot_accuracy_robustness(
      [STEADY, FAILING], burnin=0)
  assert accuracy == pytest.approx((5 * 0.5 + 0.8 + 0.6) / 7)
  assert robustness == pytest.approx(100 / 12)
  assert lost == 1
  accuracy, _, _ = metrics.vot_accuracy_robustness([STEADY, FAILING],
                                                   burnin=2)
  assert accuracy == pytest.approx(0.5)
  accuracy, robustness, lost = metrics.vot_accuracy_robustness(
      [FAILING], burnin=2)
  assert np.isnan(accuracy) and lost == 1


def test_vot_eao_hand_made():
  eao, curve = metrics.vot_eao([STEADY], low=1, high=6, skipping=2)
  np.testing.assert_allclose(curve, [1] + [0.5] * 5, rtol=1e-6)
  assert eao == pytest.approx(3.5 / 6, rel=1e-6)
  # Fragments: STEADY [nan .5 .5 .5 .5 .5]; FAILING up to the
  # re-initialisation [0 .8 0 0 0], zero-padded, and from it [0 .6].
  eao, curve = metrics.vot_eao([STEADY, FAILING], low=2, high=4,
                               skipping=2)
  expected = [1, (0.5 + 0.8 + 0.6) / 3, (0.5 + 0.4) / 2,
              (0.5 + 0.8 / 3) / 2, (0.5 + 0.2) / 2, (0.5 + 0.16) / 2]
  np.testing.assert_allclose(curve, expected, rtol=1e-6)
  assert curve.dtype == np.float32
  assert eao == pytest.approx(sum(expected[1:4]) / 3, rel=1e-6)


def test_vot_eao_failure_too_late_to_restart():
  # Failure at frame 4 of 5 with skipping 2: no re-initialisation, so one
  # fragment runs to the end (zeros after the failure, NaN beyond).
  run = _run([INIT, TRACKED, TRACKED, TRACKED, FAILURE],
             [NAN, 1.0, 1.0, 1.0, NAN])
  eao, curve = metrics.vot_eao([run], low=1, high=10, skipping=2)
  np.testing.assert_allclose(curve, [1, 1, 1, 1, 0.75], rtol=1e-6)
  assert eao == pytest.approx(4.75 / 5, rel=1e-6)
  assert np.isnan(metrics.vot_eao([run], low=6, high=10, skipping=2)[0])

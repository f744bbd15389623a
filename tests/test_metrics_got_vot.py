"""Tests of the GOT-10k and VOT (pysot) metrics on hand-computed cases, and
of the VOT overlaps against the VOT toolkit's own region code."""

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


def _square(left, top, right, bottom):
  """A 0-based polygon (VOT groundtruth.txt) on pixel rows and columns."""
  return [[left, top], [right, top], [right, bottom], [left, bottom]]


def test_vot_overlap_counts_pixels_within_the_image():
  # 1-based [91, 1, 20, 10] covers 0-based columns 90..109: in a 100-wide
  # image (columns 0..99) only 90..99 are counted.
  assert metrics.vot_overlap([[91, 1, 20, 10]], [[91, 1, 10, 10]],
                             size=(100, 50))[0] == 1.0
  assert metrics.vot_overlap([[91, 1, 20, 10]], [[91, 1, 10, 10]],
                             size=(1000, 50))[0] == 0.5
  assert metrics.vot_overlap([[200, 1, 5, 5]], [[200, 1, 5, 5]],
                             size=(100, 50))[0] == 0.0
  # A polygon's corners are pixels too: columns 95..104, rows 0..9. The
  # box, columns 95..99, is all of it that a 100-wide image holds (the
  # bound is column width - 1), 5 of its 6 columns in a 101-wide one.
  polygon = [_square(95, 0, 104, 9)]
  for width, expected in (100, 1.0), (101, 5 / 6), (200, 0.5):
    assert metrics.vot_overlap([[96, 1, 5, 10]], [NAN_BOX], size=(width, 50),
                               polygons=polygon)[0] == expected
  # Left of the image, and a box rounded to whole pixels (ties to even).
  assert metrics.vot_overlap([[1, 1, 5, 10]], [NAN_BOX], size=(100, 50),
                             polygons=[_square(-5, 0, 4, 9)])[0] == 1.0
  assert metrics.vot_overlap([[1.5, 1, 4.5, 10]], [NAN_BOX], size=(100, 50),
                             polygons=[_square(0, 0, 3, 9)])[0] == 1.0
  # No box: overlap 0, except with no region either (the toolkit's 1).
  assert metrics.vot_overlap([NAN_BOX], [[1, 1, 5, 5]], size=(100, 50))[0] == 0
  assert metrics.vot_overlap([NAN_BOX], [NAN_BOX], size=(100, 50))[0] == 1


def test_vot_overlap_uses_the_rotated_polygon():
  # A diamond of half-diagonal 10 around pixel (20, 20), and its bounding
  # box: the box's corners are outside the polygon.
  diamond = [[[20, 10], [30, 20], [20, 30], [10, 20]]]
  bounding_box = [[11, 11, 21, 21]]  # 1-based: 0-based columns 10..30.
  overlap = metrics.vot_overlap(bounding_box, bounding_box, size=(64, 48),
                                polygons=diamond)[0]
  assert 0.5 < overlap < 0.55  # The diamond fills about half the box.
  corner = [[11, 11, 4, 4]]
  assert metrics.vot_overlap(corner, bounding_box, size=(64, 48),
                             polygons=diamond)[0] == 0.0
  assert metrics.vot_overlap(corner, bounding_box, size=(64, 48))[0] > 0
  # NaN rows of ``polygons`` use the box.
  both = metrics.vot_overlap(corner * 2, bounding_box * 2, size=(64, 48),
                             polygons=[diamond[0], [[np.nan] * 2] * 4])
  assert both[0] == 0.0 and both[1] == pytest.approx(16 / 441)


def _random_regions(rng, num, corners, size):
  """Boxes and polygons of every scale, in and out of the image."""
  width, height = size
  centre = rng.uniform([-5, -5], [width + 5, height + 5], (num, 1, 2))
  spread = rng.choice([0.4, 2, 5, 10, 25], (num, 1, 1))
  polygons = centre + rng.normal(0, 1, (num, corners, 2)) * spread
  extent = np.abs(rng.normal(0, 2, (num, 2))) * spread[:, 0]
  boxes = np.concatenate([
      centre[:, 0] + 1 + rng.normal(0, 0.5, (num, 2)) * spread[:, 0]
      - extent / 2, extent], axis=1)
  extent = np.abs(rng.normal(0, 2, (num, 2))) * spread[:, 0]
  rects = np.concatenate([centre[:, 0] + 1 - extent / 2, extent], axis=1)
  halves = rng.random(num) < 0.3  # Ties for the rounding.
  polygons[halves] = np.round(polygons[halves] * 2) / 2
  boxes[halves] = np.round(boxes[halves] * 2) / 2
  flat = rng.random(num) < 0.05  # Degenerate: one row.
  polygons[flat, :, 1] = polygons[flat, :1, 1]
  boxes[rng.random(num) < 0.03] = np.nan
  polygons[rng.random(num) < 0.03] = np.nan
  return boxes, polygons, rects


def test_vot_overlap_is_the_toolkits_on_random_regions():
  region = pytest.importorskip(
      'vot.region', reason='needs the VOT toolkit (requirements-vot.txt)')

  def toolkit(box):
    if np.isnan(box).any():
      return region.Special(0)
    x, y, w, h = box
    return region.Rectangle(x - 1, y - 1, w, h)

  def toolkit_polygon(points):
    if np.isnan(points).any():
      return region.Special(0)
    return region.Polygon([tuple(p) for p in points])

  rng = np.random.default_rng(0)
  # Triangles, quadrilaterals (rotated boxes, and any, crossed ones too)
  # and hexagons, in a wide and a tall image.
  for corners, size in ((4, (64, 48)), (3, (20, 90)), (6, (64, 48))):
    boxes, polygons, rects = _random_regions(rng, 400, corners, size)
    ours = metrics.vot_overlap(boxes, np.full_like(boxes, np.nan), size=size,
                               polygons=polygons)
    theirs = [region.calculate_overlap(toolkit(b), toolkit_polygon(p),
                                       bounds=size)
              for b, p in zip(boxes, polygons)]
    np.testing.assert_array_equal(ours, theirs)
    partial = np.sum((0 < ours) & (ours < 1))
    ours = metrics.vot_overlap(boxes, rects, size=size)
    theirs = [region.calculate_overlap(toolkit(b), toolkit(r), bounds=size)
              for b, r in zip(boxes, rects)]
    np.testing.assert_array_equal(ours, theirs)
    # Enough partial overlaps to mean something.
    assert partial > 100 and np.sum((0 < ours) & (ours < 1)) > 100


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
  np.testing.assert_allclose(metrics.vot_overlaps(FAILING),
                             [NAN, 0.8, NAN, NAN, NAN, 0.6])
  np.testing.assert_allclose(metrics.vot_overlaps(FAILING, burnin=2),
                             [NAN] * 6)
  np.testing.assert_allclose(metrics.vot_overlaps(STEADY, burnin=3),
                             [NAN] * 3 + [0.5] * 3)
  # Ground-truth polygons, where the run has them: here the same squares.
  square = np.array(_square(0, 0, 9, 9), np.float64)
  with_polygons = FAILING._replace(polygons=np.stack([square] * 6))
  np.testing.assert_allclose(metrics.vot_overlaps(with_polygons),
                             [NAN, 0.8, NAN, NAN, NAN, 0.6])


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

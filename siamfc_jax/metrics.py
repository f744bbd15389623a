"""OTB one-pass evaluation (OPE): success and precision curves.

Frames whose ground truth is missing (NaN) or empty (w or h <= 0) are left
out. A predicted box that is NaN counts as a miss (IoU 0, infinite error).
"""

from typing import NamedTuple

import numpy as np

from siamfc_jax import boxes

SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)  # Pixels, 0..50.
PRECISION_AT = 20


class OPEResult(NamedTuple):
  success_curve: np.ndarray  # Fraction of frames with IoU > threshold.
  precision_curve: np.ndarray  # Fraction with centre error <= threshold.
  auc: float  # Mean of the success curve.
  precision: float  # Precision at 20 pixels.
  num_frames: int  # Frames with valid ground truth.


def frame_scores(predicted, groundtruth) -> tuple[np.ndarray, np.ndarray]:
  """IoU and centre error on the frames with valid ground truth."""
  predicted = np.asarray(predicted, np.float64).reshape(-1, 4)
  groundtruth = np.asarray(groundtruth, np.float64).reshape(-1, 4)
  if predicted.shape != groundtruth.shape:
    raise ValueError(f'{len(predicted)} predicted boxes for'
                     f' {len(groundtruth)} ground-truth boxes')
  valid = boxes.is_valid(groundtruth)
  predicted, groundtruth = predicted[valid], groundtruth[valid]
  overlap = np.nan_to_num(boxes.iou(predicted, groundtruth), nan=0.0)
  error = np.nan_to_num(boxes.center_error(predicted, groundtruth),
                        nan=np.inf)
  return overlap, error


def curves(overlap, error) -> OPEResult:
  """Success and precision curves from per-frame IoU and centre error."""
  overlap, error = np.asarray(overlap), np.asarray(error)
  if overlap.size == 0:
    raise ValueError('no frame with valid ground truth to evaluate')
  success = np.mean(overlap[:, None] > SUCCESS_THRESHOLDS[None], axis=0)
  precision = np.mean(error[:, None] <= PRECISION_THRESHOLDS[None], axis=0)
  return OPEResult(success, precision, float(np.mean(success)),
                   float(precision[PRECISION_AT]), int(overlap.size))


def ope(predicted, groundtruth) -> OPEResult:
  """OTB OPE of one sequence."""
  return curves(*frame_scores(predicted, groundtruth))


def average_ope(results) -> OPEResult:
  """OPE over several sequences: their curves averaged, as the OTB toolkit.

  ``num_frames`` is the total over the sequences.
  """
  results = list(results)
  if not results:
    raise ValueError('no sequence to average')
  success = np.mean([r.success_curve for r in results], axis=0)
  precision = np.mean([r.precision_curve for r in results], axis=0)
  return OPEResult(success, precision, float(np.mean(success)),
                   float(precision[PRECISION_AT]),
                   sum(r.num_frames for r in results))


# GOT-10k, as the official toolkit (got10k/experiments/got10k.py and
# got10k/utils/metrics.py) computes it.

GOT10K_THRESHOLDS = np.linspace(0, 1, 101)


class GOT10kResult(NamedTuple):
  ao: float  # Average overlap.
  sr50: float  # Fraction of frames with IoU > 0.5.
  sr75: float  # Fraction of frames with IoU > 0.75.
  success_curve: np.ndarray  # Fraction with IoU > each GOT10K_THRESHOLDS.
  num_frames: int


def _got10k_clip(rects, width: float, height: float) -> np.ndarray:
  """The toolkit's ``rect_iou(bound=resolution)`` clipping, order included.

  The left edge is clipped first and the width is then limited by the
  clipped left edge, so a box leaving the frame on the left is shifted
  rather than cut, exactly as the toolkit does.
  """
  rects = np.array(rects, np.float64).reshape(-1, 4)
  rects[:, 0] = np.clip(rects[:, 0], 0, width)
  rects[:, 1] = np.clip(rects[:, 1], 0, height)
  rects[:, 2] = np.clip(rects[:, 2], 0, width - rects[:, 0])
  rects[:, 3] = np.clip(rects[:, 3], 0, height - rects[:, 1])
  return rects


def got10k_ious(predicted, groundtruth, *, frame_size, cover=None,
                absence=None) -> np.ndarray:
  """Per-frame IoU of one sequence, on the frames GOT-10k evaluates.

  Left out: the first frame (the initialisation), frames whose target is
  not visible (``cover`` label 0, which is the toolkit's test, or
  ``absence`` label 1) and frames without ground truth (NaN rows: the test
  split). Boxes are clipped to the frame as the toolkit does; a NaN
  prediction counts as IoU 0.

  Args:
    predicted: (N, 4) x, y, w, h boxes, as written in the result file.
    groundtruth: (N, 4) boxes in the same coordinates.
    frame_size: (width, height), the sequence's ``resolution``.
    cover: optional (N,) ``cover.label`` values.
    absence: optional (N,) ``absence.label`` values.

  Returns:
    The IoUs of the evaluated frames, in frame order.
  """
  predicted = np.asarray(predicted, np.float64).reshape(-1, 4)
  groundtruth = np.asarray(groundtruth, np.float64).reshape(-1, 4)
  if predicted.shape != groundtruth.shape:
    raise ValueError(f'{len(predicted)} predicted boxes for'
                     f' {len(groundtruth)} ground-truth boxes')
  width, height = frame_size
  overlap = np.nan_to_num(boxes.iou(_got10k_clip(predicted, width, height),
                                    _got10k_clip(groundtruth, width, height)),
                          nan=0.0)
  keep = np.all(np.isfinite(groundtruth), axis=1)
  if cover is not None:
    keep &= np.asarray(cover).reshape(-1) > 0
  if absence is not None:
    keep &= np.asarray(absence).reshape(-1) == 0
  keep[0] = False
  return np.clip(overlap[keep], 0.0, 1.0)


def got10k(ious) -> GOT10kResult:
  """AO, SR and the success curve of the IoUs of all evaluated frames.

  The toolkit's overall numbers pool the frames of every sequence (so
  longer sequences weigh more): pass the concatenated ``got10k_ious``.
  """
  ious = np.asarray(ious, np.float64).reshape(-1)
  if ious.size == 0:
    raise ValueError('no frame with ground truth to evaluate')
  curve = np.mean(ious[:, None] > GOT10K_THRESHOLDS[None], axis=0)
  return GOT10kResult(float(np.mean(ious)), float(np.mean(ious > 0.5)),
                      float(np.mean(ious > 0.75)), curve, int(ious.size))


def got10k_speed(seconds) -> float:
  """The toolkit's speed: mean of 1 / t over positive per-frame times.

  Returns NaN when no time is positive (the toolkit reports -1).
  """
  seconds = np.asarray(seconds, np.float64).reshape(-1)
  seconds = seconds[np.isfinite(seconds) & (seconds > 0)]
  return float(np.mean(1.0 / seconds)) if seconds.size else float('nan')


# VOT reset-based (supervised) evaluation: pysot's accuracy, robustness and
# EAO (toolkit/utils/statistics.py, toolkit/evaluation/{ar,eao}_benchmark.py)
# on the VOT toolkit's region overlaps (vot-toolkit 0.7, vot/region/raster.py).
# A run stores one code per frame: a tracked box, or pysot's special values.

VOT_SKIPPED = 0  # Between a failure and the re-initialisation.
VOT_INIT = 1  # (Re-)initialised on the ground truth.
VOT_FAILURE = 2  # The box did not overlap the ground truth.
VOT_TRACKED = -1  # A box was reported (pysot stores the box itself).


class VOTRun(NamedTuple):
  """One reset-based run of a tracker over a sequence."""

  codes: np.ndarray  # (N,) VOT_* code of every frame.
  boxes: np.ndarray  # (N, 4) 1-based x, y, w, h; NaN where not tracked.
  groundtruth: np.ndarray  # (N, 4) 1-based x, y, w, h.
  width: int  # Frame size.
  height: int
  # (N, K, 2) ground-truth polygon corners in VOT's 0-based pixel
  # coordinates (groundtruth.txt's numbers); rows with NaN, or None, use
  # the box of ``groundtruth``.
  polygons: np.ndarray | None = None


# The toolkit rasterises both regions on the image's pixel grid and counts
# pixels; what follows does the same, row by row, so that its overlaps are
# the toolkit's to the last digit (they are not the shapes' exact areas).

_NO_NODE = np.iinfo(np.int64).max // 2  # Sorts after every crossing.


def _toolkit_rectangles(rects) -> np.ndarray:
  """1-based x, y, w, h -> vot.region's 0-based Rectangle, rounded as it is.

  The toolkit stores float32 and rounds x, y, w and h each to an integer
  (ties to even) before rasterising. NaN stays NaN (no region).
  """
  rects = np.asarray(rects, np.float64).reshape(-1, 4) - [1, 1, 0, 0]
  return np.round(rects.astype(np.float32)).astype(np.float64)


def _rectangle_bounds(rects, valid) -> np.ndarray:
  """(left, top, right, bottom) pixels of rounded rectangles; 0s if empty."""
  bounds = np.stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2] - 1,
                     rects[:, 1] + rects[:, 3] - 1], axis=1)
  return np.where(valid[:, None], bounds, 0.0)


def _window_intervals(bounds, left, top, width, height) -> np.ndarray:
  """Columns c0..c1 and rows r0..r1 of a rectangle inside each window."""
  return np.stack([np.maximum(bounds[:, 0] - left, 0),
                   np.minimum(bounds[:, 2] - left, width - 1),
                   np.maximum(bounds[:, 1] - top, 0),
                   np.minimum(bounds[:, 3] - top, height - 1)], axis=1)


def _length(first, last):
  return np.maximum(last - first + 1, 0)


def _polygon_pixels(corners, left, top, width, height, box):
  """Pixels of each polygon, and those also in ``box``, in its window.

  The toolkit's scanline fill (``rasterize_polygon``): on every pixel row
  each edge whose rows include it gives one crossing, truncated towards
  zero in window coordinates; the sorted crossings are filled in pairs,
  inclusive, skipping the first of two equal crossings (a corner) unless
  they are the last two, and clipped to the window.

  Args:
    corners: (F, K, 2) rounded corners, image coordinates.
    left, top, width, height: (F,) windows.
    box: (F, 4) c0, c1, r0, r1 window intervals of the other region.

  Returns:
    (polygon pixels, pixels in both), (F,) int64 each.
  """
  num = len(corners)
  xs = corners[..., 0] - left[:, None]
  ys = corners[..., 1] - top[:, None]
  first = np.maximum(ys.min(axis=1), 0).astype(np.int64)
  rows = _length(first, np.minimum(ys.max(axis=1), height - 1)).astype(
      np.int64)
  frame = np.repeat(np.arange(num), rows)
  y = (np.arange(rows.sum()) - np.repeat(np.cumsum(rows) - rows, rows)
       + first[frame]).astype(np.float64)[:, None]
  xi, yi = xs[frame], ys[frame]
  xj, yj = np.roll(xi, 1, axis=1), np.roll(yi, 1, axis=1)  # Edge j -> i.
  crossing = (np.minimum(yi, yj) <= y) & (y <= np.maximum(yi, yj))
  rise = yj - yi
  with np.errstate(divide='ignore', invalid='ignore'):
    # The toolkit's float64 expression, in its order: rounding included.
    x = np.where(rise != 0, xi + (y - yi) / rise * (xj - xi), xi)
  x = np.trunc(np.where(crossing, x, 0.0)).astype(np.int64)
  nodes = np.sort(np.where(crossing, x, _NO_NODE), axis=1)
  count = crossing.sum(axis=1)

  index = np.arange(len(nodes))
  limit = width[frame]
  c0, c1, r0, r1 = box[frame].T
  in_rows = (r0 <= y[:, 0]) & (y[:, 0] <= r1)
  i = np.zeros(len(nodes), np.int64)
  last = np.full(len(nodes), -1, np.int64)  # End of the last filled pair.
  live = np.ones(len(nodes), bool)
  pixels = np.zeros(len(nodes), np.int64)
  both = np.zeros(len(nodes), np.int64)
  for _ in range(nodes.shape[1]):  # Each step moves i on by 1 or 2.
    a = nodes[index, np.minimum(i, nodes.shape[1] - 1)]
    b = nodes[index, np.minimum(i + 1, nodes.shape[1] - 1)]
    live &= (i < count - 1) & (a < limit)
    skip = live & (a == b) & (i < count - 2)
    pair = live & ~skip
    fill = pair & (b >= 0)
    lo, hi = np.maximum(a, 0), np.minimum(b, limit - 1)
    # Pairs follow each other left to right; one may start on the pixel
    # where the last ended, which is counted once.
    shared = fill & (lo == last)
    pixels += np.where(fill, hi - lo + 1, 0) - shared
    both += (np.where(fill & in_rows,
                      _length(np.maximum(lo, c0), np.minimum(hi, c1)), 0)
             - (shared & in_rows & (c0 <= lo) & (lo <= c1)))
    last = np.where(fill, hi, last)
    i += np.where(pair, 2, 0) + skip
  return (np.bincount(frame, pixels, num).astype(np.int64),
          np.bincount(frame, both, num).astype(np.int64))


def vot_overlap(predicted, groundtruth, *, size, polygons=None) -> np.ndarray:
  """The VOT toolkit's overlap of boxes with the ground-truth regions.

  ``vot.region.calculate_overlap(box, region, bounds=size)`` of every
  frame: both regions are rasterised on the image's pixels (0-based
  columns 0..width-1, rows 0..height-1) and the overlap is the ratio of the
  pixels in both to the pixels in either. A box covers the pixels round(x)
  to round(x) + round(w) - 1 of its 0-based x (rows alike); a polygon those
  of the toolkit's scanline fill of its rounded corners. The toolkit's
  shortcuts are kept: regions whose joint bounding box is at most one pixel
  wide or high overlap 1 (two empty regions, say), and 0 when the part of
  that box within the image is. A NaN box or region is empty.

  Args:
    predicted: (N, 4) 1-based x, y, w, h.
    groundtruth: (N, 4) 1-based x, y, w, h: the region where ``polygons``
      has none.
    size: (width, height) of the frames.
    polygons: optional (N, K, 2) polygon corners, 0-based as in VOT's
      groundtruth.txt; rows with NaN use ``groundtruth``.

  Returns:
    (N,) overlaps in [0, 1].
  """
  width, height = size
  boxes = _toolkit_rectangles(predicted)
  rects = _toolkit_rectangles(groundtruth)
  num = len(boxes)
  if rects.shape != boxes.shape:
    raise ValueError(f'{num} predicted boxes for {len(rects)} ground-truth'
                     ' boxes')
  if polygons is None:
    corners = np.full((num, 3, 2), np.nan)
  else:
    corners = np.round(np.asarray(polygons, np.float64).astype(np.float32))
    corners = corners.astype(np.float64)
    if corners.ndim != 3 or corners.shape[0] != num or corners.shape[2] != 2:
      raise ValueError(f'polygons of shape {corners.shape} for {num} frames'
                       ' (expected (N, K, 2))')
  is_polygon = ~np.isnan(corners).any(axis=(1, 2))
  is_rect = ~is_polygon & ~np.isnan(rects).any(axis=1)
  box_bounds = _rectangle_bounds(boxes, ~np.isnan(boxes).any(axis=1))
  truth_bounds = np.where(
      is_polygon[:, None],
      np.concatenate([np.min(corners, axis=1), np.max(corners, axis=1)], 1),
      _rectangle_bounds(rects, is_rect))
  union = np.concatenate([np.minimum(box_bounds, truth_bounds)[:, :2],
                          np.maximum(box_bounds, truth_bounds)[:, 2:]], 1)
  box_bounds, truth_bounds, union = (
      b.astype(np.int64) for b in (box_bounds, truth_bounds, union))
  one = (union[:, 0] >= union[:, 2]) | (union[:, 1] >= union[:, 3])
  left, top = np.maximum(union[:, 0], 0), np.maximum(union[:, 1], 0)
  right = np.minimum(union[:, 2], width - 1)
  bottom = np.minimum(union[:, 3], height - 1)
  zero = (left >= right) | (top >= bottom)
  window = (left, top, right - left + 1, bottom - top + 1)

  box = _window_intervals(box_bounds, *window)
  box[np.isnan(boxes).any(axis=1)] = [0, -1, 0, -1]  # No pixels.
  box_pixels = _length(box[:, 0], box[:, 1]) * _length(box[:, 2], box[:, 3])
  truth = _window_intervals(truth_bounds, *window)
  truth_pixels = np.where(is_rect, _length(truth[:, 0], truth[:, 1])
                          * _length(truth[:, 2], truth[:, 3]), 0)
  both = np.where(is_rect,
                  _length(np.maximum(box[:, 0], truth[:, 0]),
                          np.minimum(box[:, 1], truth[:, 1]))
                  * _length(np.maximum(box[:, 2], truth[:, 2]),
                            np.minimum(box[:, 3], truth[:, 3])), 0)
  scan = np.flatnonzero(is_polygon & ~one & ~zero)
  if scan.size:
    pixels, shared = _polygon_pixels(
        corners[scan], *(w[scan] for w in window), box[scan])
    truth_pixels[scan] = pixels
    both[scan] = shared
  either = box_pixels + truth_pixels - both
  with np.errstate(divide='ignore', invalid='ignore'):
    overlap = np.where(either > 0, both / either, 0.0)
  return np.where(one, 1.0, np.where(zero, 0.0, overlap))


def vot_overlaps(run: VOTRun, *, burnin: int = 0) -> np.ndarray:
  """pysot's ``calculate_accuracy`` overlaps of one run (``vot_overlap``).

  NaN on frames without a box (initialisation, failure, skipped) and, with
  ``burnin``, on the ``burnin`` frames that start at each initialisation.
  The toolkit leaves out the same frames for ``burnin`` >= 1 (with 0 it
  counts each initialisation frame as overlap 0).
  """
  codes = np.asarray(run.codes)
  overlaps = vot_overlap(run.boxes, run.groundtruth,
                         size=(run.width, run.height), polygons=run.polygons)
  overlaps[codes != VOT_TRACKED] = np.nan
  for start in np.flatnonzero(codes == VOT_INIT):
    overlaps[start:start + burnin] = np.nan
  return overlaps


def vot_accuracy_robustness(runs, *, burnin: int):
  """pysot's accuracy, robustness and lost number over ``runs``.

  Accuracy is the mean overlap of all valid frames pooled over sequences
  (for one sequence, the toolkit's accuracy; over several the toolkit
  weighs each sequence's mean by its length instead); robustness is
  100 x failures / frames; the lost number is the number of failures.

  Returns:
    (accuracy, robustness, lost number).
  """
  overlaps = np.concatenate([vot_overlaps(run, burnin=burnin)
                             for run in runs])
  failures = sum(int(np.sum(np.asarray(run.codes) == VOT_FAILURE))
                 for run in runs)
  valid = overlaps[~np.isnan(overlaps)]
  accuracy = float(np.mean(valid)) if valid.size else float('nan')
  return accuracy, 100.0 * failures / overlaps.size, failures


def _eao_fragments(overlaps, failures, max_len: int, skipping: int):
  """Yields (fragment row, weight) as pysot's ``_calculate_eao`` builds them.

  A run is cut at each re-initialisation (failure + ``skipping``); a
  fragment that ends in a failure is padded with zeros to ``max_len``, the
  last one with NaN (its length is unknown beyond the sequence).
  """
  length = len(overlaps)
  if not len(failures):
    row = np.full(max_len, np.nan)
    row[:length] = overlaps
    yield row, 1.0
    return
  points = [0] + [f + skipping for f in failures if f + skipping <= length]
  for i, start in enumerate(points):
    last = i == len(points) - 1
    if last:
      fragment = overlaps[start:]
      weight = (length - start) / (length - start + 1e-16)
      row = np.full(max_len, np.nan)
    else:
      end = points[i + 1]
      fragment = overlaps[start:end + 1]
      weight = (min(end + 1, length) - start) / (end - start + 1)
      row = np.zeros(max_len)
    row[:len(fragment)] = np.nan_to_num(fragment, nan=0.0)
    yield row, weight


def vot_eao(runs, *, low: int, high: int, skipping: int):
  """pysot's expected average overlap over ``runs``.

  Args:
    runs: VOTRun of every sequence.
    low, high: the 1-based range of sequence lengths averaged (VOT2016:
      108..371, VOT2017/2018: 100..356).
    skipping: frames from a failure to the re-initialisation.

  Returns:
    (EAO, expected-overlap curve (float32, one value per length)); the EAO
    is NaN when ``low`` exceeds the longest sequence.
  """
  all_overlaps = [vot_overlaps(run) for run in runs]
  max_len = max(len(o) for o in all_overlaps)
  rows, weights = [], []
  for run, overlaps in zip(runs, all_overlaps):
    failures = np.flatnonzero(np.asarray(run.codes) == VOT_FAILURE)
    for row, weight in _eao_fragments(overlaps, failures, max_len, skipping):
      rows.append(row)
      weights.append(weight)
  fragments, weights = np.stack(rows), np.asarray(weights)
  curve = np.zeros(max_len, np.float32)
  curve[0] = 1
  for i in range(1, max_len):
    mask = ~np.isnan(fragments[:, i])
    if np.any(mask):
      means = np.sum(fragments[mask, 1:i + 1], axis=1) / i
      curve[i] = np.sum(means * weights[mask]) / np.sum(weights[mask])
  selected = np.zeros(max_len)
  selected[low - 1:high] = 1
  selected[np.isnan(curve)] = 0
  if not selected.any():
    return float('nan'), curve
  return (float(np.sum(np.nan_to_num(curve) * selected) / np.sum(selected)),
          curve)


# One-pass evaluation as the MATLAB toolkits of OTB, UAV123 and LaSOT
# compute it (tracker_benchmark's calcSeqErrRobust.m and perfPlot.m, the
# LaSOT toolkit's calc_seq_err_robust.m and eval_tracker.m). pysot-toolkit
# and pytracking count the same frames for UAV123 and LaSOT. Unlike ``ope``,
# frames without a valid ground-truth box stay in the denominator.

NORMALIZED_PRECISION_THRESHOLDS = np.linspace(0, 0.5, 51)
NORMALIZED_PRECISION_AT = 20  # Threshold 0.2.


class ToolkitResult(NamedTuple):
  success_curve: np.ndarray  # At SUCCESS_THRESHOLDS.
  precision_curve: np.ndarray  # At PRECISION_THRESHOLDS (pixels).
  # At NORMALIZED_PRECISION_THRESHOLDS (fractions of the box size).
  normalized_precision_curve: np.ndarray
  auc: float  # Mean of the success curve.
  precision: float  # Precision at 20 pixels.
  normalized_precision: float  # The normalised curve at 0.2.
  normalized_precision_auc: float  # Mean of the normalised curve.
  num_frames: int  # Every frame: the curves' denominator.
  num_evaluated: int  # Frames left once the absent ones are removed.


def toolkit_fill(predicted, groundtruth) -> np.ndarray:
  """The toolkits' repair of unusable boxes before scoring.

  From the second frame on, a box with a NaN or a width or height <= 0,
  on a frame whose ground truth has no NaN, is replaced by the box of the
  frame before (itself possibly replaced); then the first frame's box is
  the ground truth's.
  """
  predicted = np.array(predicted, np.float64).reshape(-1, 4)
  groundtruth = np.asarray(groundtruth, np.float64).reshape(-1, 4)
  if predicted.shape != groundtruth.shape:
    raise ValueError(f'{len(predicted)} predicted boxes for'
                     f' {len(groundtruth)} ground-truth boxes')
  with np.errstate(invalid='ignore'):
    unusable = (np.isnan(predicted).any(axis=1) | (predicted[:, 2] <= 0)
                | (predicted[:, 3] <= 0))
  if not len(predicted):
    return predicted
  replace = unusable & ~np.isnan(groundtruth).any(axis=1)
  replace[0] = False
  index = np.arange(len(predicted))
  source = np.maximum.accumulate(np.where(replace, 0, index))
  predicted = predicted[source]
  predicted[0] = groundtruth[0]
  return predicted


def toolkit_frame_scores(predicted, groundtruth, *, absent=None):
  """Per-frame IoU, centre error and normalised centre error (toolkits).

  Boxes are repaired by ``toolkit_fill``; frames flagged in ``absent``
  (LaSOT: the target fully occluded or out of view) are then removed.
  On a remaining frame whose ground truth has a coordinate that is not
  > 0 (NaN: UAV123's absent target; x or y 0 too, as the toolkits test
  all four numbers) the IoU is -1, which no threshold counts, and both
  errors are -1, which every threshold counts. A box still NaN after the
  repair (one on, or copied from, a frame whose ground truth has a NaN)
  scores NaN, which no threshold counts.

  The normalised error divides each centre coordinate (OTB centres,
  x + (w - 1) / 2) of both boxes by the ground truth's width or height.

  Returns:
    (IoU, error, normalised error) of the frames kept, and the number of
    frames before the absent ones were removed.
  """
  predicted = toolkit_fill(predicted, groundtruth)
  groundtruth = np.asarray(groundtruth, np.float64).reshape(-1, 4)
  num_frames = len(groundtruth)
  if absent is not None:
    absent = np.asarray(absent).reshape(-1)
    if absent.shape != (num_frames,):
      raise ValueError(f'{absent.size} absent flags for {num_frames} frames')
    keep = absent == 0
    predicted, groundtruth = predicted[keep], groundtruth[keep]
  with np.errstate(invalid='ignore', divide='ignore'):
    valid = np.all(groundtruth > 0, axis=1)
    overlap = np.where(valid, boxes.iou(predicted, groundtruth), -1.0)
    offset = boxes.centers(predicted) - boxes.centers(groundtruth)
    error = np.where(valid, np.hypot(*offset.T), -1.0)
    normalized = np.where(
        valid, np.hypot(*(offset / groundtruth[:, 2:]).T), -1.0)
  return overlap, error, normalized, num_frames


def toolkit_ope(predicted, groundtruth, *, absent=None) -> ToolkitResult:
  """One sequence's curves as the OTB, UAV123 and LaSOT toolkits count.

  Each curve is the number of kept frames passing a threshold (IoU >
  t; errors <= t) over every frame of the sequence (plus the toolkits'
  machine epsilon), so absent frames (LaSOT) and frames without a valid
  ground-truth box (UAV123) count as failures of the success curve (see
  ``toolkit_frame_scores`` for the error curves).
  """
  overlap, error, normalized, num_frames = toolkit_frame_scores(
      predicted, groundtruth, absent=absent)
  if num_frames == 0:
    raise ValueError('no frame to evaluate')
  total = num_frames + np.finfo(np.float64).eps

  def curve(passed):
    return np.sum(passed, axis=0) / total

  success = curve(overlap[:, None] > SUCCESS_THRESHOLDS[None])
  precision = curve(error[:, None] <= PRECISION_THRESHOLDS[None])
  norm = curve(normalized[:, None] <= NORMALIZED_PRECISION_THRESHOLDS[None])
  return _toolkit_result(success, precision, norm, num_frames, len(overlap))


def _toolkit_result(success, precision, norm, num_frames,
                    num_evaluated) -> ToolkitResult:
  return ToolkitResult(
      success, precision, norm, float(np.mean(success)),
      float(precision[PRECISION_AT]), float(norm[NORMALIZED_PRECISION_AT]),
      float(np.mean(norm)), int(num_frames), int(num_evaluated))


def average_toolkit_ope(results) -> ToolkitResult:
  """Curves averaged over sequences (each sequence weighs the same)."""
  results = list(results)
  if not results:
    raise ValueError('no sequence to average')

  def mean(field):
    return np.mean([getattr(r, field) for r in results], axis=0)

  return _toolkit_result(
      mean('success_curve'), mean('precision_curve'),
      mean('normalized_precision_curve'),
      sum(r.num_frames for r in results), sum(r.num_evaluated for r in results))


# TrackingNet, as its evaluation server computes it (TrackingNet-devkit's
# metrics.py): every number is rounded to an integer (ties to even) first,
# the first frame's box is the ground truth's, every frame counts, and each
# score is the trapezoidal area under a 21-point curve, its thresholds
# mapped onto [0, 1].

TRACKINGNET_SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)
TRACKINGNET_PRECISION_THRESHOLDS = np.linspace(0, 50, 21)  # Pixels.
TRACKINGNET_NORMALIZED_THRESHOLDS = np.linspace(0, 0.5, 21)


class TrackingNetResult(NamedTuple):
  success_curve: np.ndarray  # At TRACKINGNET_SUCCESS_THRESHOLDS.
  precision_curve: np.ndarray  # At TRACKINGNET_PRECISION_THRESHOLDS.
  normalized_precision_curve: np.ndarray  # At ..._NORMALIZED_THRESHOLDS.
  success: float  # Area under each curve, thresholds mapped onto [0, 1].
  precision: float
  normalized_precision: float
  num_frames: int


def _trapezoid_area(curve) -> float:
  """The area under a curve sampled at 21 equally spaced points of [0, 1]."""
  curve = np.asarray(curve, np.float64)
  step = 1.0 / (len(curve) - 1)
  return float(np.sum((curve[1:] + curve[:-1]) / 2) * step)


def trackingnet_ope(predicted, groundtruth) -> TrackingNetResult:
  """One sequence's TrackingNet curves (all frames; NaN boxes fail)."""
  predicted = np.round(np.asarray(predicted, np.float64).reshape(-1, 4))
  groundtruth = np.round(np.asarray(groundtruth, np.float64).reshape(-1, 4))
  if predicted.shape != groundtruth.shape:
    raise ValueError(f'{len(predicted)} predicted boxes for'
                     f' {len(groundtruth)} ground-truth boxes')
  if not len(groundtruth):
    raise ValueError('no frame to evaluate')
  predicted[0] = groundtruth[0]
  with np.errstate(invalid='ignore', divide='ignore'):
    # Pixel-inclusive corners; the intersection is rounded as the server
    # rounds it (a no-op on integers).
    low = np.maximum(predicted[:, :2], groundtruth[:, :2])
    high = np.minimum(predicted[:, :2] + predicted[:, 2:] - 1,
                      groundtruth[:, :2] + groundtruth[:, 2:] - 1)
    inter = np.prod(np.clip(np.round(high - low + 1), 0, None), axis=1)
    union = (np.prod(predicted[:, 2:], axis=1)
             + np.prod(groundtruth[:, 2:], axis=1) - inter)
    overlap = inter / union
    offset = ((predicted[:, :2] + (predicted[:, 2:] + 1) / 2)
              - (groundtruth[:, :2] + (groundtruth[:, 2:] + 1) / 2))
    error = np.hypot(*offset.T)
    normalized = np.hypot(*(offset / groundtruth[:, 2:]).T)
    success = np.mean(overlap[:, None] > TRACKINGNET_SUCCESS_THRESHOLDS,
                      axis=0)
    precision = np.mean(error[:, None] <= TRACKINGNET_PRECISION_THRESHOLDS,
                        axis=0)
    norm = np.mean(normalized[:, None] <= TRACKINGNET_NORMALIZED_THRESHOLDS,
                   axis=0)
  return TrackingNetResult(success, precision, norm, _trapezoid_area(success),
                           _trapezoid_area(precision), _trapezoid_area(norm),
                           len(groundtruth))


def average_trackingnet(results) -> TrackingNetResult:
  """The server's overall numbers: curves averaged over sequences first."""
  results = list(results)
  if not results:
    raise ValueError('no sequence to average')
  curves = [np.mean([r[i] for r in results], axis=0) for i in range(3)]
  return TrackingNetResult(*curves, *map(_trapezoid_area, curves),
                           sum(r.num_frames for r in results))

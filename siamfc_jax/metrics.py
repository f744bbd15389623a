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


# VOT reset-based (supervised) evaluation, as pysot computes it
# (toolkit/utils/statistics.py, toolkit/evaluation/{ar,eao}_benchmark.py).
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


def vot_iou(predicted, groundtruth, *, bound) -> np.ndarray:
  """IoU of 1-based x, y, w, h boxes cut to the image region.

  ``bound`` is pysot's (right, bottom) in 0-based pixel coordinates: the
  region [0, right] x [0, bottom], i.e. [1, right + 1] x [1, bottom + 1]
  for 1-based boxes. An empty union gives 0.
  """
  right, bottom = bound

  def cut(rects):
    rects = np.asarray(rects, np.float64).reshape(-1, 4)
    left = np.clip(rects[:, 0], 1, right + 1)
    top = np.clip(rects[:, 1], 1, bottom + 1)
    width = np.clip(rects[:, 0] + rects[:, 2], 1, right + 1) - left
    height = np.clip(rects[:, 1] + rects[:, 3], 1, bottom + 1) - top
    return np.stack([left, top, width, height], axis=1)

  return np.nan_to_num(boxes.iou(cut(predicted), cut(groundtruth)), nan=0.0)


def vot_overlaps(run: VOTRun, *, bound, burnin: int = 0) -> np.ndarray:
  """pysot's ``calculate_accuracy`` overlaps of one run.

  NaN on frames without a box (initialisation, failure, skipped) and, with
  ``burnin``, on the ``burnin`` frames that start at each initialisation.
  """
  codes = np.asarray(run.codes)
  overlaps = vot_iou(run.boxes, run.groundtruth, bound=bound)
  overlaps[codes != VOT_TRACKED] = np.nan
  for start in np.flatnonzero(codes == VOT_INIT):
    overlaps[start:start + burnin] = np.nan
  return overlaps


def vot_accuracy_robustness(runs, *, burnin: int):
  """pysot's accuracy, robustness and lost number over ``runs``.

  Accuracy is the mean overlap of all valid frames pooled over sequences;
  robustness is 100 x failures / frames; the lost number is the number of
  failures. Overlaps use the image bound (width, height), as pysot's
  ``ar_benchmark``.

  Returns:
    (accuracy, robustness, lost number).
  """
  overlaps = np.concatenate([
      vot_overlaps(run, bound=(run.width, run.height), burnin=burnin)
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
  all_overlaps = [vot_overlaps(run, bound=(run.width - 1, run.height - 1))
                  for run in runs]
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

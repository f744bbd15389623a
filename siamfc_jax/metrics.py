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

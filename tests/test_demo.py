"""Tests of the built-in demo sequence."""

import numpy as np
import pytest
import skimage.data

import siamfc_jax
from siamfc_jax import boxes
from siamfc_jax import demo
from siamfc_jax import metrics


def test_demo_sequence_is_deterministic_and_boxes_are_exact():
  sequence = demo.demo_sequence(30)
  frames = list(sequence)
  again = list(demo.demo_sequence(30))
  assert len(frames) == 30 == len(sequence.groundtruth)
  np.testing.assert_array_equal(frames[7], again[7])
  assert frames[0].shape == demo.FRAME_SHAPE + (3,)
  assert frames[0].dtype == np.uint8
  for frame, box in zip(frames, sequence.groundtruth):
    boxes.check_box(box, frame.shape)
    x, y, w, h = box.astype(int)
    inside = frame[y - 1:y - 1 + h, x - 1:x - 1 + w]
    assert inside.shape == (h, w, 3)  # The object lies inside the frame.
  # The object moves and changes size.
  assert np.ptp(sequence.groundtruth[:, 0]) > 100
  assert np.ptp(sequence.groundtruth[:, 3]) > 20


def test_pasted_object_is_where_the_box_says():
  sequence = demo.demo_sequence(3)
  first = next(iter(sequence))
  background = skimage.data.coffee()[:first.shape[0], :first.shape[1]]
  x, y, w, h = sequence.groundtruth[0].astype(int)
  inside = np.zeros(first.shape[:2], bool)
  inside[y - 1:y - 1 + h, x - 1:x - 1 + w] = True
  np.testing.assert_array_equal(first[~inside], background[~inside])
  changed = np.any(first != background, axis=-1)
  assert changed[inside].mean() > 0.9


@pytest.mark.slow
def test_the_shipped_model_follows_the_demo():
  # What the README shows a new user: the target is followed all the way
  # (measured: IoU 0.71 to 0.96 after the first frame, success AUC
  # 0.836).
  sequence = demo.demo_sequence()
  result = siamfc_jax.track(sequence, sequence.groundtruth[0])
  overlap = boxes.iou(result.boxes, sequence.groundtruth)
  assert overlap.min() > 0.6, np.argmin(overlap)
  assert metrics.ope(result.boxes, sequence.groundtruth).auc > 0.8

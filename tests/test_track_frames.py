"""Tests of tracker.track_frames, whole sequences scanned on the device."""

import jax
import numpy as np
import pytest

from siamfc_jax import weights
from siamfc_jax import demo
from siamfc_jax import tracker
from siamfc_jax.configs import track_3s


@pytest.fixture(scope='module')
def shipped():
  """A tracker with the shipped weights (an untrained network if none)."""
  config = track_3s.get_config()
  return tracker.Tracker(weights.load_for_tracking(config), config)


def test_track_frames_gives_the_frame_by_frame_boxes(shipped):
  sequence = demo.demo_sequence(6)
  frames = np.stack(list(sequence))
  box = sequence.groundtruth[0]
  expected = shipped.track(frames, box)
  boxes, scores = jax.device_get(tracker.track_frames(
      shipped.variables, frames, box, settings=shipped.settings))
  assert boxes.shape == (6, 4) and scores.shape == (6,)
  np.testing.assert_allclose(boxes, expected.boxes, atol=1e-3)
  assert np.isnan(scores[0])
  np.testing.assert_allclose(scores[1:], expected.scores[1:], rtol=1e-4,
                             atol=1e-5)


def test_track_frames_compiles_once_per_sequence_shape(shipped):
  sequence = demo.demo_sequence(8)
  frames = np.stack(list(sequence))
  before = tracker.track_frames._cache_size()
  for start in (0, 4):
    boxes, _ = tracker.track_frames(
        shipped.variables, frames[start:start + 4],
        sequence.groundtruth[start], settings=shipped.settings)
    assert np.all(np.isfinite(jax.device_get(boxes)))
  assert tracker.track_frames._cache_size() - before <= 1

"""Tests of the baseline trackers (NCC template matching and OpenCV's)."""

import itertools

import numpy as np
import pytest

from siamfc_jax import baselines
from siamfc_jax import boxes
from siamfc_jax import demo
from siamfc_jax import metrics


def _texture(shape=(120, 160), seed=0):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 255, (*shape, 3), np.uint8)


@pytest.mark.parametrize('shift', [(0, 0), (3, -5), (-7, 6), (9, 9)])
def test_ncc_follows_an_integer_translation(shift):
  frame = _texture()
  moved = np.roll(frame, shift, axis=(0, 1))
  tracker = baselines.NCCTracker(search_scale=3.0)
  box = np.array([60.0, 40.0, 20.0, 16.0])
  tracker.init(frame, box)
  result = tracker.update(moved)
  dy, dx = shift
  np.testing.assert_allclose(result, box + [dx, dy, 0, 0], atol=1e-6)


def test_ncc_tracks_a_moving_patch_and_keeps_its_size():
  background = _texture((100, 140), seed=1) // 4
  patch = _texture((12, 18), seed=2)
  frames, truth = [], []
  for i in range(6):
    frame = background.copy()
    y, x = 30 + 3 * i, 40 + 4 * i
    frame[y:y + 12, x:x + 18] = patch
    frames.append(frame)
    truth.append([x + 1, y + 1, 18, 12])
  tracker = baselines.NCCTracker(search_scale=3.0)
  tracker.init(frames[0], truth[0])
  results = [truth[0]] + [tracker.update(f) for f in frames[1:]]
  np.testing.assert_allclose(results, truth, atol=1e-6)


def test_ncc_window_may_leave_the_frame():
  frame = _texture((60, 80))
  tracker = baselines.NCCTracker(search_scale=4.0)
  tracker.init(frame, [1, 1, 12, 10])  # Top-left corner.
  result = tracker.update(frame)
  np.testing.assert_allclose(result, [1, 1, 12, 10], atol=1e-6)
  tracker.init(np.zeros((60, 80), np.uint8), [30, 30, 8, 8])  # Flat frame.
  assert np.all(np.isfinite(tracker.update(np.zeros((60, 80), np.uint8))))


@pytest.mark.parametrize('name', list(baselines.OPENCV_TRACKERS))
def test_opencv_trackers_follow_the_demo(name):
  sequence = demo.demo_sequence(150)  # Slow motion.
  frames = list(itertools.islice(sequence, 6))
  tracker = baselines.create(name, ncc_search_scale=3.0)
  tracker.init(frames[0], sequence.groundtruth[0])
  results = [sequence.groundtruth[0]] + [tracker.update(f)
                                         for f in frames[1:]]
  results = np.array(results)
  assert results.shape == (6, 4) and boxes.is_valid(results).all()
  overlap, _ = metrics.frame_scores(results, sequence.groundtruth[:6])
  assert overlap.min() > 0.5


def test_same_interface_and_clear_errors():
  for name in baselines.BASELINES:
    tracker = baselines.create(name, ncc_search_scale=2.0)
    with pytest.raises(RuntimeError, match='init'):
      tracker.update(np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(boxes.BoxError):
      tracker.init(np.zeros((50, 50, 3), np.uint8), [100, 100, 5, 5])
  with pytest.raises(ValueError, match='unknown OpenCV tracker'):
    baselines.create('goturn', ncc_search_scale=2.0)
  with pytest.raises(ValueError, match='search_scale'):
    baselines.NCCTracker(search_scale=0.5)


def test_gray_frames_are_accepted():
  frame = _texture()[..., 0]
  for name in baselines.BASELINES:
    tracker = baselines.create(name, ncc_search_scale=3.0)
    tracker.init(frame, [50, 40, 30, 20])
    assert np.all(np.isfinite(tracker.update(frame)))

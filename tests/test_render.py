"""Tests of rendering: boxes drawn on the frames they were computed on."""

import gc
import warnings
import weakref

import jax.numpy as jnp
import numpy as np
import pytest

from siamfc_jax import render
from siamfc_jax import sequences
from siamfc_jax import tracker as tracker_lib

HEIGHT, WIDTH = 48, 96


def read_back(path) -> list[np.ndarray]:
  return list(sequences.load_video(path))


class LiveSource:
  """A camera: every read gives new frames, frame k (counted over all
  reads) a uniform gray of level 40 + 30 k."""

  def __init__(self):
    self.reads = 0
    self.made = []  # Weak references to the frames given.
    self._count = 0

  def read_frames(self):
    self.reads += 1
    while True:
      frame = np.full((HEIGHT, WIDTH, 3), 40 + 30 * self._count, np.uint8)
      self._count += 1
      self.made.append(weakref.ref(frame))
      yield frame

  def sequence(self, length):
    return sequences.truncate(sequences.Sequence(
        name='live', num_frames=None, read_frames=self.read_frames), length)


def frame_number(frame) -> int:
  return (int(np.median(frame[..., 1])) - 40 + 15) // 30


def box_of(frame) -> np.ndarray:
  """The box a tracker finds on ``frame``: it moves 8 px a frame."""
  return np.array([5 + 8 * frame_number(frame), 10, 12, 12], np.float64)


class FrameReadingTracker:
  """Finds ``box_of(frame)``; holds no frame."""

  def init(self, frame, box):
    del frame, box

  def update(self, frame):
    return box_of(frame)


def red_at(frame, box) -> bool:
  """Whether the outline of 1-based ``box`` is drawn in red in ``frame``."""
  x, y, w, h = box.astype(int)
  top = frame[y - 1, x - 1 + w // 2, :3].astype(int)
  return top[0] > 200 and top[1] < 100 and top[2] < 100


@pytest.mark.parametrize('suffix', ['.gif', '.mp4'])
def test_each_box_is_drawn_on_the_frame_it_was_computed_on(tmp_path, suffix):
  camera = LiveSource()
  path = tmp_path / f'live{suffix}'
  # The first frame was read before (its box checked), as the job does.
  first, sequence = sequences.read_first(camera.sequence(5))
  with render.drawn_as_tracked(path, FrameReadingTracker(), sequence) as (
      tracker, frames):
    result = tracker_lib.run(tracker, frames, box_of(first))
  assert camera.reads == 1
  rendered = read_back(path)
  assert len(rendered) == len(result.boxes) == 5
  for i, (frame, box) in enumerate(zip(rendered, result.boxes)):
    # Frame i, with the box computed on frame i.
    assert frame_number(frame) == i
    np.testing.assert_array_equal(box, [5 + 8 * i, 10, 12, 12])
    if suffix == '.gif':  # Exact colours (a palette per frame).
      assert red_at(frame, box), i


def test_rendering_holds_only_the_last_frame(tmp_path):
  camera = LiveSource()
  held = []

  def frames():
    for k, frame in enumerate(camera.sequence(8)):
      gc.collect()
      # Frame 0 is the tracker loop's; the frame tracked last is drawn now.
      held.append(sum(ref() is not None for ref in camera.made[1:k]))
      yield frame

  with render.drawn_as_tracked(tmp_path / 'r.gif', FrameReadingTracker(),
                               frames()) as (tracker, drawn):
    tracker_lib.run(tracker, drawn, box_of(np.full((1, 1, 3), 40)))
  assert max(held) <= 1, held
  assert len(read_back(tmp_path / 'r.gif')) == 8


@pytest.mark.parametrize('suffix', ['.gif', '.mp4'])
def test_write_video_writes_frames_as_they_come(tmp_path, suffix):
  camera = LiveSource()
  held = []

  def frames():
    for k, frame in enumerate(camera.sequence(6)):
      gc.collect()
      # The frame written last is still the writing loop's.
      held.append(sum(ref() is not None for ref in camera.made[:k]))
      yield frame

  render.write_video(tmp_path / f'v{suffix}', frames())
  assert max(held) <= 1, held
  assert len(read_back(tmp_path / f'v{suffix}')) == 6


def test_a_failed_run_leaves_no_render(tmp_path):

  class Failing(FrameReadingTracker):

    def update(self, frame):
      raise RuntimeError('broken')

  with pytest.raises(RuntimeError, match='broken'):
    with render.drawn_as_tracked(tmp_path / 'r.mp4', Failing(),
                                 LiveSource().sequence(3)) as (tracker, frames):
      tracker_lib.run(tracker, frames, box_of(np.full((1, 1, 3), 40)))
  assert not list(tmp_path.iterdir())


def test_writing_video_with_jax_running_does_not_fork(tmp_path):
  jnp.ones(3).block_until_ready()  # JAX's threads run from here on.
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    render.write_video(tmp_path / 'v.mp4', LiveSource().sequence(3))
  assert not [w for w in caught if 'os.fork()' in str(w.message)]
  assert len(read_back(tmp_path / 'v.mp4')) == 3

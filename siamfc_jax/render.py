"""Drawing boxes on frames and writing them as an MP4 or a GIF."""

import contextlib
import pathlib

import numpy as np
import skimage.draw

from siamfc_jax import boxes as boxes_lib
from siamfc_jax import ffmpeg

PREDICTION_COLOR = (255, 40, 40)
GROUNDTRUTH_COLOR = (40, 255, 40)


def draw_box(frame: np.ndarray, box, color, thickness: int = 2) -> None:
  """Draws the outline of a 1-based (x, y, w, h) box in place."""
  if not boxes_lib.is_valid(box)[0]:
    return
  x, y, w, h = np.asarray(box, np.float64)
  for t in range(thickness):
    start = (round(y - 1) + t, round(x - 1) + t)
    end = (round(y + h - 2) - t, round(x + w - 2) - t)
    rows, cols = skimage.draw.rectangle_perimeter(
        start, end, shape=frame.shape[:2], clip=True)
    frame[rows, cols] = color


def _drawn(frame, box, truth=None) -> np.ndarray:
  """A copy of ``frame`` with the predicted (and true) box drawn."""
  frame = np.array(frame, np.uint8)
  if truth is not None:
    draw_box(frame, truth, GROUNDTRUTH_COLOR)
  draw_box(frame, box, PREDICTION_COLOR)
  return frame


def annotate(frames, predicted, groundtruth=None):
  """Yields copies of ``frames`` with the predicted (and true) boxes drawn."""
  for i, frame in enumerate(frames):
    yield _drawn(frame, predicted[i],
                 None if groundtruth is None else groundtruth[i])


@contextlib.contextmanager
def _video_file(path, *, fps: float):
  """Yields a function that adds a frame to ``path`` (.mp4 or .gif), which
  replaces the file atomically when the block ends without an error."""
  path = pathlib.Path(path)
  if path.suffix.lower() not in ffmpeg.SUFFIXES:
    raise ValueError(f'{path}: render to a .mp4 or .gif file')
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'.{path.stem}.partial{path.suffix.lower()}')
  try:
    with ffmpeg.Writer(tmp, fps=fps) as writer:

      def add(frame):
        # H.264 needs even sides.
        writer.write(frame[:frame.shape[0] // 2 * 2, :frame.shape[1] // 2 * 2])

      yield add
    tmp.replace(path)
  finally:
    tmp.unlink(missing_ok=True)


def write_video(path, frames, *, fps: float = 25) -> None:
  """Writes frames to ``path`` (.mp4 or .gif), replacing it atomically.

  The frames are encoded as they come (FFmpeg), none is held.
  """
  with _video_file(path, fps=fps) as add:
    for frame in frames:
      add(frame)


class _Drawing:
  """A tracker that keeps the box it computed on each frame, and frames
  that, as each is read, write the one before with its box.

  Drawing and encoding thus happen while the next frame is read, outside
  the tracker's calls that ``tracker.run`` times.
  """

  def __init__(self, tracker, add, groundtruth):
    self._tracker, self._add, self._groundtruth = tracker, add, groundtruth
    self._tracked = None  # The last frame tracked and its box.
    self._written = 0

  def init(self, frame, box):
    self._tracker.init(frame, box)
    self._tracked = frame, box

  def update_scored(self, frame):
    scored = getattr(self._tracker, 'update_scored', None)
    box, score = (scored(frame) if scored
                  else (self._tracker.update(frame), np.nan))
    self._tracked = frame, box
    return box, score

  def frames(self, frames):
    for frame in frames:
      self.write_tracked()
      yield frame

  def write_tracked(self):
    if self._tracked is None:
      return
    (frame, box), self._tracked = self._tracked, None
    truth = self._groundtruth
    self._add(_drawn(frame, box, truth[self._written]
                     if truth is not None and self._written < len(truth)
                     else None))
    self._written += 1


@contextlib.contextmanager
def drawn_as_tracked(path, tracker, frames, *, groundtruth=None,
                     fps: float = 25):
  """Renders to ``path`` while ``frames`` are tracked, each frame once.

  Yields ``(tracker, frames)`` to give ``tracker.run`` instead: each frame
  is written with the box computed on it (and its ground-truth box, where
  there is one), as tracking goes, so that the source is read once (a
  camera cannot be replayed) and only the last frame tracked is held.
  ``path`` is replaced when the block ends without an error. With ``path``
  None, yields ``(tracker, frames)`` unchanged.
  """
  if path is None:
    yield tracker, frames
    return
  with _video_file(path, fps=fps) as add:
    drawing = _Drawing(tracker, add, groundtruth)
    yield drawing, drawing.frames(frames)
    drawing.write_tracked()

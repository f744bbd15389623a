"""Drawing boxes on frames and writing them as an MP4 or a GIF."""

import pathlib

import imageio.v2 as imageio_v2
import imageio.v3 as iio
import numpy as np
import skimage.draw

from siamfc_jax import boxes as boxes_lib

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


def annotate(frames, predicted, groundtruth=None):
  """Yields copies of ``frames`` with the predicted (and true) boxes drawn."""
  for i, frame in enumerate(frames):
    frame = np.array(frame, np.uint8)
    if groundtruth is not None:
      draw_box(frame, groundtruth[i], GROUNDTRUTH_COLOR)
    draw_box(frame, predicted[i], PREDICTION_COLOR)
    yield frame


def write_video(path, frames, *, fps: float = 25) -> None:
  """Writes frames to ``path`` (.mp4 or .gif), replacing it atomically."""
  path = pathlib.Path(path)
  suffix = path.suffix.lower()
  if suffix not in ('.mp4', '.gif'):
    raise ValueError(f'{path}: render to a .mp4 or .gif file')
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'.{path.stem}.partial{suffix}')
  try:
    if suffix == '.gif':
      iio.imwrite(tmp, np.stack(list(frames)), duration=1000 / fps, loop=0)
    else:
      with imageio_v2.get_writer(tmp, fps=fps, macro_block_size=1) as writer:
        for frame in frames:
          # H.264 needs even sides.
          height, width = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
          writer.append_data(frame[:height, :width])
    tmp.replace(path)
  finally:
    tmp.unlink(missing_ok=True)

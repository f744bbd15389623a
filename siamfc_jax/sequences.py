"""Reading tracking sequences: image folders, videos and box files.

A sequence folder holds frames (``img/*.jpg`` or images in the folder
itself) and optionally ``groundtruth.txt`` (or OTB's ``groundtruth_rect.txt``)
with one box per frame: 1-based ``x,y,w,h`` separated by commas, tabs or
spaces, or an 8-number VOT polygon (0-based corners), which is turned into
its axis-aligned bounding box. ``nan`` boxes mark frames without a target.
Every problem is reported as one ``SequenceError`` naming the file.
"""

import dataclasses
import itertools
import pathlib
import re
import sys
from typing import Callable, Iterator

import imageio.v3 as iio
import numpy as np
import PIL.Image

from siamfc_jax import ffmpeg
from siamfc_jax import files

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
GROUNDTRUTH_NAMES = ('groundtruth.txt', 'groundtruth_rect.txt')


class SequenceError(ValueError):
  """A sequence, frame or box file that cannot be used."""


@dataclasses.dataclass(frozen=True)
class Sequence:
  """Frames read lazily, plus optional ground truth (N, 4) x,y,w,h boxes."""

  name: str
  num_frames: int | None
  read_frames: Callable[[], Iterator[np.ndarray]]
  groundtruth: np.ndarray | None = None
  # The file the ground truth was read from, for messages.
  groundtruth_file: pathlib.Path | None = None

  def __iter__(self) -> Iterator[np.ndarray]:
    return self.read_frames()


def truncate(sequence: Sequence, max_frames: int | None) -> Sequence:
  """The first ``max_frames`` frames of ``sequence`` (all if None)."""
  if max_frames is None:
    return sequence
  num_frames = (max_frames if sequence.num_frames is None
                else min(max_frames, sequence.num_frames))
  groundtruth = (None if sequence.groundtruth is None
                 else sequence.groundtruth[:num_frames])
  return dataclasses.replace(
      sequence, num_frames=num_frames, groundtruth=groundtruth,
      read_frames=lambda: itertools.islice(sequence.read_frames(), max_frames))


def read_first(sequence: Sequence) -> tuple[np.ndarray | None, Sequence]:
  """The first frame (None if there is none), and ``sequence`` continuing
  the same reading.

  The first read of the sequence returned starts with that frame and goes
  on from where it was read, so that a live source (a camera), which
  cannot be replayed, is tracked from the frame its first box is about;
  later reads start again from the source.
  """
  frames = iter(sequence)
  first = next(frames, None)
  started = [frames]

  def read_frames():
    if started:
      return itertools.chain([first], started.pop())
    return sequence.read_frames()

  return first, dataclasses.replace(sequence, read_frames=read_frames)


def to_rgb(image) -> np.ndarray:
  """Returns an (H, W, 3) array: gray is repeated, alpha is dropped."""
  image = np.asarray(image)
  if image.ndim == 3 and image.shape[2] in (1, 3, 4):
    image = image[..., :3] if image.shape[2] != 1 else image[..., 0]
  if image.ndim == 2:
    image = np.stack([image] * 3, axis=-1)
  if image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
    raise SequenceError(f'expected an (H, W), (H, W, 3) or (H, W, 4) image,'
                        f' got shape {image.shape}')
  if image.dtype != np.uint8:
    image = image.astype(np.float32)
  return image


def check_pixels(image, *, where: str = 'frame') -> None:
  """Raises SequenceError unless ``image`` holds RGB values 0..255.

  Catches the common mistakes of frames scaled to [0, 1] (floats from
  skimage or PIL conversions), 16-bit frames and non-numeric arrays, which
  would otherwise be tracked as if they were dark 8-bit images.
  """
  image = np.asarray(image)
  if image.dtype == np.uint8:
    return
  if image.dtype.kind not in 'uif':
    raise SequenceError(f'{where}: pixels of dtype {image.dtype}; expected'
                        ' uint8 (or integers/floats) with values 0..255')
  if image.size == 0:
    return
  low, high = float(np.min(image)), float(np.max(image))
  if not (np.isfinite(low) and np.isfinite(high)):
    raise SequenceError(f'{where}: pixels of dtype {image.dtype} include NaN'
                        ' or infinite values; expected values 0..255')
  if low < 0 or high > 255:
    raise SequenceError(
        f'{where}: {image.dtype} pixels from {low:g} to {high:g}; expected'
        ' RGB values 0..255 (e.g. 16-bit frames divided by 257)')
  if image.dtype.kind == 'f' and 0 < high <= 1:
    raise SequenceError(
        f'{where}: {image.dtype} pixels from {low:g} to {high:g}, as if'
        ' scaled to [0, 1]; expected values 0..255: pass image * 255 (or'
        ' uint8 frames)')


def _image_problem(path, error: Exception) -> str:
  """Why Pillow could not read ``path``, in words."""
  path = pathlib.Path(path)
  try:
    if path.is_file() and path.stat().st_size == 0:
      return 'empty file, 0 bytes'
  except OSError:
    pass
  if isinstance(error, PIL.UnidentifiedImageError) or (
      'can not handle the given uri' in str(error)):
    return 'not an image, or its header is corrupt'
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  return str(error) or type(error).__name__


def read_image(path) -> np.ndarray:
  """Reads one frame as (H, W, 3); a bad file raises SequenceError.

  Palette, gray, gray+alpha, RGBA and CMYK files are converted to RGB;
  16-bit gray frames are scaled to [0, 255] rather than clipped.
  """
  try:
    with iio.imopen(path, 'r', plugin='pillow') as file:
      if file.metadata(index=0).get('mode', '').startswith('I;16'):
        image = file.read(index=0).astype(np.float32) / 257
      else:
        image = file.read(index=0, mode='RGB')
  except Exception as e:  # Pillow raises many types for bad files.
    raise SequenceError(
        f'{path}: cannot read image ({_image_problem(path, e)})') from None
  return to_rgb(image)


def read_boxes(path) -> np.ndarray:
  """Reads a box file into an (N, 4) float array of 1-based x,y,w,h."""
  path = pathlib.Path(path)
  try:
    lines = path.read_text().splitlines()
  except (OSError, UnicodeDecodeError) as e:
    raise SequenceError(f'{path}: cannot read box file ({e})') from None
  rows = []
  for number, line in enumerate(lines, start=1):
    if not line.strip():
      continue
    fields = [f for f in re.split(r'[,\s]+', line.strip()) if f]
    try:
      values = np.array([float(f) for f in fields])
    except ValueError:
      raise SequenceError(
          f'{path}:{number}: expected numbers, got {line.strip()!r}') from None
    if values.size == 8:
      xs, ys = values[0::2], values[1::2]
      values = np.array([xs.min() + 1, ys.min() + 1, np.ptp(xs), np.ptp(ys)])
    elif values.size != 4:
      raise SequenceError(f'{path}:{number}: expected 4 numbers x,y,w,h (or'
                          f' an 8-number polygon), got {values.size}')
    rows.append(values)
  if not rows:
    raise SequenceError(f'{path}: no boxes')
  return np.stack(rows)


def write_boxes(path, boxes) -> None:
  """Writes (N, 4) boxes in the OTB text format, atomically."""
  lines = [','.join(f'{v:.2f}' for v in box) for box in np.asarray(boxes)]
  files.write_text(path, '\n'.join(lines) + '\n')


def parse_box(text: str) -> np.ndarray:
  """Parses 'x,y,w,h' given on a command line."""
  try:
    box = np.array([float(v) for v in text.split(',')])
  except ValueError:
    box = np.array([])
  if box.shape != (4,):
    raise SequenceError(f'expected a box as x,y,w,h, got {text!r}')
  return box


def frame_paths(folder: pathlib.Path) -> list[pathlib.Path]:
  """Sorted frame files of a sequence folder (in img/ or the folder)."""
  image_dir = folder / 'img' if (folder / 'img').is_dir() else folder
  paths = sorted(p for p in image_dir.iterdir()
                 if p.suffix.lower() in IMAGE_SUFFIXES)
  if not paths:
    raise SequenceError(
        f'{image_dir}: no frames ({", ".join(IMAGE_SUFFIXES)}) found')
  return paths


def check_frames(paths) -> None:
  """Opens the header of every frame: readable images of one size.

  Reads no pixels (about a twentieth of the time decoding takes), so that
  a file that is not an image, or of another size, is reported before
  tracking starts rather than when its turn comes. Corrupt pixel data (e.g. a truncated
  JPEG) is still found only when the frame is decoded.
  """
  first = None
  for path in paths:
    try:
      with PIL.Image.open(path) as image:
        width, height = image.size
    except Exception as e:  # Pillow raises many types for bad files.
      raise SequenceError(
          f'{path}: cannot read image ({_image_problem(path, e)})') from None
    first = first or ((height, width), path)
    if (height, width) != first[0]:
      raise SequenceError(
          f'{path}: frame size {(height, width)} differs from the first'
          f' frame {first[0]} ({first[1].name})')


def _read_same_size(paths) -> Iterator[np.ndarray]:
  first_shape = None
  for path in paths:
    frame = read_image(path)
    first_shape = first_shape or frame.shape
    if frame.shape != first_shape:
      raise SequenceError(f'{path}: frame size {frame.shape} differs from'
                          f' the first frame {first_shape}')
    yield frame


def load_folder(folder, *, check: bool = False) -> Sequence:
  """Loads a sequence folder (frames in ``img/`` or the folder itself).

  Args:
    folder: the sequence folder.
    check: open every frame's header now (``check_frames``), not only when
      the frames are read.
  """
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise SequenceError(f'{folder}: no such sequence folder')
  paths = frame_paths(folder)
  groundtruth = groundtruth_file = None
  for name in GROUNDTRUTH_NAMES:
    if (folder / name).is_file():
      groundtruth_file = folder / name
      groundtruth = read_boxes(groundtruth_file)
      if len(groundtruth) != len(paths):
        raise SequenceError(
            f'{folder / name}: {len(groundtruth)} boxes for {len(paths)}'
            f' frames in {paths[0].parent}')
      break
  if check:
    check_frames(paths)
  return Sequence(name=folder.name, num_frames=len(paths),
                  read_frames=lambda: _read_same_size(paths),
                  groundtruth=groundtruth, groundtruth_file=groundtruth_file)


def _read_video(source, label: str, input_args=()) -> Iterator[np.ndarray]:
  try:
    for frame in ffmpeg.read_frames(source, input_args=input_args):
      yield to_rgb(frame)
  except ffmpeg.FFmpegError as e:
    raise SequenceError(f'{label}: cannot decode video ({e})') from None


def load_video(path, groundtruth=None) -> Sequence:
  """Loads a video file; ``groundtruth`` optionally names a box file."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise SequenceError(f'{path}: no such video file')
  boxes = read_boxes(groundtruth) if groundtruth else None
  return Sequence(name=path.stem, num_frames=None,
                  read_frames=lambda: _read_video(path, str(path)),
                  groundtruth=boxes,
                  groundtruth_file=pathlib.Path(groundtruth) if groundtruth
                  else None)


def load_camera(index: int) -> Sequence:
  """Frames from camera ``index`` (through FFmpeg), until interrupted.

  Linux (Video4Linux2, ``/dev/video<index>``) and macOS (AVFoundation).
  Frames come in order: when tracking is slower than the camera, FFmpeg
  waits and the camera's driver drops the frames in between.
  """
  if sys.platform == 'darwin':
    source, input_args = str(index), ['-f', 'avfoundation', '-framerate', '30']
  elif sys.platform.startswith('linux'):
    source, input_args = f'/dev/video{index}', ['-f', 'video4linux2']
    if not pathlib.Path(source).exists():
      raise SequenceError(f'camera {index}: {source} not found (no camera'
                          ' attached, or no access to it)')
  else:
    raise SequenceError(f'camera {index}: cameras are read on Linux and'
                        f' macOS, not {sys.platform}')
  return Sequence(name=f'camera{index}', num_frames=None,
                  read_frames=lambda: _read_video(source, f'camera {index}',
                                                  input_args))

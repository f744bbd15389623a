"""Curating one video into SiamFC training crops.

A source layout (data_prep.builders) describes a video as frames, each with
its image file and, per track, a target box or the reason it has none.
Curation reads each needed frame once and cuts one crop per usable target as
the original SiamFC did: the target's exemplar window (with context) spans
``exemplar_size`` pixels of a ``crop_size`` crop centred on the target, padded
with the frame's mean colour, then JPEG-encoded. Whatever cannot be used is
counted by reason, never raised; the counts are per target and frame (a frame
whose annotation is missing counts once).
"""

import collections
import dataclasses
import functools
import io
import json
import pathlib
from typing import Callable, Mapping, Sequence

import imageio.v3 as iio
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from siamfc_jax import boxes
from siamfc_jax import crops
from siamfc_jax import files
from siamfc_jax import sequences

MISSING_ANNOTATION = 'missing annotation'
BAD_ANNOTATION = 'unreadable annotation'
MISSING_IMAGE = 'missing image'
CORRUPT_IMAGE = 'corrupt image'
ABSENT = 'absent target'
OCCLUDED = 'occluded target'
EMPTY_BOX = 'empty box'
OUTSIDE = 'box outside the frame'
TINY = 'tiny box'
ASPECT = 'extreme aspect ratio'
SHORT_TRACK = 'short track'


class SourceError(ValueError):
  """A dataset root or a video that does not have the expected layout."""


@dataclasses.dataclass(frozen=True)
class Frame:
  """One frame of a video and what its annotation says about each track.

  Attributes:
    index: 0-based frame number in the video.
    path: the image file.
    targets: track id -> 1-based x,y,w,h box, or the reason there is none.
    problem: set when the frame cannot be used at all (e.g. its annotation
      is missing); it is then counted once under this reason.
  """

  index: int
  path: pathlib.Path | None
  targets: Mapping[int, np.ndarray | str]
  problem: str | None = None


@dataclasses.dataclass(frozen=True)
class Video:
  """A video of a source, its frames read on demand.

  ``read_frames`` raises SourceError when nothing of the video is usable
  (e.g. its box file cannot be read); it must pickle, for worker processes.
  """

  name: str
  read_frames: Callable[[], Sequence[Frame]]


@dataclasses.dataclass(frozen=True)
class Curated:
  """The crops of one video, ordered by track then frame.

  Attributes:
    video: the video's name.
    jpegs: encoded crops.
    track_ids: (N,) track of each crop.
    frames: (N,) frame index of each crop.
    boxes: (N, 4) target in crop coordinates, 1-based x,y,w,h.
    skipped: reason -> number of targets without a crop.
    problem: why the whole video was skipped, if it was.
  """

  video: str
  jpegs: tuple[bytes, ...]
  track_ids: np.ndarray
  frames: np.ndarray
  boxes: np.ndarray
  skipped: Mapping[str, int]
  problem: str | None = None


@functools.partial(jax.jit, static_argnames=('crop_size',))
def context_crop(frame, box, *, context, exemplar_size, crop_size: int):
  """The SiamFC crop around a target and the target's box in it.

  Args:
    frame: (H, W, 3) image.
    box: 1-based x,y,w,h of the target.
    context: context margin of the exemplar window (see crops).
    exemplar_size: pixels the exemplar window spans in the crop.
    crop_size: side of the crop in pixels.

  Returns:
    (crop_size, crop_size, 3) float32 crop and the target's 1-based x,y,w,h
    in crop coordinates.
  """
  center, size = boxes.xywh_to_center_size(jnp.asarray(box, jnp.float32))
  side = crops.exemplar_size_in_frame(size, context) * crop_size / exemplar_size
  crop = crops.crop(frame, center, side, crop_size, crops.mean_color(frame))
  crop_center = jnp.full((2,), (crop_size - 1) / 2, jnp.float32)
  return crop, boxes.center_size_to_xywh(crop_center, size * crop_size / side)


def box_problem(box, image_shape, config: ml_collections.ConfigDict):
  """Why a target box gives no crop, or None when it is usable."""
  if not boxes.is_valid(box)[0]:
    return EMPTY_BOX
  try:
    boxes.check_box(box, image_shape)
  except boxes.BoxError:
    return OUTSIDE
  width, height = box[2], box[3]
  if min(width, height) < config.min_box_side:
    return TINY
  if max(width / height, height / width) > config.max_aspect_ratio:
    return ASPECT
  return None


def _encode_jpeg(crop, quality: int) -> bytes:
  pixels = np.clip(np.rint(np.asarray(crop)), 0, 255).astype(np.uint8)
  return iio.imwrite('<bytes>', pixels, extension='.jpg', quality=quality)


def curate_video(video: Video,
                 config: ml_collections.ConfigDict) -> Curated:
  """Crops every usable target of a video.

  Args:
    video: the video.
    config: the ``curation`` part of siamfc_jax/configs/data.py.

  Returns:
    The crops and the skip counts; tracks shorter than
    ``config.min_track_length`` are dropped and counted as SHORT_TRACK.
  """
  skipped = collections.Counter()
  try:
    frames = video.read_frames()
  except SourceError as e:
    return _empty(video.name, str(e))
  per_track = collections.defaultdict(list)
  for frame in frames:
    if frame.problem:
      skipped[frame.problem] += 1
      continue
    wanted = {}
    for track_id, target in frame.targets.items():
      if isinstance(target, str):
        skipped[target] += 1
      else:
        wanted[track_id] = np.asarray(target, np.float64)
    if not wanted:
      continue
    try:
      image = sequences.read_image(frame.path)
    except sequences.SequenceError:
      skipped[CORRUPT_IMAGE] += len(wanted)
      continue
    for track_id, box in sorted(wanted.items()):
      problem = box_problem(box, image.shape, config)
      if problem:
        skipped[problem] += 1
        continue
      crop, crop_box = context_crop(
          image, box, context=config.context,
          exemplar_size=config.exemplar_size, crop_size=config.crop_size)
      per_track[track_id].append(
          (frame.index, _encode_jpeg(crop, config.jpeg_quality),
           np.asarray(crop_box, np.float32)))
  rows = []
  for track_id in sorted(per_track):
    items = sorted(per_track[track_id], key=lambda item: item[0])
    if len(items) < config.min_track_length:
      skipped[SHORT_TRACK] += len(items)
      continue
    rows.extend((track_id, *item) for item in items)
  return Curated(
      video=video.name, jpegs=tuple(r[2] for r in rows),
      track_ids=np.array([r[0] for r in rows], np.int32),
      frames=np.array([r[1] for r in rows], np.int32),
      boxes=np.array([r[3] for r in rows], np.float32).reshape(-1, 4),
      skipped=dict(skipped))


def _empty(name: str, problem: str) -> Curated:
  return Curated(video=name, jpegs=(), track_ids=np.zeros(0, np.int32),
                 frames=np.zeros(0, np.int32),
                 boxes=np.zeros((0, 4), np.float32), skipped={},
                 problem=problem)


def save(curated: Curated, path) -> None:
  """Writes a curated video to an .npz file, atomically."""
  lengths = np.array([len(j) for j in curated.jpegs], np.int64)
  info = dict(video=curated.video, skipped=curated.skipped,
              problem=curated.problem)
  buffer = io.BytesIO()
  np.savez(buffer, jpeg=np.frombuffer(b''.join(curated.jpegs), np.uint8),
           ends=np.cumsum(lengths), track_ids=curated.track_ids,
           frames=curated.frames, boxes=curated.boxes,
           info=np.array(json.dumps(info)))
  files.write_bytes(path, buffer.getvalue())


def load(path, *, images: bool = True) -> Curated:
  """Reads a curated video written by ``save``, without the JPEGs if asked."""
  with np.load(path) as data:
    jpegs = ()
    if images:
      jpeg = data['jpeg'].tobytes()
      ends = data['ends'].tolist()
      jpegs = tuple(jpeg[s:e] for s, e in zip([0] + ends[:-1], ends))
    info = json.loads(str(data['info']))
    return Curated(
        video=info['video'], jpegs=jpegs,
        track_ids=data['track_ids'], frames=data['frames'],
        boxes=data['boxes'], skipped=info['skipped'],
        problem=info['problem'])

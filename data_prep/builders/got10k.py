"""GOT-10k: ``<root>/<subset>/GOT-10k_<Subset>_XXXXXX/``.

Each sequence folder holds ``00000001.jpg``... and ``groundtruth.txt`` (one
x,y,w,h box per frame), ``absence.label`` (1 where the target is absent) and
``cover.label`` (the visible part of the target in ninths, 0 to 8);
``<subset>/list.txt`` names the sequences. GOT-10k boxes give the target's
left, top, width and height in pixels; they are read as the project's
1-based x,y,w,h, as the GOT-10k toolkit compares them with OTB's (the two
conventions differ by at most one pixel). Frames whose target is absent or
whose cover is below ``got10k_min_cover`` are skipped.
"""

import functools
import pathlib

import numpy as np

from data_prep import curate
from data_prep.builders import base
from siamfc_jax import sequences

_LIST = 'list.txt'
_SEQUENCE_GLOB = 'GOT-10k_*'
_BOXES = 'groundtruth.txt'
_ABSENCE = 'absence.label'
_COVER = 'cover.label'


def _sequence_names(subset_dir: pathlib.Path) -> list[str]:
  if (subset_dir / _LIST).is_file():
    return sorted(line.strip()
                  for line in (subset_dir / _LIST).read_text().splitlines()
                  if line.strip())
  return sorted(p.name for p in subset_dir.glob(_SEQUENCE_GLOB) if p.is_dir())


def list_videos(root, subsets, min_cover: int) -> list[curate.Video]:
  """The sequences of the given subsets (e.g. 'train', 'val') of a root."""
  root = pathlib.Path(root)
  videos = []
  for subset in subsets:
    subset_dir = root / subset
    names = _sequence_names(subset_dir) if subset_dir.is_dir() else []
    if not names:
      raise curate.SourceError(
          f'{subset_dir}: no GOT-10k sequences; expected'
          f' {root}/{subset}/GOT-10k_*/ folders with 00000001.jpg...,'
          f' {_BOXES}, {_ABSENCE} and {_COVER}, listed in {subset}/{_LIST}')
    videos.extend(
        curate.Video(name, functools.partial(read_frames, subset_dir / name,
                                             min_cover))
        for name in names)
  return videos


def _read_labels(path: pathlib.Path, count: int):
  """One integer per frame, or None when the file does not exist."""
  if not path.is_file():
    return None
  try:
    labels = np.array([int(v) for v in path.read_text().split()])
  except (OSError, UnicodeDecodeError, ValueError) as e:
    raise curate.SourceError(f'{path}: cannot read labels ({e})') from None
  if len(labels) != count:
    raise curate.SourceError(
        f'{path}: {len(labels)} labels for {count} boxes')
  return labels


def read_frames(folder: pathlib.Path, min_cover: int) -> list[curate.Frame]:
  """The frames of one sequence, with target 0 or the reason it is skipped."""
  if not folder.is_dir():
    raise curate.SourceError(f'{folder}: listed sequence folder is missing')
  try:
    boxes = sequences.read_boxes(folder / _BOXES)
    paths = sequences.frame_paths(folder)
  except sequences.SequenceError as e:
    raise curate.SourceError(str(e)) from None
  absence = _read_labels(folder / _ABSENCE, len(boxes))
  cover = _read_labels(folder / _COVER, len(boxes))
  frames = []
  for index in range(max(len(boxes), len(paths))):
    if index >= len(paths):
      frames.append(curate.Frame(index, None, {}, curate.MISSING_IMAGE))
    elif index >= len(boxes):
      frames.append(curate.Frame(index, paths[index], {},
                                 curate.MISSING_ANNOTATION))
    elif absence is not None and absence[index]:
      frames.append(curate.Frame(index, paths[index], {0: curate.ABSENT}))
    elif cover is not None and cover[index] < min_cover:
      frames.append(curate.Frame(index, paths[index], {0: curate.OCCLUDED}))
    else:
      frames.append(curate.Frame(index, paths[index], {0: boxes[index]}))
  return frames


class Got10kCrops(base.CropBuilder):
  """SiamFC crops of GOT-10k."""

  def _list_videos(self):
    return list_videos(self._root, self._curation.got10k_subsets,
                       self._curation.got10k_min_cover)

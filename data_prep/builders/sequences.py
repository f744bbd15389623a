"""Sequence folders: the layout of ../shared/data/sequences and of OTB.

``<root>/<name>/img/*.jpg`` (or the images in ``<name>/`` itself) with one
box file: ``groundtruth.txt`` (1-based x,y,w,h or VOT polygons) or OTB's
``groundtruth_rect.txt``; OTB sequences with several targets (Jogging,
Skating2, Human4) have ``groundtruth_rect.<k>.txt``, one track each. Boxes
are read with siamfc_jax.sequences. A box file whose length differs from the
number of frames (OTB sequences that start later, e.g. David) cannot be
aligned with the frames: the sequence is skipped, saying so.
"""

import functools
import pathlib

from data_prep import curate
from data_prep.builders import base
from siamfc_jax import sequences

_TRACK_FILES = 'groundtruth_rect.*.txt'


def box_files(folder: pathlib.Path) -> list[pathlib.Path]:
  """The box files of a sequence folder, one per track."""
  for name in sequences.GROUNDTRUTH_NAMES:
    if (folder / name).is_file():
      return [folder / name]
  return sorted(folder.glob(_TRACK_FILES))


def list_videos(root) -> list[curate.Video]:
  """The sequence folders under ``root``."""
  root = pathlib.Path(root)
  folders = []
  if root.is_dir():
    folders = sorted(p for p in root.iterdir() if p.is_dir() and box_files(p))
  if not folders:
    raise curate.SourceError(
        f'{root}: no sequence folders; expected <root>/<name>/img/*.jpg with'
        ' <root>/<name>/groundtruth.txt (or OTB groundtruth_rect*.txt)')
  return [curate.Video(p.name, functools.partial(read_frames, p))
          for p in folders]


def read_frames(folder: pathlib.Path) -> list[curate.Frame]:
  """The frames of a sequence folder, each with one target per box file."""
  try:
    paths = sequences.frame_paths(folder)
    tracks = [sequences.read_boxes(f) for f in box_files(folder)]
  except sequences.SequenceError as e:
    raise curate.SourceError(str(e)) from None
  for path, track in zip(box_files(folder), tracks):
    if len(track) != len(paths):
      raise curate.SourceError(
          f'{path}: {len(track)} boxes for {len(paths)} frames')
  return [curate.Frame(index, path,
                       {track_id: track[index]
                        for track_id, track in enumerate(tracks)})
          for index, path in enumerate(paths)]


class SequenceCrops(base.CropBuilder):
  """SiamFC crops of sequence folders (shared sequences, OTB)."""

  def _list_videos(self):
    return list_videos(self._root)

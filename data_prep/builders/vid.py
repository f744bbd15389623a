"""ILSVRC2015 VID: ``<root>/Data/VID/<subset>/.../<snippet>/*.JPEG``.

Each frame ``<snippet>/000000.JPEG`` has an annotation
``<root>/Annotations/VID/<subset>/.../<snippet>/000000.xml`` in PASCAL-VOC
form: one ``<object>`` per visible target with its ``<trackid>``, ``<name>``,
``<bndbox>`` (0-based inclusive pixel corners xmin, xmax, ymin, ymax) and
``<occluded>``. The training set nests snippets one level deeper
(``train/ILSVRC2015_VID_train_0000/<snippet>``); any depth is accepted. A
track is one trackid of a snippet; a target missing from a frame's
annotation is absent there, and occluded targets are skipped.
"""

import functools
import os
import pathlib
import xml.etree.ElementTree as ET

import numpy as np

from data_prep import curate
from data_prep.builders import base
from siamfc_jax import sequences

_IMAGES = ('Data', 'VID')
_ANNOTATIONS = ('Annotations', 'VID')
_IMAGE_SUFFIX = '.jpeg'


def _snippet_dirs(subset_dir: pathlib.Path) -> list[pathlib.Path]:
  return sorted(
      pathlib.Path(path) for path, _, names in os.walk(subset_dir)
      if any(n.lower().endswith(_IMAGE_SUFFIX) for n in names))


def list_videos(root, subsets) -> list[curate.Video]:
  """The snippets of the given subsets (e.g. 'train', 'val') of a root."""
  root = pathlib.Path(root)
  videos = []
  for subset in subsets:
    subset_dir = root.joinpath(*_IMAGES, subset)
    snippets = _snippet_dirs(subset_dir) if subset_dir.is_dir() else []
    if not snippets:
      raise curate.SourceError(
          f'{subset_dir}: no VID snippets; expected ILSVRC2015 VID:'
          f' {root}/Data/VID/{subset}/[...]/<snippet>/*.JPEG with'
          f' {root}/Annotations/VID/{subset}/[...]/<snippet>/*.xml')
    for snippet in snippets:
      relative = snippet.relative_to(subset_dir)
      annotations = root.joinpath(*_ANNOTATIONS, subset, relative)
      videos.append(curate.Video(
          snippet.name, functools.partial(read_frames, snippet, annotations)))
  return videos


def parse_annotation(path: pathlib.Path) -> dict[int, np.ndarray | str]:
  """Track id -> 1-based x,y,w,h box (or OCCLUDED) of one frame's xml."""
  targets = {}
  for obj in ET.parse(path).getroot().iter('object'):
    track_id = int(obj.findtext('trackid'))
    if int(obj.findtext('occluded', '0')):
      targets[track_id] = curate.OCCLUDED
      continue
    xmin, xmax, ymin, ymax = (float(obj.findtext(f'bndbox/{tag}'))
                              for tag in ('xmin', 'xmax', 'ymin', 'ymax'))
    targets[track_id] = np.array(
        [xmin + 1, ymin + 1, xmax - xmin + 1, ymax - ymin + 1])
  return targets


def read_frames(snippet: pathlib.Path,
                annotations: pathlib.Path) -> list[curate.Frame]:
  """The frames of one snippet with the targets of their annotations."""
  try:
    paths = sequences.frame_paths(snippet)
  except sequences.SequenceError as e:
    raise curate.SourceError(str(e)) from None
  frames = []
  for index, path in enumerate(paths):
    xml = annotations / f'{path.stem}.xml'
    if not xml.is_file():
      frames.append(curate.Frame(index, path, {}, curate.MISSING_ANNOTATION))
      continue
    try:
      targets = parse_annotation(xml)
    except (ET.ParseError, OSError, TypeError, ValueError):
      frames.append(curate.Frame(index, path, {}, curate.BAD_ANNOTATION))
      continue
    frames.append(curate.Frame(index, path, targets))
  return frames


class VidCrops(base.CropBuilder):
  """SiamFC crops of ILSVRC2015 VID."""

  def _list_videos(self):
    return list_videos(self._root, self._curation.vid_subsets)

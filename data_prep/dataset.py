"""The stored form of curated crops, and finding and opening built datasets.

A built dataset is a TFDS folder ``<data_dir>/<name>/<version>/`` of
array_record files, read without TensorFlow through ``tfds.data_source``.
Each record is one crop: ``image`` (JPEG, the target centred with SiamFC
context), ``video``, ``track``, ``frame`` (0-based index in the video) and
``box`` (the target in crop coordinates, 1-based x,y,w,h). Records are stored
in order of video, then track, then frame, so a track is a contiguous run of
records; the dataset's metadata.json lists the tracks (``TRACKS``), the
curation settings and the build summary.
"""

import dataclasses
import pathlib
import re

import numpy as np
import tensorflow_datasets as tfds

SPLIT = 'train'
TRACKS = 'tracks'
CURATION = 'curation'
SUMMARY = 'summary'

_VERSION_DIR = re.compile(r'\d+\.\d+\.\d+')


class DatasetError(ValueError):
  """A data folder that holds no usable built dataset."""


def features(crop_size: int) -> tfds.features.FeaturesDict:
  """The feature spec of one stored crop."""
  return tfds.features.FeaturesDict({
      'image': tfds.features.Image(shape=(crop_size, crop_size, 3),
                                   encoding_format='jpeg'),
      'video': tfds.features.Text(),
      'track': tfds.features.Scalar(np.int32),
      'frame': tfds.features.Scalar(np.int32),
      'box': tfds.features.Tensor(shape=(4,), dtype=np.float32),
  })


@dataclasses.dataclass(frozen=True)
class Tracks:
  """The tracks of one dataset.

  Attributes:
    videos: (T,) video name of each track.
    track_ids: (T,) track id within its video.
    starts: (T,) index of the track's first record.
    frames: T arrays, the frame index of each record of the track.
  """

  videos: np.ndarray
  track_ids: np.ndarray
  starts: np.ndarray
  frames: tuple[np.ndarray, ...]

  def to_json(self) -> dict:
    return dict(videos=self.videos.tolist(), track_ids=self.track_ids.tolist(),
                starts=self.starts.tolist(),
                frames=[f.tolist() for f in self.frames])

  @classmethod
  def from_json(cls, data: dict) -> 'Tracks':
    return cls(videos=np.asarray(data['videos'], dtype=str),
               track_ids=np.asarray(data['track_ids'], np.int32),
               starts=np.asarray(data['starts'], np.int64),
               frames=tuple(np.asarray(f, np.int32) for f in data['frames']))


def find(data_dir) -> list[pathlib.Path]:
  """The built datasets in ``data_dir``, newest version of each name.

  Args:
    data_dir: the --out folder of data_prep.build (``<name>/<version>/``
      inside), or one dataset's version folder.

  Returns:
    Version folders, sorted by dataset name.
  """
  data_dir = pathlib.Path(data_dir)
  if (data_dir / 'dataset_info.json').is_file():
    return [data_dir]
  found = []
  for name_dir in sorted(p for p in data_dir.glob('*') if p.is_dir()):
    versions = [p for p in name_dir.iterdir()
                if _VERSION_DIR.fullmatch(p.name)
                and (p / 'dataset_info.json').is_file()]
    if versions:
      found.append(max(versions, key=lambda p: tfds.core.Version(p.name)))
  if not found:
    raise DatasetError(
        f'{data_dir}: no built dataset (expected <name>/<version>/'
        'dataset_info.json, as written by python -m data_prep.build)')
  return found


def metadata(version_dir) -> dict:
  """The metadata a build stored with the dataset."""
  return dict(tfds.builder_from_directory(version_dir).info.metadata)


def data_source(version_dir, *, decode_images: bool = True):
  """Random access to the records; images stay JPEG bytes unless decoded."""
  decoders = None if decode_images else {'image': tfds.decode.SkipDecoding()}
  return tfds.builder_from_directory(version_dir).as_data_source(
      SPLIT, decoders=decoders)

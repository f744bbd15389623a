"""The TFDS builder shared by all source layouts, and building one dataset.

Builders derive from ``tfds.core.ShardBasedBuilder``. TFDS's
``GeneratorBasedBuilder`` shuffles examples through temporary bucket files
that need TensorFlow once a split passes 1 GB (a full VID or GOT-10k build is
tens of GB); a shard-based builder writes each array_record shard straight
from its generator, needs no TensorFlow at any size and keeps the order of
video, track and frame that the track index relies on.

A build runs in two stages. Curation crops each video into its own .npz file
in a work folder named after the builder, root and settings, so a killed
build re-run with the same command carries on with the videos not yet done.
Writing then copies the crops into array_record shards of about
``crops_per_shard`` records; the work folder is removed once the dataset is
complete.
"""

import abc
import collections
from concurrent import futures
import functools
import hashlib
import json
import multiprocessing
import pathlib
import shutil

import ml_collections
import numpy as np
import tensorflow_datasets as tfds
import tqdm

from data_prep import curate
from data_prep import dataset

_WORK_DIR = '.curating'
_FILE_FORMAT = 'array_record'
_INCOMPLETE = 'incomplete.'


def _curate_to_file(video: curate.Video, path: pathlib.Path,
                    config: ml_collections.ConfigDict) -> None:
  curate.save(curate.curate_video(video, config), path)


def _index(paths, crops_per_shard: int):
  """Tracks, shards and summary of the curated videos, in record order.

  Args:
    paths: the curated video files, in order.
    crops_per_shard: a shard ends after the video that reaches this many.

  Returns:
    The dataset.Tracks, the shards as (video files, first record index),
    and the build summary.
  """
  videos, track_ids, starts, frames = [], [], [], []
  shards, shard_paths, shard_start = [], [], 0
  skipped, skipped_videos = collections.Counter(), {}
  crops = videos_with_crops = 0
  for path in paths:
    curated = curate.load(path, images=False)
    skipped.update(curated.skipped)
    if curated.problem:
      skipped_videos[curated.video] = curated.problem
    if not len(curated.frames):
      continue
    for track_id in dict.fromkeys(curated.track_ids.tolist()):
      rows = curated.track_ids == track_id
      videos.append(curated.video)
      track_ids.append(track_id)
      starts.append(crops + int(rows.argmax()))
      frames.append(curated.frames[rows])
    videos_with_crops += 1
    crops += len(curated.frames)
    shard_paths.append(path)
    if crops - shard_start >= crops_per_shard:
      shards.append((shard_paths, shard_start))
      shard_paths, shard_start = [], crops
  if shard_paths:
    shards.append((shard_paths, shard_start))
  tracks = dataset.Tracks(
      videos=np.asarray(videos, str), track_ids=np.asarray(track_ids),
      starts=np.asarray(starts), frames=tuple(frames))
  summary = dict(videos_found=len(paths), videos=videos_with_crops,
                 tracks=len(track_ids), crops=crops,
                 skipped=dict(sorted(skipped.items())),
                 skipped_videos=skipped_videos)
  return tracks, shards, summary


class CropBuilder(tfds.core.ShardBasedBuilder):
  """SiamFC crops of one source layout; subclasses list its videos."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'SiamFC context crops, JPEG, with track index.'}

  def __init__(self, *, root, config: ml_collections.ConfigDict,
               workers: int = 1, **kwargs):
    """Creates the builder.

    Args:
      root: the source dataset's root folder.
      config: the ``curation`` part of siamfc_jax/configs/data.py.
      workers: processes cropping videos in parallel.
      **kwargs: for tfds.core.DatasetBuilder, e.g. data_dir.
    """
    self._root = pathlib.Path(root)
    self._curation = config
    self._workers = workers
    self._videos = None
    self._write_bar = None
    super().__init__(**kwargs)

  @abc.abstractmethod
  def _list_videos(self) -> list[curate.Video]:
    """The source's videos; raises curate.SourceError for a wrong root."""

  @property
  def work_dir(self) -> pathlib.Path:
    """Folder of the curated videos, particular to root and settings."""
    key = json.dumps(dict(name=self.name, version=str(self.version),
                          root=str(self._root.resolve()),
                          curation=self._curation.to_dict()),
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return pathlib.Path(self.data_dir_root) / _WORK_DIR / (
        f'{self.name}-{digest}')

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=(f'{type(self).__doc__} One record per target and frame;'
                     ' see data_prep/dataset.py.'),
        features=dataset.features(self._curation.crop_size),
        metadata=tfds.core.MetadataDict())

  def _curate(self) -> list[pathlib.Path]:
    """Curates the videos not yet in the work folder; returns every file."""
    paths = [self.work_dir / 'videos' / f'{i:07d}.npz'
             for i in range(len(self._videos))]
    todo = [(v, p) for v, p in zip(self._videos, paths) if not p.exists()]
    with tqdm.tqdm(total=len(paths), initial=len(paths) - len(todo),
                   desc='curating', unit='video') as bar:
      if self._workers > 1:
        with futures.ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context('spawn')) as pool:
          jobs = [pool.submit(_curate_to_file, v, p, self._curation)
                  for v, p in todo]
          for job in futures.as_completed(jobs):
            job.result()
            bar.update()
      else:
        for video, path in todo:
          _curate_to_file(video, path, self._curation)
          bar.update()
    return paths

  def _shard_iterators_per_split(self, dl_manager):
    del dl_manager  # The sources are local folders.
    paths = self._curate()
    tracks, shards, summary = _index(paths, self._curation.crops_per_shard)
    summary['root'] = str(self._root.resolve())
    if not summary['crops']:
      raise curate.SourceError(
          f'{self._root}: no usable crops (skipped: {summary["skipped"]},'
          f' videos skipped: {summary["skipped_videos"]})')
    self.info.metadata.update({
        dataset.TRACKS: tracks.to_json(),
        dataset.CURATION: self._curation.to_dict(),
        dataset.SUMMARY: summary,
    })
    self._write_bar = tqdm.tqdm(total=len(shards), desc='writing',
                                unit='shard')
    return {dataset.SPLIT: [
        functools.partial(self._shard_examples, shard_paths, first_key)
        for shard_paths, first_key in shards]}

  def _shard_examples(self, paths, first_key: int):
    key = first_key
    for path in paths:
      curated = curate.load(path)
      for jpeg, track_id, frame, box in zip(
          curated.jpegs, curated.track_ids, curated.frames, curated.boxes):
        yield key, dict(image=jpeg, video=curated.video, track=track_id,
                        frame=frame, box=box)
        key += 1
    self._write_bar.update()

  def build(self) -> pathlib.Path:
    """Builds the dataset unless it is complete; returns its folder.

    Raises:
      curate.SourceError: the root does not have the expected layout, or
        gives no usable crop.
      dataset.DatasetError: a complete dataset with other settings is
        already there.
    """
    if self.is_prepared():
      built = self.info.metadata.get(dataset.CURATION)
      if built != json.loads(json.dumps(self._curation.to_dict())):
        raise dataset.DatasetError(
            f'{self.data_dir}: already built with other settings ({built});'
            ' choose another --out or delete it')
      return pathlib.Path(self.data_dir)
    self._videos = self._list_videos()
    # Folders TFDS was writing when a build was killed.
    for stale in self.data_path.parent.glob(f'{_INCOMPLETE}*_{self.version}'):
      shutil.rmtree(stale)
    try:
      self.download_and_prepare(download_dir=self.work_dir / 'downloads',
                                file_format=_FILE_FORMAT)
    finally:
      if self._write_bar is not None:
        self._write_bar.close()
    shutil.rmtree(self.work_dir)
    if not any(self.work_dir.parent.iterdir()):
      self.work_dir.parent.rmdir()
    return pathlib.Path(self.data_dir)

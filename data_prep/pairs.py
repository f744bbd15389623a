"""Exemplar/search pairs for training, as a grain pipeline.

A pair takes a track at random, an exemplar frame of it and a search frame at
most ``max_frame_gap`` frames away, and cuts the exemplar and the search image
from their stored crops with the paper's augmentations (augment.py). The
target is at the centre of both, up to the translation.

A pair depends only on (seed, pair index), and batch ``step`` of process
``shard_index`` holds pairs ``(step * shard_count + shard_index) * batch_size``
onwards, so the batches do not depend on the worker count, processes never
share a pair, and a run resumed at ``start_step`` sees exactly the batches it
would have seen.
"""

import dataclasses
import functools
import io
import pathlib
import sys
import time
from typing import Callable, Iterator

import grain
import ml_collections
import numpy as np
from PIL import Image

from data_prep import augment
from data_prep import dataset


def choose_frames(rng: np.random.Generator, frames: np.ndarray,
                  max_frame_gap: int) -> tuple[int, int]:
  """Picks the exemplar and the search crop of a track.

  Args:
    rng: the random generator.
    frames: the frame index of each crop of the track.
    max_frame_gap: the most frames between the two.

  Returns:
    Positions in ``frames`` of the exemplar and of a different crop at most
    ``max_frame_gap`` frames away, or twice the exemplar's if there is none.
  """
  exemplar = int(rng.integers(len(frames)))
  near = np.flatnonzero(np.abs(frames - frames[exemplar]) <= max_frame_gap)
  if len(near) > 1:
    near = near[near != exemplar]
  return exemplar, int(near[rng.integers(len(near))])


@dataclasses.dataclass(frozen=True)
class _TrackTable:
  """The tracks pairs are drawn from, over one or more datasets.

  Attributes:
    dataset_dirs: the datasets' version folders.
    base_scales: per dataset, stored pixels per output pixel that make the
      exemplar window fill the exemplar image.
    datasets: (T,) dataset of each track.
    starts: (T,) first record of each track.
    frames: T arrays, the frame index of each record of the track.
  """

  dataset_dirs: tuple[pathlib.Path, ...]
  base_scales: tuple[float, ...]
  datasets: np.ndarray
  starts: np.ndarray
  frames: tuple[np.ndarray, ...]


class _BatchMaker:
  """step -> batch; picklable, each process opens the datasets itself."""

  def __init__(self, config: ml_collections.ConfigDict, tracks: _TrackTable,
               *, seed: int, batch_size: int, shard_index: int,
               shard_count: int):
    self._config = config
    self._tracks = tracks
    self._seed = seed
    self._batch_size = batch_size
    self._shard_index = shard_index
    self._shard_count = shard_count
    self._sources = None

  def __getstate__(self):
    return {**self.__dict__, '_sources': None}

  def _image(self, dataset_index: int, record: int) -> Image.Image:
    if self._sources is None:
      self._sources = [dataset.data_source(d, decode_images=False)
                       for d in self._tracks.dataset_dirs]
    jpeg = self._sources[dataset_index][int(record)]['image']
    return Image.open(io.BytesIO(jpeg)).convert('RGB')

  def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The (exemplar, search) images of pair ``index``."""
    config = self._config
    tracks = self._tracks
    rng = np.random.default_rng([self._seed, index])
    track = rng.integers(len(tracks.starts))
    exemplar, search = choose_frames(rng, tracks.frames[track],
                                     config.max_frame_gap)
    dataset_index = tracks.datasets[track]
    base_scale = tracks.base_scales[dataset_index]
    images = []
    for offset, size, translation in (
        (exemplar, config.exemplar_size, config.exemplar_translation),
        (search, config.search_size, config.search_translation)):
      view = augment.random_view(rng, base_scale=base_scale,
                                 stretch=config.stretch,
                                 translation=translation)
      image = self._image(dataset_index, tracks.starts[track] + offset)
      images.append(augment.cut(image, view, size))
    if rng.random() < config.grayscale_rate:
      images = [augment.grayscale(image) for image in images]
    return np.asarray(images[0]), np.asarray(images[1])

  def __call__(self, step: int) -> dict[str, np.ndarray]:
    first = (step * self._shard_count + self._shard_index) * self._batch_size
    exemplars, searches = zip(*(self.pair(first + i)
                                for i in range(self._batch_size)))
    return {'exemplar': np.stack(exemplars), 'search': np.stack(searches)}


def _load_tracks(dataset_dirs, video_names,
                 exemplar_size: int) -> _TrackTable:
  """The tracks of the datasets, only of ``video_names`` if given."""
  datasets, starts, frames, base_scales, known = [], [], [], [], set()
  for index, path in enumerate(dataset_dirs):
    metadata = dataset.metadata(path)
    # Stored crops map the exemplar window to the curation's exemplar_size.
    base_scales.append(
        metadata[dataset.CURATION]['exemplar_size'] / exemplar_size)
    tracks = dataset.Tracks.from_json(metadata[dataset.TRACKS])
    known.update(tracks.videos.tolist())
    keep = np.ones(len(tracks.videos), bool)
    if video_names is not None:
      keep = np.isin(tracks.videos, list(video_names))
    datasets.extend([index] * int(keep.sum()))
    starts.extend(tracks.starts[keep].tolist())
    frames.extend(f for f, k in zip(tracks.frames, keep) if k)
  where = ', '.join(map(str, dataset_dirs))
  unknown = sorted(set(video_names or ()) - known)
  if unknown:
    raise dataset.DatasetError(
        f'unknown videos {unknown}; {where} hold {len(known)} videos, e.g.'
        f' {sorted(known)[:3]}')
  if not starts:
    raise dataset.DatasetError(f'no tracks in {where}')
  return _TrackTable(dataset_dirs=tuple(dataset_dirs),
                     base_scales=tuple(base_scales),
                     datasets=np.asarray(datasets), starts=np.asarray(starts),
                     frames=tuple(frames))


def make_pair_iterator(
    config: ml_collections.ConfigDict, *, data_dir, seed: int,
    start_step: int = 0, batch_size: int, video_names=None,
    shard_index: int = 0, shard_count: int = 1,
    worker_count: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """Endless batches of training pairs, from ``start_step`` on.

  Args:
    config: siamfc_jax/configs/data.py's config (its ``pairs`` part is used).
    data_dir: the --out folder of data_prep.build (every dataset in it is
      used) or one dataset's version folder.
    seed: non-negative seed; with the step it fixes a batch.
    start_step: the first batch to give.
    batch_size: pairs per batch, in this process.
    video_names: if given, only tracks of these videos are used (e.g. for a
      train/validation split by sequence).
    shard_index: this process's index among ``shard_count`` processes.
    shard_count: processes reading different pairs.
    worker_count: worker processes making batches (0: this process). With
      workers, absl flags must be parsed (as under absl.app.run): grain
      reads one of its flags then (google/grain#1355).

  Returns:
    An iterator of {'exemplar': (B, e, e, 3), 'search': (B, s, s, 3)} uint8
    batches, e and s the configured exemplar and search sizes.
  """
  if seed < 0 or batch_size < 1 or start_step < 0:
    raise ValueError(f'need seed >= 0, batch_size >= 1 and start_step >= 0,'
                     f' got {seed}, {batch_size} and {start_step}')
  if not 0 <= shard_index < shard_count:
    raise ValueError(f'shard_index {shard_index} is not in'
                     f' [0, {shard_count})')
  pairs = config.pairs
  tracks = _load_tracks(dataset.find(data_dir), video_names,
                        pairs.exemplar_size)
  maker = _BatchMaker(pairs, tracks, seed=seed, batch_size=batch_size,
                      shard_index=shard_index, shard_count=shard_count)
  batches = grain.MapDataset.range(start_step, sys.maxsize).map(maker)
  batches = batches.to_iter_dataset(grain.ReadOptions(
      num_threads=pairs.read_threads,
      prefetch_buffer_size=pairs.prefetch_batches))
  if worker_count:
    batches = batches.mp_prefetch(grain.MultiprocessingOptions(
        num_workers=worker_count,
        per_worker_buffer_size=pairs.prefetch_batches))
  return iter(batches)


def training_batches(
    train_config: ml_collections.ConfigDict
) -> Callable[..., Iterator[dict[str, np.ndarray]]]:
  """The input pipeline of a train config, for train_lib.train_and_evaluate.

  Returns:
    ``make(*, start_step, batch_size, shard_index, shard_count)``, which
    gives make_pair_iterator's batches of the config's data, seed, training
    videos and loader workers.
  """
  return functools.partial(
      make_pair_iterator, train_config.data, data_dir=train_config.data_dir,
      seed=train_config.seed,
      video_names=list(train_config.train_videos) or None,
      worker_count=train_config.loader_workers)


def pairs_per_second(config: ml_collections.ConfigDict, *, data_dir,
                     batch_size: int, steps: int, warmup_steps: int,
                     worker_count: int) -> float:
  """Loader throughput: pairs made per second after some warm-up batches.

  Args:
    config: as for make_pair_iterator.
    data_dir: as for make_pair_iterator.
    batch_size: pairs per batch.
    steps: batches timed.
    warmup_steps: batches taken before timing (start-up, worker spawn).
    worker_count: as for make_pair_iterator.

  Returns:
    Pairs per second over the timed batches.
  """
  iterator = make_pair_iterator(config, data_dir=data_dir, seed=0,
                                batch_size=batch_size,
                                worker_count=worker_count)
  try:
    for _ in range(warmup_steps):
      next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
      next(iterator)
    return steps * batch_size / (time.perf_counter() - start)
  finally:
    iterator.close()

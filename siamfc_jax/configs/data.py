"""Dataset curation and the training-pair loader.

Build a dataset of curated crops (one per frame and target), e.g. from the
sequence folders in ../shared/data/sequences (about 30 s on 2 CPU cores):
  python -m data_prep.build --source=sequences \
      --root=../shared/data/sequences --out=/tmp/shared_sequences_tfds
which ends with
  videos: 20 with crops of 20 found, tracks: 20, crops: 6082
  skipped targets: none
Other sources: --source=vid (ILSVRC2015 VID), got10k (GOT-10k), otb (OTB
folders with groundtruth_rect*.txt). Re-running a killed build continues it.
Measure the pair loader on the result (about 500 pairs/s on 2 cores):
  python -m experiments.benchmark_loader --data_dir=/tmp/shared_sequences_tfds

Any field can be overridden, e.g. --config.curation.jpeg_quality=95.
"""

import ml_collections

from siamfc_jax.configs import base


def data_config() -> ml_collections.ConfigDict:
  """Curation of stored crops and sampling of exemplar/search pairs."""
  tracker = base.tracker_config()
  return ml_collections.ConfigDict(dict(
      curation=dict(
          # A stored crop is `crop_size` pixels wide; the target's exemplar
          # window (with `context`) covers `exemplar_size` pixels of it.
          crop_size=tracker.instance_size,
          exemplar_size=tracker.exemplar_size,
          context=tracker.context,
          jpeg_quality=90,
          # Targets smaller than this (pixels, either side) are skipped.
          min_box_side=10.0,
          # Targets longer than this times their width (or wider) are
          # skipped; 8 keeps standing people and divers.
          max_aspect_ratio=8.0,
          # Tracks with fewer usable frames cannot give a pair of two
          # different frames and are dropped.
          min_track_length=2,
          vid_subsets=('train',),  # Folders under Data/VID/ to read.
          got10k_subsets=('train',),  # Folders under the GOT-10k root.
          # GOT-10k cover.label: 0 fully occluded .. 8 fully visible.
          got10k_min_cover=1,
          crops_per_shard=2000,  # Crops per array_record file.
      ),
      pairs=dict(
          # Exemplar and search frames are at most this many frames apart.
          max_frame_gap=100,
          exemplar_size=tracker.exemplar_size,
          search_size=tracker.instance_size,
          # Each axis is scaled by a factor drawn from [1 - s, 1 + s].
          stretch=0.05,
          # The window centre moves by up to this many pixels on each axis.
          exemplar_translation=0.0,
          search_translation=4.0,
          grayscale_rate=0.0,  # Fraction of pairs turned grey (both crops).
          read_threads=2,  # Threads making batches in each process.
          prefetch_batches=2,  # Batches made ahead in each process.
      ),
  ))


def get_config() -> ml_collections.ConfigDict:
  return data_config()

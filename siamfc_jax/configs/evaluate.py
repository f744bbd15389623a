"""Benchmark evaluation of SiamFC and the baselines in one harness.

Commands (--benchmark, --root and --results set the fields of the same
names; any other field is set with --config.FIELD=VALUE):
  python -m experiments.evaluate --benchmark=otb \
      --root=../shared/data/sequences --results=runs/evaluate/otb
  python -m experiments.evaluate --benchmark=got10k \
      --root=/data/GOT-10k/val --results=runs/evaluate/got10k_val
  python -m experiments.evaluate --benchmark=vot \
      --root=/data/vot2018 --results=runs/evaluate/vot2018 \
      --config.trackers="('siamfc', 'ncc')"
  python -m experiments.report --results=runs/evaluate/otb

Expected: a progress bar per tracker, then the overall table (OTB: success
AUC, precision at 20 px and frames per second of every tracker; GOT-10k:
AO, SR0.5, SR0.75; VOT: accuracy, robustness, lost number, EAO) and the
path of the Markdown report, which adds per-sequence tables and the plots.
Re-running the same command only tracks the sequences without complete
result files.
"""

import ml_collections
from ml_collections import config_dict

from siamfc_jax.configs import track_3s


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # 'otb', 'got10k', 'vot' (reset-based), 'lasot', 'trackingnet', 'uav123',
  # 'uav20l', 'uav123_10fps', 'nfs' or 'tc128' (evaluation.BENCHMARKS).
  config.benchmark = 'otb'
  # OTB/VOT: a folder of sequence folders; GOT-10k: a split folder (val or
  # test) with list.txt.
  config.root = ''
  config.results_dir = 'runs/evaluate'
  config.trackers = ('siamfc', 'ncc', 'kcf', 'csrt', 'mosse', 'medianflow')
  config.sequences = ()  # Sequence names to evaluate; empty: all.
  config.max_frames = config_dict.placeholder(int)  # Cut sequences (smoke).
  # SiamFC tracks this many sequences at once (padded frames, one jitted
  # step; OTB and GOT-10k only). 1 tracks them one by one.
  config.batch_size = 1
  # Shard shard_index of shard_count: every shard_count-th sequence from
  # shard_index on. Shards run anywhere (machines, SLURM array tasks) into
  # one results folder; each writes only its sequences' files, and the
  # report (experiments.report, or the last shard's own) covers a tracker
  # once every shard is done.
  config.shard_index = 0
  config.shard_count = 1
  config.track = track_3s.get_config()  # SiamFC's weights and settings.
  config.ncc_search_scale = 3.0  # NCC search window / box size, per side.
  config.vot = ml_collections.ConfigDict(dict(
      skip_frames=5,  # Re-initialise this many frames after a failure.
      burnin=10,  # Frames left out of accuracy after each initialisation.
      eao_low=100,  # Sequence-length range of the EAO (VOT2017/2018).
      eao_high=356,
  ))
  config.lasot = ml_collections.ConfigDict(dict(
      split='test',  # 'test' (280 sequences), 'train' or 'all'.
  ))
  config.trackingnet = ml_collections.ConfigDict(dict(
      # 'test', 'train' (every TRAIN_i chunk) or chunk names 'TRAIN_0,TRAIN_3'.
      split='test',
  ))
  config.html = False  # Also write report.html.
  config.plot_dpi = 120
  config.progress = True
  return config

"""A few steps on tiny data, for tests and smoke runs.

  python -m experiments.train --config=siamfc_jax/configs/tiny.py \
      --config.data_dir=DATA --config.sequences_root=SEQUENCES \
      --workdir=/tmp/tiny

Expected: 4 steps of 2 pairs, a finite loss, checkpoints at steps 2 and 4
and a weights file, in well under a minute on a 2-core CPU.
"""

import ml_collections

from siamfc_jax.configs import base
from siamfc_jax.configs import data


def get_config() -> ml_collections.ConfigDict:
  config = base.train_config()
  config.data = data.data_config()
  config.batch_size = 2
  config.num_epochs = 2
  config.pairs_per_epoch = 4
  config.lr_start = 1e-2
  config.lr_end = 1e-3
  config.loader_workers = 0
  config.log_every_steps = 1
  config.eval_every_steps = 4
  config.eval_max_frames = 4
  config.checkpoint_every_steps = 2
  config.keep_checkpoints = 2
  config.progress = False
  return config

"""The paper's recipe on ILSVRC2015 VID: 50 epochs of 53,200 pairs.

  python -m data_prep.build --source=vid --root=/data/ILSVRC2015 \
      --out=runs/data/vid
  python -m experiments.train --config=siamfc_jax/configs/train_vid.py \
      --workdir=runs/train_vid

Expected (paper): OTB-100 success AUC about 0.58 with 3 scales. Validation
here tracks the shared sequences, if present (set --config.val_videos=()
to skip). About 332,500 steps: plan for accelerators (the same command
shards the batch over all of them).
"""

import ml_collections

from siamfc_jax.configs import base
from siamfc_jax.configs import data
from siamfc_jax.configs import train_shared


def get_config() -> ml_collections.ConfigDict:
  config = base.train_config()
  config.data = data.data_config()
  config.data_dir = 'runs/data/vid'
  config.sequences_root = '../shared/data/sequences'
  config.val_videos = train_shared.VAL_VIDEOS
  config.eval_every_steps = 6_650  # Once per epoch.
  return config

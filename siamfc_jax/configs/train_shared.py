"""The shipped model: trained on the shared OTB/VOT/UAV/DTB sequences.

Builds the dataset once, then trains (resumable; rerun the same command to
continue after an interruption):

  python -m data_prep.build --source=sequences \
      --root=../shared/data/sequences --out=runs/data/shared_sequences
  python -m experiments.train --config=siamfc_jax/configs/train_shared.py \
      --workdir=runs/train_shared

Split by sequence: the six sequences in `val_videos` are never trained on;
every other sequence of the dataset is. Expected result and the measured
curve: see the README, section Weights.
"""

import ml_collections

from siamfc_jax.configs import base
from siamfc_jax.configs import data

VAL_VIDEOS = ('otb_Couple', 'otb_Dog', 'otb_Football1', 'otb_Bird2',
              'vot2015_ball1', 'dtb70_MountainBike6')
TRAIN_VIDEOS = ('dtb70_Surfing06', 'otb_Coke', 'otb_Deer', 'otb_Diving',
                'otb_Dog1', 'otb_FaceOcc1', 'otb_Human3', 'otb_Ironman',
                'otb_Jogging1', 'otb_MotorRolling', 'otb_Panda',
                'otb_Surfer', 'uav123_10fps_wakeboard7', 'vot2015_car1')


def get_config() -> ml_collections.ConfigDict:
  config = base.train_config()
  config.data = data.data_config()
  config.data_dir = 'runs/data/shared_sequences'
  config.sequences_root = '../shared/data/sequences'
  config.train_videos = TRAIN_VIDEOS
  config.val_videos = VAL_VIDEOS
  # 4,000 steps of 8 pairs take about an hour on a 2-core CPU; the
  # learning rate still falls log-spaced over the epochs.
  config.num_epochs = 10
  config.pairs_per_epoch = 3_200
  config.lr_end = 1e-4
  config.loader_workers = 0
  config.eval_every_steps = 800
  return config

"""Tracking with 5 scales, the paper's slower and more accurate setting.

Command:
  python -m experiments.track --config=siamfc_jax/configs/track_5s.py
"""

import ml_collections

from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s


def get_config() -> ml_collections.ConfigDict:
  config = track_3s.get_config()
  config.update(base.tracker_config(num_scales=5))
  return config

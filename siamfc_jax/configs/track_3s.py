"""Tracking with 3 scales, the paper's fast setting.

Command (tracks the built-in demo sequence when --sequence/--video are not
given):
  python -m experiments.track --config=siamfc_jax/configs/track_3s.py

Any field can be overridden, e.g. --config.window_influence=0.2.
"""

import ml_collections

from siamfc_jax.configs import base


def get_config() -> ml_collections.ConfigDict:
  config = base.tracker_config(num_scales=3)
  config.model = base.model_config()
  # Weights file; empty means the weights shipped in siamfc_jax/pretrained,
  # or, where none ship, an untrained network initialised from `seed`.
  config.checkpoint = ''
  config.seed = 0
  return config

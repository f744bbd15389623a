"""A 27-setting sweep against 27 separate evaluation runs, timed.

Command (about 12 minutes on 2 shared CPU cores):
  python -m experiments.benchmark_sweep \
      --config.sweep.root=../shared/data/sequences

Tracks the same sequences (cut to ``sweep.max_frames`` frames) with the
grid's 3 x 3 x 3 settings twice: once as ``experiments.sweep`` does (one
batched step per frame for all settings, ``sweep.track``), then setting by
setting as ``experiments.evaluate --benchmark=otb`` does
(``evaluation.runner.run_tracker``, one compiled step per setting). Prints
the seconds of each, including compiling, the steady milliseconds per frame
for all settings (median over the frames after each run's first two),
their ratios, the largest box difference between the two (0 px) and writes
the numbers to ``output`` (JSON, with the machine and versions). Result
files go to a temporary folder: nothing is resumed.

Expected on a 2-core AMD EPYC (shared with other jobs), 2026-12-02: sweep
288 s, separate runs 402 s (1.39x); steady 9.5 s against 6.3 s per frame
for all 27 settings (0.66x: the one 81-crop network batch is slower on
this CPU than 27 batches of 3); largest box difference 0.0 px.
"""

import ml_collections

from siamfc_jax.configs import sweep


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.sweep = sweep.get_config()
  config.sweep.root = '../shared/data/sequences'
  # Frames of one size: each run compiles its steps once, not per sequence.
  config.sweep.sequences = ('otb_FaceOcc1', 'otb_Football1', 'otb_Jogging1')
  config.sweep.max_frames = 10
  config.sweep.grid.window_influence = (0.15, 0.176, 0.2)
  config.sweep.grid.scale_penalty = (0.96, 0.9745, 0.99)
  config.sweep.grid.scale_lr = (0.45, 0.59, 0.7)
  config.sweep.progress = False
  config.output = 'runs/benchmark_sweep.json'
  return config

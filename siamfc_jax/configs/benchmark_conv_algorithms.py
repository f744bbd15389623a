"""Tracking with each convolution algorithm of the network, on one machine.

Command (about 10 minutes on 2 CPU cores shared with other jobs, 1-2.5 of
them compiling each entry):
  python -m experiments.benchmark_speed \
      --config=siamfc_jax/configs/benchmark_conv_algorithms.py

Entries of benchmark_speed.py that differ only in
``config.model.conv_algorithm`` (siamfc_jax/conv_algorithms.py): 'direct'
(the default), 'space_to_depth' (conv1), 'winograd' (conv3-5) and both,
timed in turns on 3- and 5-scale frames, with the command-line jobs' XLA
flags. Add the train step with --config.ours.winograd.train=True (and so
on; a few seconds per step and round). The direct entry's time over each
other's, round by round (> 1: the algorithm faster):

  import json, numpy as np
  r = json.load(open('runs/benchmark_conv_algorithms.json'))['results']
  r = r['ours']
  for name in ('space_to_depth', 'winograd', 'space_to_depth_winograd'):
    for m in ('track3', 'track5'):
      print(name, m, np.divide(r['direct']['round_ms'][m],
                               r[name]['round_ms'][m]))

Expected on an AMD EPYC (2 cores, AVX2 only), as run on 2026-12-02 while
other jobs shared the machine (3 rounds): direct 503 ms per 3-scale frame
and 1,043 ms per 5-scale frame (medians); direct over the others, median
of the rounds, space_to_depth 0.91x (3 scales) and 1.21x (5 scales),
winograd 1.10x and 1.04x, both 0.88x and 1.04x (per round 0.69-1.29x):
no faster beyond the machine's noise. Boxes equal the direct entry's
(0.000 px, the record's box_max_abs_diff).
"""

import ml_collections

from siamfc_jax import conv_algorithms
from siamfc_jax.configs import benchmark_speed


def get_config() -> ml_collections.ConfigDict:
  config = benchmark_speed.get_config()
  config.rounds = 3
  default = dict(config.ours.default.to_dict(), scales=(3, 5), scan=False,
                 sequences=1, train=False)
  config.ours = ml_collections.ConfigDict({
      algorithm: dict(default, conv_algorithm=algorithm)
      for algorithm in conv_algorithms.ALGORITHMS if algorithm != 'im2col'})
  config.torch = ml_collections.ConfigDict()
  config.box_reference = 'ours/direct'
  config.output = 'runs/benchmark_conv_algorithms.json'
  return config

"""The CPU-tuned ops of the network against the plain ones, on one machine.

Command (a few minutes on 2 CPU cores):
  python -m experiments.benchmark_speed \
      --config=siamfc_jax/configs/benchmark_ops.py

Two entries of benchmark_speed.py that differ only in ``config.model.ops``
(siamfc_jax/cpu_ops.py): 'cpu_tuned', what 'auto' picks on the CPU, and
'plain' (flax's max-pool, autodiff's BatchNorm gradient, one grouped
convolution per grouped layer, no barriers), timed in turns on 3-scale
frames and the train step at batch 8, with the command-line jobs' XLA
flags. The plain entry's time over the tuned one's, round by round:

  import json, numpy as np
  r = json.load(open('runs/benchmark_ops.json'))['results']['ours']
  for m in ('track3', 'train'):
    print(m, np.divide(r['plain']['round_ms'][m],
                       r['cpu_tuned']['round_ms'][m]))

Expected on an AMD EPYC (2 cores, AVX2 only), as run on 2026-12-02 while
other jobs shared the machine (3.5 minutes): cpu_tuned 168 ms per 3-scale
frame and 1,694 ms per train step, plain 201 and 7,306 ms (medians); plain
over cpu_tuned per round 0.96-1.24x per frame (median 1.23x) and
3.74-4.73x per train step (median 4.18x); boxes identical (0.000 px).
"""

import ml_collections

from siamfc_jax.configs import benchmark_speed


def get_config() -> ml_collections.ConfigDict:
  config = benchmark_speed.get_config()
  config.rounds = 6
  default = dict(config.ours.default.to_dict(), scales=(3,), scan=False,
                 sequences=1)
  config.ours = ml_collections.ConfigDict({
      ops: dict(default, ops=ops) for ops in ('cpu_tuned', 'plain')})
  config.torch = ml_collections.ConfigDict()
  config.box_reference = 'ours/cpu_tuned'
  config.output = 'runs/benchmark_ops.json'
  return config

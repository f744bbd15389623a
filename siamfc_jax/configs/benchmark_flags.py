"""The XLA CPU flags, each measured against the others on this machine.

Command (about 6 minutes on 2 CPU cores; needs torch):
  python -m experiments.benchmark_speed \
      --config=siamfc_jax/configs/benchmark_flags.py

The entries of benchmark_speed.py that change only XLA_FLAGS (3-scale
frames and the train step; PyTorch channels_last as the common baseline),
in 4 rounds. Expected: `default` fastest on each metric, as measured on an
Intel Xeon (AMX) on 2026-11-30 and an AMD EPYC (Zen 3, AVX2 only) on
2026-12-02 (README, Speed).
"""

import ml_collections

from siamfc_jax.configs import benchmark_speed


def get_config() -> ml_collections.ConfigDict:
  config = benchmark_speed.get_config()
  config.rounds = 4
  three = dict(scales=(3,), scan=False, sequences=1)
  config.ours = ml_collections.ConfigDict({
      name: dict(config.ours[name].to_dict(), **three)
      for name in ('default', 'no_xla_flags', 'ynn_dot_only',
                   'recomputed_inputs')})
  config.ours.recomputed_inputs.scales = ()
  config.torch = ml_collections.ConfigDict({
      'float32_channels_last': dict(
          config.torch.float32_channels_last.to_dict(), scales=(3,))})
  config.output = 'runs/benchmark_flags.json'
  return config

"""Tracking and training speed against a PyTorch reference, on one machine.

Command (needs torch, see requirements-test.txt; about 13 minutes on 2
CPU cores):
  python -m experiments.benchmark_speed

Starts every entry in a process of its own and compiles it (a line each),
then times them in turns (a progress bar): each round times one chunk of
every entry's every metric, metric by metric, so that the entries compared
on one metric run seconds apart. Then prints a table of median
milliseconds per exemplar init, per tracked frame (3 and 5 scales; frame by
frame as tracker.Tracker, and for ours also whole sequences in one
tracker.track_frames call and, per sequence, 4 sequences tracked together
by tracker.track_batch) and per train step at batch 8, the largest box
difference from ours/default in pixels, the speed-ups of each of our entries
over the fastest PyTorch entry of the same dtype (the median of the
per-round ratios, with the lowest and highest), and the path of the JSON
record (machine, versions, date and every number).

Expected on a 2-core x86-64 CPU with AMX (jax 0.10.2, torch 2.13), as run
on 2026-11-30 (second run): ours float32 107 ms per 3-scale frame and 209
ms per 5-scale frame, 1.27 s per train step (1.42 s with the train-step
barriers removed, recomputed_inputs); PyTorch float32 158 ms eager, 108 ms
channels_last, 99 ms with torch.compile (speed-ups 0.94x with 3 scales,
0.71x with 5, per-round ratios 0.66-1.00), 1.03 s per train step
(channels_last; 0.82x); PyTorch's bfloat16 channels_last 47 ms per frame,
ours bfloat16 no faster than our float32. The machine's speed swings
within a run (PyTorch's train step: 0.6-2.5 s per round) and between days
(1.4x faster on 2026-11-26); ratios are what carries over. Float32 PyTorch
boxes and batched boxes equal ours (0.000 px).

Each entry of `ours` and `torch` runs in a process of its own (XLA flags
must be set before JAX starts). Any field can be overridden, e.g.
--config.frames=50 or --config.torch.float32_compile.scales='()'.
"""

import ml_collections

from siamfc_jax import xla
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s


def get_config() -> ml_collections.ConfigDict:
  model = base.model_config()
  fast_flags = ' '.join(xla.fast_cpu_flags())
  both_scales = (3, 5)

  def ours(scales=both_scales, scan=True, sequences=1, **overrides):
    variant = dict(dtype=model.dtype, split_groups=model.split_groups,
                   ops=model.ops,
                   xla_flags=fast_flags, scales=scales, scan=scan,
                   sequences=sequences, train=True)
    variant.update(overrides)
    return variant

  def reference(dtype, channels_last=False, compiled=False,
                upsampling='matrix', scales=both_scales, train=True):
    return {'dtype': dtype, 'channels_last': channels_last,
            'compile': compiled, 'upsampling': upsampling, 'scales': scales,
            'train': train}

  config = ml_collections.ConfigDict()
  # Network, weights (the shipped model, else untrained from `seed`) and
  # tracker settings; num_scales is set by each measurement.
  config.track = track_3s.get_config()
  config.frame_shape = (360, 640)  # The demo sequence, resized.
  # Every entry's every metric is timed once per round, in turns.
  config.rounds = 6
  # Per round and metric:
  config.warmup_frames = 3  # Tracked after init, not timed.
  config.frames = 10  # Timed frames.
  config.init_repeats = 3
  config.scan_repeats = 1  # Whole-sequence calls.
  config.train_steps = 2
  config.check_frames = 8  # Boxes compared between implementations.
  config.train_batch_size = 8
  config.train_warmup_steps = 2  # Before the first round.
  # Ours: `default` is the project's defaults (configs/base.py and the XLA
  # flags the command-line jobs set); the others each change one thing.
  config.ours = ml_collections.ConfigDict(dict(
      # `sequences` > 1 also times that many sequences tracked together.
      default=ours(sequences=4),
      bfloat16=ours(dtype='bfloat16'),
      grouped_convs=ours(scales=(3,), scan=False, split_groups=False),
      no_xla_flags=ours(scales=(3,), scan=False, xla_flags=''),
      # YNNPACK for dots and convolutions only, not for reductions.
      ynn_dot_only=ours(
          scales=(3,), scan=False,
          xla_flags='--xla_cpu_experimental_ynn_fusion_type=dot'),
      # Train step with XLA removing the barriers of cpu_ops.materialize.
      recomputed_inputs=ours(scales=(), scan=False,
                             xla_flags=' '.join(xla.FAST_CPU_FLAGS)),
  ))
  # PyTorch: the same network and tracking step; the fastest entry of each
  # dtype is the reference. `upsampling`: 'matrix' upsamples the scores
  # exactly as we do; 'interpolate' uses torch's own bicubic (a = -0.75).
  config.torch = ml_collections.ConfigDict(dict(
      float32=reference('float32'),
      float32_interpolate=reference('float32', upsampling='interpolate',
                                    scales=(3,), train=False),
      float32_channels_last=reference('float32', channels_last=True),
      # Its train step compiles for about a minute and ran slower than
      # channels_last (752 against 577 ms on 2 cores).
      float32_compile=reference('float32', compiled=True, train=False),
      bfloat16=reference('bfloat16', scales=(3,)),
      bfloat16_channels_last=reference('bfloat16', channels_last=True),
  ))
  # Box differences are measured from this entry's boxes.
  config.box_reference = 'ours/default'
  config.output = 'runs/benchmark_speed.json'
  return config

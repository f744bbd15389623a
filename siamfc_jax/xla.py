"""XLA settings that make the CPU path fast, applied before JAX starts."""

import os

# YNNPACK for XLA's CPU dots and convolutions (~2.7x faster tracking than
# XLA's own) and for its reductions (BatchNorm statistics and gradients:
# ~25% off a train step); the same results to float32 rounding (see
# experiments/benchmark_speed.py).
FAST_CPU_FLAGS = ('--xla_cpu_experimental_ynn_fusion_type=dot,reduce',)


def use_fast_cpu_convolutions() -> None:
  """Adds the fast CPU flags to XLA_FLAGS unless the user already set it.

  XLA reads its flags when JAX first runs a computation, so this has an
  effect only before that. ``import siamfc_jax`` calls it.
  """
  if 'XLA_FLAGS' not in os.environ:
    os.environ['XLA_FLAGS'] = ' '.join(FAST_CPU_FLAGS)

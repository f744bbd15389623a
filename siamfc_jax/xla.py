"""XLA settings that make the CPU path fast, applied before JAX starts."""

import importlib.util
import os
import pkgutil

# The XLA CPU ops that YNNPACK runs: dots and reductions (BatchNorm
# statistics and gradients: ~25% off a train step), not convolutions.
# jaxlib 0.10.2 gives YNNPACK the convolutions by default, and XLA's own
# run them ~2.5x faster here (~2.3x faster tracking). The same results to
# float32 rounding (see experiments/benchmark_speed.py).
FAST_CPU_FLAGS = ('--xla_cpu_experimental_ynn_fusion_type=dot,reduce',)

# Optimisation barriers kept through fusion, as XLA's GPU pipeline does,
# so that a train step stores the inputs of its convolutions instead of
# recomputing them (model.materialize; ~6% less CPU time per train step).
# Only where JAX has no GPU or TPU plugin: the flag names an XLA pass and
# would apply to every backend of the process.
CPU_ONLY_FLAGS = ('--xla_disable_hlo_passes=cse_barrier_expander',)


def accelerator_plugins() -> list[str]:
  """The GPU and TPU plugins of the installed JAX, found without starting it."""
  spec = importlib.util.find_spec('jax_plugins')
  found = []
  if spec is not None and spec.submodule_search_locations:
    found = [module.name for module in
             pkgutil.iter_modules(spec.submodule_search_locations)]
  if importlib.util.find_spec('libtpu') is not None:
    found.append('libtpu')
  return found


def fast_cpu_flags() -> tuple[str, ...]:
  """The flags for this installation: CPU_ONLY_FLAGS when JAX is CPU-only."""
  cpu_only = (os.environ.get('JAX_PLATFORMS') == 'cpu'
              or not accelerator_plugins())
  return FAST_CPU_FLAGS + (CPU_ONLY_FLAGS if cpu_only else ())


def use_fast_cpu_convolutions() -> None:
  """Adds the fast CPU flags to XLA_FLAGS unless the user already set it.

  XLA reads its flags when JAX first runs a computation, so this has an
  effect only before that. ``import siamfc_jax`` calls it.
  """
  if 'XLA_FLAGS' not in os.environ:
    os.environ['XLA_FLAGS'] = ' '.join(fast_cpu_flags())

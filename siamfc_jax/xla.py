"""XLA flags that make the CPU path fast, opted into before JAX starts.

The command-line jobs call ``use_fast_cpu_flags()`` (experiments/__init__.py,
so before any of them runs JAX); importing ``siamfc_jax`` changes nothing in
the process. Library users opt in with the same one call, made before their
first JAX computation:

  import siamfc_jax.xla
  siamfc_jax.xla.use_fast_cpu_flags()
"""

import importlib.util
import os
import pkgutil
import sys
import warnings

# The XLA CPU ops that YNNPACK runs: dots and reductions (BatchNorm
# statistics and gradients: ~25% off a train step), not convolutions.
# jaxlib 0.10.2 gives YNNPACK the convolutions by default, and XLA's own
# run them ~2.5x faster here (~2.3x faster tracking). The same results to
# float32 rounding (see experiments/benchmark_speed.py).
FAST_CPU_FLAGS = ('--xla_cpu_experimental_ynn_fusion_type=dot,reduce',)

# Optimisation barriers kept through fusion, as XLA's GPU pipeline does,
# so that a train step stores the inputs of its convolutions instead of
# recomputing them (cpu_ops.materialize; ~6% less CPU time per train step).
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


def _flag_name(flag: str) -> str:
  return flag.split('=', 1)[0].lstrip('-')


def merged_flags(own: str, flags) -> str:
  """``own`` (the user's XLA_FLAGS) followed by the ``flags`` it lacks.

  A flag the user set already, with any value, is left as the user set it.
  """
  own_names = {_flag_name(flag) for flag in own.split()}
  added = [flag for flag in flags if _flag_name(flag) not in own_names]
  return ' '.join(own.split() + added)


def jax_started() -> bool:
  """Whether JAX has made its backends (and so has read XLA_FLAGS)."""
  if 'jax' not in sys.modules:
    return False
  from jax._src import xla_bridge  # pylint: disable=g-import-not-at-top
  return xla_bridge.backends_are_initialized()


def use_fast_cpu_flags() -> None:
  """Appends the fast CPU flags to XLA_FLAGS (keeping the user's own).

  XLA reads its flags when JAX makes its backends, at the first
  computation; after that this only warns. Child processes started later
  inherit the flags, as they inherit any environment variable.
  """
  if jax_started():
    warnings.warn('siamfc_jax.xla.use_fast_cpu_flags: JAX has already'
                  ' started, so XLA_FLAGS is not read again; call it before'
                  ' the first JAX computation', RuntimeWarning, stacklevel=2)
    return
  os.environ['XLA_FLAGS'] = merged_flags(os.environ.get('XLA_FLAGS', ''),
                                         fast_cpu_flags())

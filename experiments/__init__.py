"""The command-line jobs: ``python -m experiments.<name> --config=...``.

Each job's ``main`` first appends the fast CPU XLA flags to the user's
XLA_FLAGS (siamfc_jax/xla.py), before it starts JAX.

``python -m experiments.<name>`` imports this package first, before the
job's own imports (JAX and the rest, over a second): Ctrl-C then already
exits quietly with status 130, as ``siamfc_jax.cli.run`` does once the job
runs. An import from Python code changes nothing in the process.
"""

import os
import signal
import sys


def _job_starting() -> bool:
  """Whether ``python -m experiments.<name>`` is starting.

  While Python looks for the module of ``-m``, it imports its packages with
  ``sys.argv[0] == '-m'`` (see runpy); ``sys.orig_argv`` names the module.
  """
  if sys.argv[:1] != ['-m']:
    return False
  args = getattr(sys, 'orig_argv', [])
  for before, arg in zip(args, args[1:]):
    module = (arg if before == '-m' else arg[2:]
              if arg.startswith('-m') and arg != '-m' else None)
    if module is not None:
      return module.startswith(f'{__name__}.')
  return False


def _exit_quietly(signum, frame):
  # What siamfc_jax.cli.run does on Ctrl-C (which cannot be imported yet:
  # it imports JAX), until it takes over.
  del signum, frame
  print('\ninterrupted', file=sys.stderr, flush=True)
  os._exit(128 + signal.SIGINT)  # pylint: disable=protected-access


# A job started in the background keeps Ctrl-C ignored.
if _job_starting() and (signal.getsignal(signal.SIGINT)
                        is signal.default_int_handler):
  signal.signal(signal.SIGINT, _exit_quietly)

"""Several processes, on one host or several, as one JAX job.

The training jobs (experiments.train, experiments.export_weights) and
experiments.evaluate take the settings of ``jax.distributed.initialize`` as
flags (``define_flags``) and call ``initialize`` before their first
computation:

  # host A (process 0, which also runs the coordinator)
  python -m experiments.train ... --coordinator_address=hostA:1234 \
      --num_processes=2 --process_id=0
  # host B
  python -m experiments.train ... --coordinator_address=hostA:1234 \
      --num_processes=2 --process_id=1

Without these flags, a job that SLURM (srun) or Open MPI (mpirun) launched
as several processes takes them from the environment, as JAX's own cluster
detection reads it; a job started by hand runs as one process. Once joined,
``jax.devices()`` lists the devices of all processes and every process runs
the same jitted steps on its own devices; collectives between processes go
through NCCL on GPUs and gloo on CPUs (JAX's default CPU collectives).

JAX's runtime bounds every wait: a process that cannot reach all the others
within ``--initialization_timeout`` seconds stops, and when a process dies,
the others stop within ``--heartbeat_timeout`` seconds with "Terminating
process because the JAX distributed service detected fatal errors". A
process other than 0 given ``--coordinator_address`` first checks that the
address answers (within the same timeout), so that a coordinator never
started, or a wrong address, is one error line rather than the runtime's
abort.
"""

import contextlib
import dataclasses
import functools
import os
import socket
import sys
import time
import traceback
from typing import Callable

import jax
from absl import flags
from absl import logging
from orbax.checkpoint import multihost

# The environment variables from which JAX detects a SLURM job step or an
# Open MPI launch (jax/_src/clusters/{slurm,ompi}_cluster.py), and the
# one among them that counts the processes.
_SLURM = ('SLURM_JOB_ID', 'SLURM_STEP_NODELIST', 'SLURM_NTASKS',
          'SLURM_PROCID', 'SLURM_LOCALID')
_SLURM_COUNT = 'SLURM_NTASKS'
_OMPI = ('OMPI_MCA_orte_hnp_uri',)
_OMPI_COUNT = 'OMPI_COMM_WORLD_SIZE'


class DistributedError(RuntimeError):
  """Settings with which the processes cannot form one job."""


@dataclasses.dataclass(frozen=True)
class Settings:
  """What ``jax.distributed.initialize`` needs; None: from the environment."""

  coordinator_address: str | None = None
  num_processes: int | None = None
  process_id: int | None = None
  initialization_timeout: int = 300
  heartbeat_timeout: int = 100

  @property
  def given(self) -> bool:
    return any(value is not None for value in (
        self.coordinator_address, self.num_processes, self.process_id))


def define_flags(flag_values=flags.FLAGS) -> Callable[[], Settings]:
  """Defines the jobs' multi-process flags; returns their reader."""
  defaults = Settings()
  holders = dict(
      coordinator_address=flags.DEFINE_string(
          'coordinator_address', None,
          'host:port of process 0, where the others join it (every process'
          ' gives the same). Default: from SLURM or Open MPI, else one'
          ' process.', flag_values=flag_values),
      num_processes=flags.DEFINE_integer(
          'num_processes', None, 'Processes in the job, all hosts together.',
          lower_bound=1, flag_values=flag_values),
      process_id=flags.DEFINE_integer(
          'process_id', None, 'This process: 0 .. num_processes - 1.',
          lower_bound=0, flag_values=flag_values),
      initialization_timeout=flags.DEFINE_integer(
          'initialization_timeout', defaults.initialization_timeout,
          'Seconds a process waits for all of them to join.', lower_bound=1,
          flag_values=flag_values),
      heartbeat_timeout=flags.DEFINE_integer(
          'heartbeat_timeout', defaults.heartbeat_timeout,
          'Seconds without news from a process after which the others'
          ' stop.', lower_bound=1, flag_values=flag_values))
  return lambda: Settings(**{name: holder.value
                             for name, holder in holders.items()})


def launched_processes(environ=None) -> int:
  """How many processes SLURM or Open MPI launched this one among (else 1)."""
  environ = os.environ if environ is None else environ
  for present, count in ((_SLURM, _SLURM_COUNT), (_OMPI, _OMPI_COUNT)):
    if all(name in environ for name in present):
      try:
        return int(environ.get(count, '1'))
      except ValueError:
        raise DistributedError(f'{count}={environ[count]!r} is not a number'
                               ' of processes') from None
  return 1


def _check(settings: Settings) -> None:
  count, index = settings.num_processes, settings.process_id
  if count is not None and index is not None and index >= count:
    raise DistributedError(f'--process_id={index} is not below'
                           f' --num_processes={count}; allowed: 0 ..'
                           f' {count - 1}')
  address = settings.coordinator_address
  if address is not None and not address.rpartition(':')[2].isdigit():
    raise DistributedError(f'--coordinator_address={address!r}: not'
                           ' host:port')


def initialize(settings: Settings, environ=None) -> bool:
  """Joins the other processes of the job, if there are others.

  Call it before any JAX computation. The processes join when ``settings``
  name any of the address, count or index (JAX takes what is missing from a
  SLURM or Open MPI environment), or when SLURM or Open MPI launched
  several processes; ``--num_processes=1`` and a plain start run alone.

  Returns:
    Whether this process is one of several.

  Raises:
    DistributedError: settings that do not fit together, or a process count
      other than the one the other processes were started with.
  """
  _check(settings)
  if settings.num_processes == 1 and not settings.process_id:
    return False
  expected = settings.num_processes or launched_processes(environ)
  if not settings.given and expected <= 1:
    return False
  where = settings.coordinator_address or 'the detected coordinator'
  if settings.coordinator_address and settings.process_id:
    _wait_for_coordinator(settings.coordinator_address,
                          settings.initialization_timeout)
  logging.warning('Joining the job at %s (waiting up to %d s for all its'
                  ' processes)', where, settings.initialization_timeout)
  try:
    jax.distributed.initialize(
        coordinator_address=settings.coordinator_address,
        num_processes=settings.num_processes,
        process_id=settings.process_id,
        initialization_timeout=settings.initialization_timeout,
        heartbeat_timeout_seconds=settings.heartbeat_timeout)
  except (ValueError, TypeError) as e:
    raise DistributedError(
        f'cannot join the other processes ({e}): give --coordinator_address,'
        ' --num_processes and --process_id, or start the job with srun or'
        ' mpirun') from None
  # JAX's client does not tell the coordinator its process count: a
  # process started with another count than process 0 joins anyway.
  joined = jax.process_count()
  if expected > 1 and joined != expected:
    raise DistributedError(
        f'--num_processes={expected}, but the job at {where} has {joined}'
        ' processes: start every process with the same --num_processes')
  return True


def _wait_for_coordinator(address: str, timeout: float) -> None:
  """Returns once ``address`` (host:port) accepts a connection.

  JAX's client aborts the process (a fatal error in C++, with a stack
  trace) when it cannot register with the coordinator in time.
  """
  host, _, port = address.rpartition(':')
  deadline = time.monotonic() + timeout
  while True:
    try:
      with socket.create_connection((host.strip('[]'), int(port)),
                                    timeout=min(5.0, timeout)):
        return
    except OSError as e:
      if time.monotonic() + 1 > deadline:
        raise DistributedError(
            f'--coordinator_address={address}: no answer within'
            f' {timeout:g} s ({e.strerror or e}); start process 0 with the'
            ' same --coordinator_address (its host and a free port), or'
            ' raise --initialization_timeout') from None
      time.sleep(1)


def _first_line(error: Exception) -> str:
  """The first line of a runtime error (the rest is its C++ context)."""
  text = str(error).strip()
  return text.splitlines()[0] if text else ''


def wait_for_all(name: str, timeout: int) -> None:
  """Returns once every process of the job has called it with ``name``.

  A barrier of the job's coordination service, which needs no device and
  no collective; each ``name`` is used once per job.

  Raises:
    DistributedError: after ``timeout`` seconds without all of them.
  """
  if not jax.distributed.is_initialized() or jax.process_count() == 1:
    return
  try:
    multihost.get_jax_distributed_client().wait_at_barrier(
        name, timeout_in_ms=timeout * 1000)
  except jax.errors.JaxRuntimeError as e:
    raise DistributedError(
        f'process {jax.process_index()} of {jax.process_count()}: the'
        f' others did not reach {name!r} within {timeout} s'
        f' ({_first_line(e)})') from None


@contextlib.contextmanager
def reports_lost_processes():
  """Within the block, a computation that fails in a job of several
  processes (a collective whose peer died, most often) raises
  DistributedError, which says how to resume."""
  try:
    yield
  except jax.errors.JaxRuntimeError as e:
    if jax.process_count() == 1:
      raise
    raise DistributedError(
        f'process {jax.process_index()} of {jax.process_count()}: a'
        f' computation failed ({_first_line(e)}); if another process stopped,'
        ' start them all again with the same commands: they resume from'
        ' the last checkpoint') from e


def _exit_at_once(status: int) -> None:
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def leaves_at_once_on_error(run: Callable) -> Callable:
  """Decorates a job's entry point (around cli.run): a process that fails
  leaves the job at once.

  Python's exit would first wait for the threads still running (e.g.
  orbax's, in a barrier with the others), then JAX's runtime for every
  process to reach its shutdown, for up to 5 minutes, while the processes
  still training wait for this one in their next collective. Leaving
  without either stops its heartbeat, and the others stop within
  --heartbeat_timeout. The failure is reported as it would be otherwise.
  """

  @functools.wraps(run)
  def wrapped(*args, **kwargs):
    try:
      return run(*args, **kwargs)
    except SystemExit as e:
      if jax.distributed.is_initialized() and e.code not in (None, 0):
        if not isinstance(e.code, int):
          print(e.code, file=sys.stderr)
        _exit_at_once(e.code if isinstance(e.code, int) else 1)
      raise
    except BaseException:
      if jax.distributed.is_initialized():
        traceback.print_exc()
        _exit_at_once(1)
      raise

  return wrapped


def is_main_process() -> bool:
  """Whether this process writes the job's logs and files (process 0)."""
  return jax.process_index() == 0

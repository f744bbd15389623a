"""What every command-line job does around its main function.

``run(main)`` is ``absl.app.run`` with the jobs' conventions:

* a problem with the input, a flag or a config field stops the job with one
  line ``error: ...`` on stderr and exit status 1: flags that do not parse,
  a --config file that does not load, an override of a field the config
  does not have (``--config.foo=1``), unexpected arguments, and the errors a
  job names (e.g. sequences.SequenceError);
* Ctrl-C stops it with one line and exit status 130 (128 + SIGINT, the
  shell's convention), without a traceback; a job may first write what it
  has finished (see ``on_ctrl_c``);
* INFO logs (JAX probing for accelerators, weights being loaded) are hidden
  unless --verbosity is given.

Only the jobs' mains use this module: importing siamfc_jax changes none of
these for library users.
"""

import contextlib
import difflib
import importlib.util
import os
import re
import signal
import sys
from typing import Callable, NoReturn

import ml_collections
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags
from ml_collections.config_flags import config_flags as config_flags_lib

from siamfc_jax import files
from siamfc_jax import validation

# Exit status of a job stopped by Ctrl-C.
INTERRUPTED = 128 + signal.SIGINT


def fail(message: str) -> NoReturn:
  """Stops the job with ``error: message`` and exit status 1."""
  sys.exit(f'error: {message}')


def _config_module(path: str):
  """The config ``path`` (``file.py`` or ``file.py:argument``) points to."""
  path, _, argument = path.partition(':')
  spec = importlib.util.spec_from_file_location('_loaded_config', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(*([argument] if argument else []))


def _unknown_override(name: str, config, argv) -> str | None:
  """Which ``--<name>.path=value`` of ``argv`` names no field, and why."""
  for arg in argv:
    match = re.match(rf'--?(?:no)?{re.escape(name)}\.([^=]+)', arg)
    if not match:
      continue
    node, walked = config, [name]
    for part in match[1].split('.'):
      if isinstance(node, ml_collections.ConfigDict) and part in node:
        node = node[part]
        walked.append(part)
        continue
      where = '.'.join(walked)
      if not isinstance(node, ml_collections.ConfigDict):
        return f'--{name}.{match[1]}: {where}={node!r} has no fields'
      fields = sorted(node.keys())
      close = difflib.get_close_matches(part, fields, n=1)
      hint = f' (did you mean {where}.{close[0]}?)' if close else ''
      return (f'--{name}.{match[1]}: {where} has no field {part!r}{hint};'
              f' fields: {", ".join(fields)}')
  return None


def _config_flag_names(flag_values) -> list[str]:
  return [name for name in flag_values if isinstance(
      flag_values[name].parser, config_flags_lib.ConfigFileFlagParser)]


def _given_config(name: str, argv) -> str | None:
  """The value of ``--<name>=...`` (or ``--<name> ...``) in ``argv``."""
  for i, arg in enumerate(argv):
    if arg in (f'--{name}', f'-{name}') and i + 1 < len(argv):
      return argv[i + 1]
    if arg.startswith((f'--{name}=', f'-{name}=')):
      return arg.split('=', 1)[1]
  return None


def _reason(error: Exception) -> str:
  """The last line of a (multi-line) message: where ml_collections and
  absl put the cause."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  return lines[-1] if lines else type(error).__name__


def _override_problem(name: str, path: str | None, argv) -> str | None:
  """Why an override in ``argv`` of the config at ``path`` cannot apply."""
  try:
    config = _config_module(path) if path else None
  except Exception:  # pylint: disable=broad-except
    return None  # Reported as a config that does not load.
  return config is not None and _unknown_override(name, config, argv) or None


def define_config(name: str, default: str | None, help_string: str, *,
                  flag_values=flags.FLAGS,
                  argv=None) -> flags.FlagHolder:
  """``config_flags.DEFINE_config_file``, failing in one line.

  Without --<name> on the command line, ml_collections loads ``default``
  and defines its ``--<name>.field`` overrides here, when the job's module
  is imported: an override of a field the config lacks raises at once.

  Args:
    name: the flag's name.
    default: the default config file.
    help_string: the flag's help.
    flag_values: where to define it.
    argv: the command line (default: sys.argv).
  """
  try:
    return config_flags.DEFINE_config_file(
        name, default, help_string, flag_values=flag_values, sys_argv=argv)
  except Exception as e:  # pylint: disable=broad-except
    fail(_override_problem(name, default, argv or sys.argv)
         or f'--{name}: {type(e).__name__}: {_reason(e)}')


def parse_flags(argv, flag_values=flags.FLAGS):
  """Parses ``argv`` into ``flag_values``; bad flags fail in one line."""
  try:
    rest = flag_values(argv)
  except flags.Error as e:
    required = re.search(r'Flag (--\S+) must have a value other than None',
                         str(e))
    first = str(e).splitlines()[0].rstrip(': ') if str(e).strip() else ''
    if required:
      fail(f'{required[1]} is required')
    # A config file's get_config() that raised: ml_collections appends the
    # traceback, whose last line is the error.
    fail(f'{first} ({_reason(e)})' if 'Traceback' in str(e) else first
         or type(e).__name__)
  except Exception as e:  # pylint: disable=broad-except
    # config_flags lets the errors of a config file's code, and of
    # overrides it cannot apply, through unwrapped.
    problem = f'{type(e).__name__}: {_reason(e)}'
    for name in _config_flag_names(flag_values):
      path = _given_config(name, argv)
      fail(_override_problem(name, path, argv)
           or f'--{name}={path}: cannot load the config ({problem})'
           if path else problem)
    fail(problem)
  for name in _config_flag_names(flag_values):
    flag = flag_values[name]
    value = flag.value
    if isinstance(value, ml_collections.ConfigDict) or (
        value is None and not flag.present and flag.default is None):
      continue
    if value is None:
      problem = 'its get_config() returned None'
    else:
      try:
        value.keys()  # A config that failed to load raises its error here.
        problem = f'{type(value).__name__}, not a ConfigDict'
      except Exception as e:  # pylint: disable=broad-except
        problem = _reason(e)
    fail(f'--{name}={config_flags.get_config_filename(flag)}: cannot load'
         f' the config ({problem})')
  return rest


def _hard_exit(status: int) -> NoReturn:
  """Exits at once: JAX may still be compiling in other threads, and
  tearing the interpreter down under them can crash."""
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def run(main: Callable, *, errors: tuple[type[Exception], ...] = (),
        interrupted: str = '') -> None:
  """Runs ``main`` under absl with the conventions of the module docstring.

  Args:
    main: the job's main(argv); its argv holds only the program name.
    errors: exception types that report a problem with the job's input;
      each stops the job with ``error: <message>``. Config, folder and
      operating-system errors are always among them.
    interrupted: printed after ``interrupted`` on Ctrl-C, e.g. how to
      resume.
  """
  known = (validation.ConfigError, files.FolderError, *errors)

  def exit_at_once(signum, frame):
    # Exits from the handler rather than raising KeyboardInterrupt, which
    # Python drops where the handler runs inside a garbage-collector
    # callback (JAX has one), as it sometimes does while JAX compiles. Every
    # job writes its files atomically, so stopping anywhere loses nothing
    # finished.
    del signum, frame
    print(f'\ninterrupted{interrupted}', file=sys.stderr)
    _hard_exit(INTERRUPTED)

  if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
    signal.signal(signal.SIGINT, exit_at_once)

  def wrapped(argv):
    if len(argv) > 1:
      fail(f'unexpected arguments {" ".join(argv[1:])} (flags are'
           ' --name=value)')
    if not flags.FLAGS['verbosity'].present:
      logging.set_verbosity(logging.WARNING)
    try:
      return main(argv)
    except known as e:
      fail(str(e))
    except OSError as e:
      fail(f'{e.filename}: {e.strerror}' if e.filename and e.strerror
           else str(e))
    except KeyboardInterrupt:
      print(f'interrupted{interrupted}', file=sys.stderr)
      sys.exit(INTERRUPTED)

  try:
    app.run(wrapped, flags_parser=parse_flags)
  except SystemExit as e:
    if e.code == INTERRUPTED:
      _hard_exit(INTERRUPTED)
    raise
  except KeyboardInterrupt:  # While absl starts.
    print('interrupted', file=sys.stderr)
    _hard_exit(INTERRUPTED)


@contextlib.contextmanager
def on_ctrl_c(request: Callable[[], bool], *, message: str = 'stopping'):
  """Within the block, Ctrl-C calls ``request()`` instead of interrupting.

  ``request`` asks the running loop to stop cleanly (e.g. after the current
  frame) and returns True, and ``message`` is printed; or it returns False
  when there is nothing to save yet (e.g. while compiling), and Ctrl-C does
  what it did before the block (under ``run``: exit at once). So does a
  second Ctrl-C. Outside the main thread, or where Ctrl-C is ignored (a job
  started in the background), nothing changes.
  """
  try:
    previous = signal.getsignal(signal.SIGINT)
  except ValueError:  # Not the main thread.
    previous = None
  if previous in (None, signal.SIG_IGN):
    yield
    return
  requested = False

  def handler(signum, frame):
    nonlocal requested
    if requested or not request():
      if callable(previous):
        previous(signum, frame)
      raise KeyboardInterrupt
    requested = True
    print(f'\n{message} (Ctrl-C again to quit at once)', file=sys.stderr)

  signal.signal(signal.SIGINT, handler)
  try:
    yield
  finally:
    signal.signal(signal.SIGINT, previous)

"""Every entry of a benchmark in a process of its own, timed in turns.

Each entry (say ``ours/default``) needs a process of its own: XLA flags
take effect only before JAX starts, and entries must not share caches or
threads. The benchmark main is started again as a worker,

  python -m <main> --worker=<impl>/<name> --worker_config=<config.json>
      --worker_output=<result.json>

which prepares the entry (compiles it and checks its results), writes its
result to ``--worker_output`` and serves timing requests: one metric name
per line on its stdin, one JSON line of samples (seconds) in reply on its
stdout. Once every worker is ready, ``measure_all`` asks each for one
chunk of every metric per round (``timing.in_turns``).
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Callable, Iterable, Mapping, TextIO

import ml_collections

from experiments.benchmark_lib import timing
from siamfc_jax import records

# prepare(config, name) -> (result, {metric: timer}) for one implementation.
Prepare = Callable[[ml_collections.ConfigDict, str],
                   tuple[dict, dict[str, timing.Timer]]]


class WorkerFailed(RuntimeError):
  pass


def serve(prepare: Mapping[str, Prepare], config: ml_collections.ConfigDict,
          key: str, output: str, requests: Iterable[str],
          replies: TextIO) -> None:
  """The worker: prepares the entry ``key``, then times on request.

  Writes the result to ``output``, replies with the names of its timers
  (one JSON line), then for each metric name read from ``requests``
  replies with the samples of one chunk, until ``requests`` ends.

  Args:
    prepare: for each implementation (the part of ``key`` before '/'),
      what prepares one of its entries by name.
    config: the run's config.
    key: '<impl>/<name>'.
    output: where the result goes (JSON).
    requests: lines of metric names.
    replies: where the JSON lines go.
  """
  impl, name = key.split('/')
  result, timers = prepare[impl](config, name)
  records.write_json(output, result)

  def reply(value):
    replies.write(json.dumps(value) + '\n')
    replies.flush()

  reply(list(timers))
  for request in requests:
    reply(timers[request.strip()]())


def serve_stdio(prepare: Mapping[str, Prepare], key: str, config_path: str,
                output: str) -> None:
  """``serve`` on this process's stdin and stdout (the worker's main).

  Replies go to the real stdout; anything else printed goes to stderr.
  """
  config = ml_collections.ConfigDict(
      json.loads(pathlib.Path(config_path).read_text()))
  replies = os.fdopen(os.dup(sys.stdout.fileno()), 'w')
  os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
  serve(prepare, config, key, output, sys.stdin, replies)


class EntryProcess:
  """A worker process for one entry, driven by lines on its stdin/stdout.

  Args:
    module: the benchmark main to start as a worker (``python -m``).
    impl, name: the entry, ``config[impl][name]``.
    env: the worker's environment.
    config_path: the run's config as JSON.
    tmp: where its result and log go.
  """

  def __init__(self, module: str, impl: str, name: str,
               env: Mapping[str, str], config_path: pathlib.Path,
               tmp: pathlib.Path):
    self.impl, self.name = impl, name
    self.key = f'{impl}/{name}'
    self.output = tmp / f'{impl}_{name}.json'
    self._log = open(tmp / f'{impl}_{name}.log', 'w+')
    start = time.perf_counter()
    # A full executable path and close_fds=False let subprocess use
    # posix_spawn rather than fork (this process may run JAX threads).
    self._process = subprocess.Popen(
        [sys.executable, '-m', module, f'--worker={self.key}',
         f'--worker_config={config_path}', f'--worker_output={self.output}'],
        env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self._log, text=True, close_fds=False)
    self.metrics = self._reply()
    self.startup_s = round(time.perf_counter() - start, 1)

  def _reply(self):
    line = self._process.stdout.readline()
    if not line:
      self._process.wait()
      self._log.seek(0)
      last_lines = self._log.read().strip().splitlines()[-5:]
      raise WorkerFailed('\n'.join(
          [*last_lines, f'exit status {self._process.returncode}']))
    return json.loads(line)

  def time(self, metric: str) -> list[float]:
    try:
      self._process.stdin.write(metric + '\n')
      self._process.stdin.flush()
    except BrokenPipeError:  # It has exited: _reply reads its log.
      pass
    return self._reply()

  def close(self) -> None:
    try:
      self._process.stdin.close()
    except BrokenPipeError:  # It has failed already.
      pass
    self._process.wait()
    self._log.close()


def _timing_order(workers: list[EntryProcess]):
  """(worker, metric) pairs, metric by metric, so that the entries timed
  for one metric run one right after another."""
  metrics = list(dict.fromkeys(m for w in workers for m in w.metrics))
  return [(w, m) for m in metrics for w in workers if m in w.metrics]


def measure_all(
    config: ml_collections.ConfigDict, module: str,
    implementations: Iterable[str],
    environment: Callable[[str, ml_collections.ConfigDict], dict[str, str]],
    summarise: Callable[[dict[str, list[float]]], dict[str, float]],
) -> dict:
  """Measures every entry in a process of its own; failures are recorded.

  Every worker is started and prepared first; then each of
  ``config.rounds`` rounds times one chunk of every metric of every entry,
  metric by metric (in reverse order every other round), so that the
  entries compared on one metric see the machine in nearly the same state.

  Args:
    config: the run's config; ``config[impl]`` holds the entries.
    module: the benchmark main, started as each worker.
    implementations: the parts of the config holding entries.
    environment: (impl, entry) -> the worker's environment.
    summarise: {metric: samples} -> {metric: milliseconds}.

  Returns:
    {impl: {name: result}}, a result being what the worker's preparation
    gave plus 'ms': ``summarise`` of all the samples, 'round_ms': {metric:
    [``summarise`` of each round]}, 'samples' (how many) and 'startup_s'
    (the worker's import, compilation and checks), or {'error': text}.
  """
  results = {impl: {} for impl in implementations}
  workers = []
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    config_path = tmp / 'config.json'
    config_path.write_text(config.to_json())
    try:
      for impl in results:
        for name, entry in config[impl].items():
          try:
            worker = EntryProcess(module, impl, name,
                                  environment(impl, entry), config_path, tmp)
          except WorkerFailed as error:
            results[impl][name] = {'error': str(error)}
            print(f'{impl}/{name}: failed: '
                  + ', '.join(str(error).splitlines()[-2:]))
            continue
          workers.append(worker)
          print(f'{worker.key}: ready in {worker.startup_s:.0f} s')
      # rounds[key][r][metric]: the samples of round r.
      rounds = {w.key: [{} for _ in range(config.rounds)] for w in workers}
      for round_index, (worker, metric) in timing.in_turns(
          _timing_order(workers), config.rounds):
        if worker.key in rounds:
          try:
            rounds[worker.key][round_index][metric] = worker.time(metric)
          except WorkerFailed as error:
            del rounds[worker.key]
            results[worker.impl][worker.name] = {'error': str(error)}
    finally:
      for worker in workers:
        worker.close()
    for worker in workers:
      if worker.key in rounds:
        result = json.loads(worker.output.read_text())
        samples = {m: sum((r[m] for r in rounds[worker.key]), [])
                   for m in worker.metrics}
        per_round = [summarise(r) for r in rounds[worker.key]]
        result.update(
            ms=summarise(samples),
            round_ms={m: [r[m] for r in per_round] for m in worker.metrics},
            samples={m: len(v) for m, v in samples.items()},
            startup_s=worker.startup_s)
        results[worker.impl][worker.name] = result
  return results

"""Tracking and training speed, ours against a PyTorch reference.

  python -m experiments.benchmark_speed
  python -m experiments.benchmark_speed --config.frames=50 \
      --config.output=runs/speed.json

The reference (experiments/benchmark_lib/torch_reference.py) is the same
network, tracking step and train step written with torch, with our
weights copied in. Each entry of ``config.ours`` and ``config.torch`` runs
in a process of its own (experiments/benchmark_lib/workers.py); once all
are compiled, they are timed in turns, chunk by chunk over several rounds,
so that all entries see the machine in the same state. The run ends with
a table, the speed-ups (per-round ratios, benchmark_lib/timing.py) and a
JSON record (see siamfc_jax/configs/benchmark_speed.py).
"""

import functools
import os
import time
from typing import Callable

import jax
import ml_collections
import numpy as np
import skimage.transform
import torch
from absl import app
from absl import flags
from ml_collections import config_flags

from experiments.benchmark_lib import timing
from experiments.benchmark_lib import torch_reference
from experiments.benchmark_lib import workers
from siamfc_jax import weights
from siamfc_jax import configs
from siamfc_jax import demo
from siamfc_jax import model as model_lib
from siamfc_jax import records
from siamfc_jax import tracker
from siamfc_jax import train_lib
from siamfc_jax import xla
from siamfc_jax.configs import base

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(configs.DIRECTORY / 'benchmark_speed.py'),
    'Benchmark config file.')
_WORKER = flags.DEFINE_string(
    'worker', None, 'Internal: serve one entry, e.g. ours/default.')
_WORKER_CONFIG = flags.DEFINE_string(
    'worker_config', None, "Internal: the run's config as JSON.")
_WORKER_OUTPUT = flags.DEFINE_string(
    'worker_output', None, 'Internal: where the worker writes its checks.')

IMPLEMENTATIONS = ('ours', 'torch')


# Inputs and configs.


def benchmark_frames(config: ml_collections.ConfigDict):
  """The demo sequence resized to ``config.frame_shape``, and its first box.

  Returns:
    (N, H, W, 3) uint8 frames (one init frame, then the warm-up and the
    timed frames) and the 1-based (x, y, w, h) target in the first.
  """
  count = 1 + config.warmup_frames + config.frames
  sequence = demo.demo_sequence(count)
  height, width = config.frame_shape
  frames = np.stack([
      skimage.transform.resize(frame, (height, width), preserve_range=True,
                               anti_aliasing=False).round().astype(np.uint8)
      for frame in sequence])
  scale = np.array([width / demo.FRAME_SHAPE[1], height / demo.FRAME_SHAPE[0]])
  x, y, w, h = sequence.groundtruth[0]
  corner = (np.array([x, y]) - 1) * scale + 1
  return frames, np.concatenate([corner, np.array([w, h]) * scale])


def train_batch(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
  """Random uint8 exemplar and search crops, as the pair loader gives."""
  rng = np.random.default_rng(config.track.seed)
  sides = {'exemplar': config.track.exemplar_size,
           'search': config.track.instance_size}
  return {k: rng.integers(0, 256, (config.train_batch_size, s, s, 3),
                          dtype=np.uint8) for k, s in sides.items()}


def model_config(config: ml_collections.ConfigDict,
                 entry: ml_collections.ConfigDict):
  """``config.track.model`` with every model field the entry sets (dtype,
  split_groups, ops, ...)."""
  model = ml_collections.ConfigDict(config.track.model.to_dict())
  for field in model:
    if field in entry:
      model[field] = entry[field]
  return model


def track_config(config: ml_collections.ConfigDict,
                 entry: ml_collections.ConfigDict, num_scales: int):
  """``config.track`` for the entry with ``num_scales`` (paper values)."""
  track = ml_collections.ConfigDict(config.track.to_dict())
  track.update(base.tracker_config(num_scales))
  track.model = model_config(config, entry)
  return track


def train_config(config: ml_collections.ConfigDict,
                 entry: ml_collections.ConfigDict):
  """The paper's train config with the entry's network."""
  train = base.train_config()
  train.model = model_config(config, entry)
  train.batch_size = config.train_batch_size
  return train


# Preparing one entry (in a worker process): compile, check, then time on
# request.


class FrameByFrame:
  """Our functional tracker.init/step, one host frame at a time.

  The same calls as tracker.Tracker, and the API of TorchTracker.
  """

  def __init__(self, variables, settings: tracker.Settings):
    self.variables = variables
    self.settings = settings
    self._state = None

  def init(self, image: np.ndarray, box) -> None:
    self._state = jax.block_until_ready(tracker.init(
        self.variables, image, np.asarray(box, np.float32),
        settings=self.settings))

  def update(self, image: np.ndarray) -> np.ndarray:
    self._state, box, _ = tracker.step(
        self.variables, self._state, jax.device_put(image),
        settings=self.settings)
    return np.asarray(jax.device_get(box), np.float64)


def _tracking_timers(result: dict, timers: dict[str, timing.Timer],
                     num_scales: int, trk, frames: np.ndarray, box: np.ndarray,
                     config: ml_collections.ConfigDict) -> None:
  """Tracks once (compiling; keeps the boxes), adds init and track{S}.

  Both go through the one host loop, tracker.run: each sample is one
  ``init`` or ``update`` call, device work included, frame reading not.
  """
  first = tracker.run(trk, frames, box)
  result['first_call_s'][f'init{num_scales}'] = float(first.seconds[0])
  result['first_call_s'][f'track{num_scales}'] = float(first.seconds[1])
  result['boxes'][str(num_scales)] = first.boxes[
      :config.check_frames].round(4).tolist()

  def init():
    return timing.repeat(lambda: trk.init(frames[0], box),
                         config.init_repeats)

  def track():
    # Row 0 is the init.
    return list(tracker.run(trk, frames, box).seconds[
        1 + config.warmup_frames:])

  timers.setdefault('init', init)
  timers[f'track{num_scales}'] = track


def _batched_timer(result: dict, num_scales: int, variables,
                   settings: tracker.Settings, frames: np.ndarray,
                   box: np.ndarray, count: int,
                   config: ml_collections.ConfigDict) -> timing.Timer:
  """tracker.track_batch on ``count`` copies of the sequence.

  Its samples are the step times per sequence; also records the largest
  difference of the batched boxes from the frame-by-frame ones.
  """

  def steps():
    tracked = tracker.track_batch(variables, settings, [frames] * count,
                                  [box] * count)[0]
    # Row 0 is the init; each step is shared among the sequences.
    return tracked, list(tracked.seconds[1:])

  first, seconds = steps()
  result['first_call_s'][f'batch{num_scales}'] = float(seconds[0]) * count
  check = min(config.check_frames, len(first.boxes))
  result.setdefault('batch_box_diff', {})[str(num_scales)] = round(float(
      np.abs(first.boxes[:check]
             - np.asarray(result['boxes'][str(num_scales)][:check])).max()),
      4)
  return lambda: steps()[1][config.warmup_frames:]


def _train_timer(result: dict, step: Callable[[], float],
                 config: ml_collections.ConfigDict) -> timing.Timer:
  """Runs the warm-up steps (at least the compiling one) of ``step()``.

  ``step()`` returns the loss as a Python float.
  """
  start = time.perf_counter()
  result['train_first_loss'] = step()
  result['first_call_s']['train'] = time.perf_counter() - start
  for _ in range(config.train_warmup_steps - 1):
    step()
  return lambda: timing.repeat(step, config.train_steps)


def prepare_ours(config: ml_collections.ConfigDict,
                 name: str) -> tuple[dict, dict[str, timing.Timer]]:
  """Compiles and checks the entry ``config.ours[name]`` in this process.

  Returns:
    The result {'device', 'xla_flags', 'first_call_s' (compilation
    included), 'boxes': {scales: the first check_frames boxes},
    'train_first_loss' (the same for every entry of one dtype),
    'batch_box_diff': {scales: largest difference of batched boxes from
    frame-by-frame ones}} and the timers: ``init``, ``track{S}`` (per
    frame), ``scan{S}`` (one tracker.track_frames call over all frames),
    ``batch{S}`` (per sequence-frame when ``entry.sequences`` sequences are
    tracked together by tracker.track_batch) and ``train``.
  """
  entry = config.ours[name]
  frames, box = benchmark_frames(config)
  result = dict(device=f'jax {jax.devices()[0].device_kind}',
                xla_flags=os.environ.get('XLA_FLAGS', ''),
                first_call_s={}, boxes={})
  timers = {}
  for num_scales in entry.scales:
    track = track_config(config, entry, num_scales)
    variables = weights.load_for_tracking(track)
    settings = tracker.Settings.from_config(track)
    _tracking_timers(result, timers, num_scales,
                     FrameByFrame(variables, settings), frames, box, config)
    if entry.scan:
      on_device = jax.device_put(frames)

      def scan(variables=variables, settings=settings,
               on_device=on_device):
        jax.block_until_ready(tracker.track_frames(
            variables, on_device, box, settings=settings))

      def scan_chunk(scan=scan):
        return timing.repeat(scan, config.scan_repeats)

      result['first_call_s'][f'scan{num_scales}'] = timing.seconds(scan)
      timers[f'scan{num_scales}'] = scan_chunk
    if entry.sequences > 1:
      timers[f'batch{num_scales}'] = _batched_timer(
          result, num_scales, variables, settings, frames, box,
          entry.sequences, config)
  if entry.train:
    train = train_config(config, entry)
    tx = train_lib.create_optimizer(train, train_lib.steps_per_epoch(train))
    state = jax.jit(functools.partial(
        train_lib.create_train_state, config=train, tx=tx))(
            jax.random.key(train.seed))
    step_fn = jax.jit(functools.partial(train_lib.train_step, config=train,
                                        tx=tx), donate_argnums=0)
    batch = jax.device_put(train_batch(config))

    def step():
      nonlocal state
      state, metrics = step_fn(state, batch)
      return float(metrics['loss'])

    timers['train'] = _train_timer(result, step, config)
  return result, timers


def prepare_torch(config: ml_collections.ConfigDict,
                  name: str) -> tuple[dict, dict[str, timing.Timer]]:
  """Compiles and checks the entry ``config.torch[name]`` in this process.

  Returns:
    What ``prepare_ours`` returns, without ``scan{S}`` and ``batch{S}``.
  """
  entry = config.torch[name]
  device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
  frames, box = benchmark_frames(config)
  result = dict(device=f'torch {device.type}, {torch.get_num_threads()}'
                ' threads', first_call_s={}, boxes={})
  timers = {}

  def network(model, variables):
    return torch_reference.TorchSiamFC(model).load_variables(
        variables).to(device)

  for num_scales in entry.scales:
    track = track_config(config, entry, num_scales)
    runner = torch_reference.TorchRunner(
        network(track.model, weights.load_for_tracking(track)).eval(),
        entry, device)
    reference = torch_reference.TorchTracker(
        runner, entry, tracker.Settings.from_config(track))
    _tracking_timers(result, timers, num_scales, reference, frames, box,
                     config)
  if entry.train:
    train = train_config(config, entry)
    # The initial network of train_lib.create_train_state.
    variables = model_lib.init_variables(
        model_lib.create_model(train.model), jax.random.key(train.seed),
        exemplar_size=train.exemplar_size, search_size=train.instance_size)
    runner = torch_reference.TorchRunner(
        network(train.model, variables).train(), entry, device)
    step_fn = torch_reference.torch_train_step(runner, train)
    batch = {k: torch.from_numpy(v).to(device)
             for k, v in train_batch(config).items()}

    def step():
      return float(step_fn(batch['exemplar'], batch['search']))

    timers['train'] = _train_timer(result, step, config)
  return result, timers


def _worker_environment(impl: str,
                        entry: ml_collections.ConfigDict) -> dict[str, str]:
  """This process's environment, with XLA_FLAGS of ours' ``entry``."""
  env = dict(os.environ)
  if impl == 'ours':
    env['XLA_FLAGS'] = entry.xla_flags
  return env


def _entry_ms(config: ml_collections.ConfigDict,
              samples: dict[str, list[float]]) -> dict[str, float]:
  """Median milliseconds per metric; ``scan{S}`` per frame, less the init."""
  ms = {metric: timing.median_ms(seconds)
        for metric, seconds in samples.items()}
  tracked_frames = config.warmup_frames + config.frames
  for metric in ms:
    if metric.startswith('scan'):
      ms[metric] = round((ms[metric] - ms['init']) / tracked_frames, 3)
  return ms


def fastest_reference(config: ml_collections.ConfigDict,
                      results: dict) -> dict:
  """{dtype: {metric: {'entry', 'ms'}}}: the fastest torch entry for each."""
  reference = {}
  for name, result in results['torch'].items():
    best = reference.setdefault(config.torch[name].dtype, {})
    for metric, ms in result.get('ms', {}).items():
      if metric not in best or ms < best[metric]['ms']:
        best[metric] = dict(entry=f'torch/{name}', ms=ms)
  return reference


def _tracking_metric(metric: str) -> str:
  """The reference metric for ours: track{S} for scan{S} and batch{S}."""
  return metric.replace('scan', 'track').replace('batch', 'track')


def speedups(config: ml_collections.ConfigDict, results: dict,
             reference: dict) -> dict:
  """{ours entry: {metric: {'median', 'low', 'high'}}} (> 1: ours faster).

  The reference's time over ours, round by round (entries timed next to
  each other), then the median, lowest and highest over the rounds.
  ``scan{S}`` and ``batch{S}`` are compared with the reference's
  ``track{S}``.
  """
  ratios = {}
  for name, result in results['ours'].items():
    best = reference.get(config.ours[name].dtype, {})
    for metric, ours in result.get('round_ms', {}).items():
      ref = best.get(_tracking_metric(metric))
      if ref:
        impl, ref_name = ref['entry'].split('/')
        theirs = results[impl][ref_name]['round_ms'][_tracking_metric(metric)]
        ratios.setdefault(name, {})[metric] = timing.paired_ratios(
            theirs, ours)
  return ratios


def box_differences(config: ml_collections.ConfigDict,
                    results: dict) -> dict:
  """{impl/name: {scales: largest |box - box of config.box_reference|}}."""
  impl, name = config.box_reference.split('/')
  base_boxes = results[impl].get(name, {}).get('boxes', {})
  differences = {}
  for impl in IMPLEMENTATIONS:
    for name, result in results[impl].items():
      for scales, tracked in result.get('boxes', {}).items():
        if scales in base_boxes:
          count = min(len(tracked), len(base_boxes[scales]))
          difference = np.abs(np.subtract(tracked[:count],
                                          base_boxes[scales][:count]))
          differences.setdefault(f'{impl}/{name}', {})[scales] = round(
              float(difference.max()), 4)
  return differences


def run(config: ml_collections.ConfigDict) -> dict:
  """Measures everything, writes the JSON record to config.output.

  Returns:
    The record: date, machine, versions, git revision, config, every
    entry's numbers ('results'), the reference, the speed-ups and the box
    differences.
  """
  results = workers.measure_all(
      config, 'experiments.benchmark_speed', IMPLEMENTATIONS,
      _worker_environment, functools.partial(_entry_ms, config))
  reference = fastest_reference(config, results)
  record = records.benchmark_record(
      'speed', config, ('jax', 'jaxlib', 'flax', 'optax', 'torch', 'numpy'),
      machine_info=dict(records.machine(), cuda=torch.cuda.get_device_name()
                        if torch.cuda.is_available() else None),
      results=results, reference=reference,
      speedups=speedups(config, results, reference),
      box_max_abs_diff=box_differences(config, results))
  records.write_json(config.output, record)
  return record


def summary_lines(record: dict) -> list[str]:
  """The table of milliseconds, the speed-ups and the box differences."""
  measured = {m for impl in IMPLEMENTATIONS
              for r in record['results'][impl].values()
              for m in r.get('ms', {})}
  scales = sorted({int(m[5:]) for m in measured if m.startswith('track')})
  order = ['init', *[f'{kind}{s}' for s in scales
                      for kind in ('track', 'scan', 'batch')], 'train']
  metrics = [m for m in order if m in measured]
  width = max(len(f'{i}/{n}') for i in IMPLEMENTATIONS
              for n in record['results'][i]) + 2
  lines = [f'{"ms":<{width}}' + ''.join(f'{m:>9}' for m in metrics)
           + '  box diff px']
  for impl in IMPLEMENTATIONS:
    for name, result in record['results'][impl].items():
      key = f'{impl}/{name}'
      if 'error' in result:
        lines.append(f'{key:<{width}}failed')
        continue
      cells = ''.join(f'{result["ms"][m]:>9.1f}' if m in result['ms']
                      else f'{"-":>9}' for m in metrics)
      diffs = record['box_max_abs_diff'].get(key, {})
      lines.append(f'{key:<{width}}{cells}  ' + ' '.join(
          f'{d:.3f}' for d in diffs.values()))
  lines.append('speed-up over the fastest torch entry of the same dtype'
               ' (> 1: ours faster), median of the rounds (lowest-highest):')
  for name, ratios in record['speedups'].items():
    dtype = record['config']['ours'][name]['dtype']
    reference = record['reference'][dtype]
    lines.append(f'  ours/{name} ({dtype}): ' + ', '.join(
        f'{m} x{r["median"]:.2f} ({r["low"]:.2f}-{r["high"]:.2f},'
        f' {reference[_tracking_metric(m)]["entry"]})'
        for m, r in ratios.items()))
  for name, result in record['results']['ours'].items():
    for scales, diff in result.get('batch_box_diff', {}).items():
      lines.append(f'ours/{name}: boxes of batch{scales} differ from'
                   f' track{scales} by up to {diff:.3f} px')
  return lines


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not _WORKER.value:
    # A worker runs with exactly its entry's XLA_FLAGS.
    xla.use_fast_cpu_flags()
  if _WORKER.value:
    workers.serve_stdio(dict(ours=prepare_ours, torch=prepare_torch),
                        _WORKER.value, _WORKER_CONFIG.value,
                        _WORKER_OUTPUT.value)
    return
  record = run(_CONFIG.value)
  print('\n'.join(summary_lines(record)))
  print(f'record: {_CONFIG.value.output}')


if __name__ == '__main__':
  app.run(main)

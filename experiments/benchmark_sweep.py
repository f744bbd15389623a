"""Times a hyper-parameter sweep against separate runs of its settings.

  python -m experiments.benchmark_sweep \
      --config.sweep.root=../shared/data/sequences
  python -m experiments.benchmark_sweep --config.sweep.max_frames=50 \
      --config.sweep.grid.scale_lr="(0.59,)"

Both track the same sequences with every setting of ``config.sweep.grid``
(see siamfc_jax/configs/benchmark_sweep.py): the sweep in one batched step
per frame (``siamfc_jax.sweep.track``), the separate runs setting by
setting as ``experiments.evaluate`` does. Prints the times, their ratio and
the largest box difference, then the path of the JSON record.
"""

import pathlib
import tempfile
import time

import ml_collections
import numpy as np
from absl import flags

from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import files
from siamfc_jax import records
from siamfc_jax import sequences
from siamfc_jax import sweep
from siamfc_jax import validation
from siamfc_jax import weights
from siamfc_jax import xla
from siamfc_jax.configs import evaluate as evaluate_config
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import otb
from siamfc_jax.evaluation import runner



def separate_config(config: ml_collections.ConfigDict, point: dict,
                    results_dir) -> ml_collections.ConfigDict:
  """The evaluation config of one setting: SiamFC alone, ``point``'s values."""
  evaluation = evaluate_config.get_config()
  evaluation.update(dict(root=config.root, sequences=config.sequences,
                         max_frames=config.max_frames, trackers=('siamfc',),
                         results_dir=str(results_dir), progress=False))
  evaluation.track = config.track.copy_and_resolve_references()
  evaluation.track.update(point)
  return evaluation


def _steady_ms(results_dir, tracker: str, entries, scale: float) -> float:
  """Median milliseconds of a frame, times ``scale``: over the frames after
  each sequence's first two (init and step compile for each frame size)."""
  seconds = [base.read_seconds(otb.BENCHMARK.result_paths(
      results_dir, tracker, entry.name)[1])[2:] for entry in entries]
  return 1e3 * scale * float(np.median(np.concatenate(seconds)))


def measure(config: ml_collections.ConfigDict) -> dict:
  """Tracks ``config`` (a sweep config) as a sweep, then setting by setting.

  Returns:
    The numbers printed and recorded: seconds, steady milliseconds per frame
    for all settings, their ratios and the largest box difference (px).
  """
  config = config.copy_and_resolve_references()
  entries = otb.load_folders(config.root, names=tuple(config.sequences),
                             max_frames=config.max_frames)
  points = sweep.points(config)
  names = [sweep.setting_name(point) for point in points]
  with tempfile.TemporaryDirectory() as work:
    config.results_dir = str(pathlib.Path(work) / 'sweep')
    start = time.perf_counter()
    sweep.track(config, entries)
    sweep_seconds = time.perf_counter() - start
    # The sweep writes each setting's share of a step: all K take K times it.
    sweep_ms = _steady_ms(config.results_dir, names[0], entries, len(points))
    separate_seconds, separate_ms, difference = 0.0, 0.0, 0.0
    for point, name in zip(points, names):
      evaluation = separate_config(config, point, pathlib.Path(work) / name)
      start = time.perf_counter()
      runner.run_tracker(otb.BENCHMARK, 'siamfc', entries, evaluation)
      separate_seconds += time.perf_counter() - start
      separate_ms += _steady_ms(evaluation.results_dir, 'siamfc', entries, 1)
      for entry in entries:
        paths = (otb.BENCHMARK.result_paths(config.results_dir, name,
                                            entry.name)[0],
                 otb.BENCHMARK.result_paths(evaluation.results_dir, 'siamfc',
                                            entry.name)[0])
        swept, separate = map(sequences.read_boxes, paths)
        difference = max(difference,
                         float(np.max(np.abs(swept - separate))))
  return dict(
      settings=len(points), sequences=[e.name for e in entries],
      frames=sum(e.num_frames for e in entries),
      sweep_seconds=round(sweep_seconds, 2),
      separate_seconds=round(separate_seconds, 2),
      speedup=round(separate_seconds / sweep_seconds, 2),
      sweep_steady_ms=round(sweep_ms, 1),
      separate_steady_ms=round(separate_ms, 1),
      steady_speedup=round(separate_ms / sweep_ms, 2),
      max_box_difference_px=difference)


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  config = flags.FLAGS.config
  validation.check_sweep(config.sweep, where='config.sweep')
  files.check_folder(pathlib.Path(config.output).parent,
                     what='config.output\'s folder')
  numbers = measure(config.sweep)
  print(f'{numbers["settings"]} settings, {len(numbers["sequences"])}'
        f' sequences, {numbers["frames"]} frames in all:\n'
        f'  sweep           {numbers["sweep_seconds"]:8.1f} s'
        f'  {numbers["sweep_steady_ms"]:8.1f} ms per frame (all settings)\n'
        f'  separate runs   {numbers["separate_seconds"]:8.1f} s'
        f'  {numbers["separate_steady_ms"]:8.1f} ms per frame (all settings)\n'
        f'  ratio           {numbers["speedup"]:8.2f}x'
        f'  {numbers["steady_speedup"]:8.2f}x steady\n'
        f'  largest box difference: {numbers["max_box_difference_px"]} px')
  records.write_json(config.output, records.benchmark_record(
      'sweep', config, ('jax', 'jaxlib'), **numbers))
  print(f'record: {config.output}')


def run():
  # --config is defined only when run, so that tests can import this module
  # beside experiments.benchmark_speed, which defines --config too.
  cli.define_config('config', str(configs.DIRECTORY / 'benchmark_sweep.py'),
                    'Benchmark config file.')
  cli.run(main, errors=(sequences.SequenceError, weights.WeightsError))


if __name__ == '__main__':
  run()

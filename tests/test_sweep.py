"""Tests of hyper-parameter sweeps (siamfc_jax/sweep.py, experiments/sweep)."""

import csv
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments import benchmark_sweep
from siamfc_jax import demo
from siamfc_jax import sequences
from siamfc_jax import sweep
from siamfc_jax import tracker
from siamfc_jax import validation
from siamfc_jax import weights
from siamfc_jax.configs import sweep as sweep_config
from siamfc_jax.configs import track_3s
from siamfc_jax.configs import track_reference
from siamfc_jax.evaluation import otb

# Four settings: two values of two fields (the others from the track config).
GRID = dict(window_influence=(0.15, 0.2), scale_lr=(0.45, 0.59))


def _separate_boxes(config, point, frames, box):
  """The boxes of a Tracker with ``point``'s values (no sweep)."""
  config = config.copy_and_resolve_references()
  config.update(point)
  return tracker.Tracker(weights.load_for_tracking(config),
                         config).track(frames, box).boxes


def _sweep_boxes(config, grid_points, frames, box):
  sweeper = tracker.SweepTracker(weights.load_for_tracking(config), config,
                                 grid_points)
  return tracker.run(sweeper, frames, box)


def _points(track_config, grid):
  config = sweep_config.get_config()
  config.track = track_config
  config.grid.update(grid)
  return sweep.points(config)


def test_grid_fields_are_the_swept_ones():
  # ConfigDict sorts its keys; the sweep's order is SWEPT_FIELDS'.
  assert sorted(sweep_config.get_config().grid) == sorted(
      tracker.SWEPT_FIELDS)


def test_points_are_the_grids_product():
  points = _points(track_3s.get_config(), GRID)
  assert len(points) == 4
  assert {(p['window_influence'], p['scale_lr']) for p in points} == {
      (0.15, 0.45), (0.15, 0.59), (0.2, 0.45), (0.2, 0.59)}
  assert all(p['scale_step'] == 1.0375 and p['scale_penalty'] == 0.9745
             for p in points)
  names = [sweep.setting_name(p) for p in points]
  assert len(set(names)) == 4
  assert names[0] == ('scale_step=1.0375_scale_penalty=0.9745_scale_lr=0.45'
                      '_window_influence=0.15')


def test_traced_values_move_as_the_static_settings():
  """``move`` with ``Hyper`` arrays gives the static settings' result."""
  settings = tracker.Settings.from_config(track_3s.get_config()).replace(
      scale_lr=0.45, window_influence=0.2)
  scores = jnp.asarray(np.random.default_rng(0).normal(
      size=(3, 17, 17)).astype(np.float32))
  size = jnp.asarray([40.0, 60.0])
  state = tracker.State(center=jnp.asarray([100.0, 150.0]), size=size,
                        initial_size=size, exemplar=jnp.zeros((1, 6, 6, 8)))
  static, static_best = tracker.move(state, scores, (300, 400, 3), settings)
  values = tracker.Hyper(*map(jnp.asarray, tracker.hyper(settings)))
  traced, traced_best = tracker.move(state, scores, (300, 400, 3), settings,
                                     values)
  assert int(static_best) == int(traced_best)
  np.testing.assert_array_equal(static.center, traced.center)
  np.testing.assert_array_equal(static.size, traced.size)


@pytest.mark.parametrize('config_module', [track_3s, track_reference],
                         ids=['default', 'reference'])
def test_sweep_gives_the_boxes_of_separate_runs(config_module):
  config = config_module.get_config()
  config.checkpoint = ''
  sequence = demo.demo_sequence(8)
  box = sequence.groundtruth[0]
  points = _points(config, GRID)
  result = _sweep_boxes(config, points, sequence, box)
  assert result.boxes.shape == (8, 4, 4)
  assert result.scores.shape == (8, 4)
  assert np.isnan(result.scores[0]).all()
  assert np.isfinite(result.scores[1:]).all()
  for k, point in enumerate(points):
    np.testing.assert_array_equal(
        result.boxes[:, k], _separate_boxes(config, point, sequence, box),
        err_msg=str(point))
  # The settings differ: a sweep of one value each would prove nothing.
  assert len({result.boxes[-1, k].tobytes() for k in range(4)}) > 1


@pytest.mark.shared
def test_sweep_gives_the_boxes_of_separate_runs_on_real_sequences(
    shared_sequences):
  config = track_3s.get_config()
  grid = dict(scale_step=(1.03, 1.05), scale_penalty=(0.96, 0.99))
  points = _points(config, grid)
  for entry in otb.load_folders(shared_sequences,
                                names=('otb_Coke', 'dtb70_Surfing06'),
                                max_frames=6):
    box = entry.groundtruth[0]
    result = _sweep_boxes(config, points, entry.sequence, box)
    for k, point in enumerate(points):
      np.testing.assert_array_equal(
          result.boxes[:, k],
          _separate_boxes(config, point, entry.sequence, box),
          err_msg=f'{entry.name} {point}')


def _write_folder(root, name, sequence):
  folder = root / name
  (folder / 'img').mkdir(parents=True)
  for i, frame in enumerate(sequence, start=1):
    iio.imwrite(folder / 'img' / f'{i:08d}.png', frame)
  sequences.write_boxes(folder / 'groundtruth.txt', sequence.groundtruth)


@pytest.fixture
def sweep_job(tmp_path):
  root = tmp_path / 'sequences'
  _write_folder(root, 'demo', demo.demo_sequence(6))
  _write_folder(root, 'short', demo.demo_sequence(4))
  config = sweep_config.get_config()
  config.root = str(root)
  config.results_dir = str(tmp_path / 'results')
  config.grid.update(GRID)
  config.progress = False
  validation.check_sweep(config)
  return config


def test_sweep_writes_results_table_plot_and_record(sweep_job):
  rows, text = sweep.run(sweep_job)
  results = sweep_job.results_dir
  entries = otb.load_folders(sweep_job.root)
  points = sweep.points(sweep_job)
  assert [sweep.setting_name(p) for p in points] == [r['setting']
                                                      for r in rows]
  for point, row in zip(points, rows):
    name = row['setting']
    for entry in entries:
      boxes_path, _ = otb.BENCHMARK.result_paths(results, name, entry.name)
      np.testing.assert_allclose(
          sequences.read_boxes(boxes_path),
          _separate_boxes(sweep_job.track, point, entry.sequence,
                          entry.groundtruth[0]), atol=0.006)
    expected = otb.BENCHMARK.summarize(results, name, entries, sweep_job)
    assert row['success_auc'] == expected['overall']['success_auc']
  with open(os.path.join(results, sweep.TABLE)) as f:
    table = list(csv.DictReader(f))
  assert len(table) == 4
  assert [float(r['success_auc']) for r in table] == [
      r['success_auc'] for r in rows]
  assert float(table[0]['scale_lr']) == points[0]['scale_lr']
  lines = text.splitlines()
  assert lines[0].startswith('| scale_step |') and len(lines) == 2 + 4 + 3
  png = os.path.join(results, sweep.HEATMAP)
  assert iio.imread(png).ndim == 3
  record = json.loads(open(os.path.join(results, sweep.RECORD)).read())
  assert record['config']['grid']['scale_lr'] == [0.45, 0.59]
  assert record['git_revision']


def test_sweep_resumes_per_sequence(sweep_job, monkeypatch):
  entries = otb.load_folders(sweep_job.root)
  assert sweep.track(sweep_job, entries) == 2
  # One setting's file of one sequence lost: only that sequence is redone.
  name = sweep.setting_name(sweep.points(sweep_job)[1])
  boxes_path, _ = otb.BENCHMARK.result_paths(sweep_job.results_dir, name,
                                             'short')
  boxes_path.unlink()
  tracked = []
  run = sweep.ope.run
  monkeypatch.setattr(sweep.ope, 'run', lambda tracker_, sequence: (
      tracked.append(sequence.name), run(tracker_, sequence))[1])
  assert sweep.track(sweep_job, entries) == 1
  assert tracked == ['short'] and boxes_path.is_file()
  assert sweep.track(sweep_job, entries) == 0


def test_benchmark_compares_the_sweep_with_separate_runs(sweep_job):
  sweep_job.grid.scale_lr = None  # Two settings.
  sweep_job.max_frames = 4
  numbers = benchmark_sweep.measure(sweep_job)
  assert numbers['settings'] == 2 and numbers['frames'] == 8
  assert numbers['sequences'] == ['demo', 'short']
  assert numbers['max_box_difference_px'] == 0.0
  assert numbers['sweep_seconds'] > 0 and numbers['separate_seconds'] > 0
  assert numbers['speedup'] == round(
      numbers['separate_seconds'] / numbers['sweep_seconds'], 2)
  # Nothing is left behind: the run resumes nothing.
  assert not os.path.exists(sweep_job.results_dir)


def test_heatmap_axes_are_those_with_most_values():
  grid = dict(scale_step=(1.0375,), scale_penalty=(0.96, 0.97, 0.98),
              scale_lr=(0.4, 0.5), window_influence=(0.1, 0.2))
  assert sweep.heatmap_axes(grid) == ('scale_penalty', 'scale_lr')
  assert sweep.heatmap_axes(dict(scale_step=(1.0375,), scale_lr=(0.5,))) == (
      'scale_step',)


@pytest.mark.parametrize('field, value, message', [
    ('scale_penalty', (0.96, 1.5), '1.5 is too large'),
    ('window_influence', (-0.1, 0.2), '-0.1 is too small'),
    ('window_influence', (0.1, 0.1), 'has duplicates'),
    ('window_influence', (), 'empty'),
    ('scale_step', (1.0, 1.05), '1.0 is too small'),
    ('scale_step', 1.03, 'not a tuple'),
    ('num_scales', (3, 5), 'a sweep cannot vary'),
    ('colour', (1,), 'no such field'),
])
def test_bad_grids_name_the_field(field, value, message):
  config = sweep_config.get_config()
  config.root = 'sequences'
  config.grid = ml_collections.ConfigDict({**config.grid, field: value})
  with pytest.raises(validation.ConfigError, match=message) as error:
    validation.check_sweep(config)
  assert str(error.value).startswith(f'config.grid.{field}')


def test_sweep_needs_a_root_and_a_swept_field():
  config = sweep_config.get_config()
  with pytest.raises(validation.ConfigError, match='config.root.*empty'):
    validation.check_sweep(config)
  config.root = 'sequences'
  with pytest.raises(validation.ConfigError,
                     match=r'^config.grid: no field is swept'):
    validation.check_sweep(config)
  config.grid.scale_lr = (0.5,)
  validation.check_sweep(config)


@pytest.mark.parametrize('override, start', [
    ('--config.grid.scale_lr=(0.5,1.5)', 'error: config.grid.scale_lr=(0.5'),
    ('--config.grid.window_influence=()',
     'error: config.grid.window_influence=(): empty'),
    ('--config.grid.num_scales=(3,5)', 'error: --config.grid.num_scales'),
])
def test_sweep_main_gives_one_error_line(tmp_path, override, start):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  done = subprocess.run(
      [sys.executable, '-m', 'experiments.sweep', f'--root={tmp_path}',
       f'--results={tmp_path / "results"}', override], env=env,
      capture_output=True, text=True, timeout=300, close_fds=False)
  assert done.returncode == 1, done.stderr
  lines = done.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(start), done.stderr

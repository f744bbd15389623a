"""Tests of the evaluation harness: OTB, GOT-10k, VOT runs, resume, reports."""

import json
import os
import pathlib
import subprocess
import sys
import zipfile

import imageio.v3 as iio
import numpy as np
import pytest

from siamfc_jax import weights
from siamfc_jax import demo
from siamfc_jax import evaluation
from siamfc_jax import metrics
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax import track_lib
from siamfc_jax import tracker as tracker_lib
from siamfc_jax import validation
from siamfc_jax.configs import evaluate as evaluate_config


def synthetic(shape=(120, 160), num_frames=5, seed=0):
  """Frames of a textured patch moving over a darker texture, and its boxes."""
  rng = np.random.default_rng(seed)
  background = rng.integers(0, 60, (*shape, 3), np.uint8)
  patch = rng.integers(0, 255, (20, 26, 3), np.uint8)
  frames, boxes = [], []
  for i in range(num_frames):
    frame = background.copy()
    y, x = 30 + 2 * i, 40 + 3 * i
    frame[y:y + 20, x:x + 26] = patch
    frames.append(frame)
    boxes.append([x + 1, y + 1, 26, 20])
  return frames, np.array(boxes, np.float64)


def write_sequence(folder, frames, groundtruth, *,
                   groundtruth_name='groundtruth.txt', image_dir='img'):
  (folder / image_dir).mkdir(parents=True, exist_ok=True)
  for i, frame in enumerate(frames, start=1):
    iio.imwrite(folder / image_dir / f'{i:08d}.png', frame)
  np.savetxt(folder / groundtruth_name, groundtruth, fmt='%g', delimiter=',')


def make_config(root, results, benchmark='otb', trackers=('ncc',)):
  config = evaluate_config.get_config()
  config.benchmark = benchmark
  config.root = str(root)
  config.results_dir = str(results)
  config.trackers = trackers
  config.progress = False
  config.plot_dpi = 40
  return config


def is_png(path):
  return path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.fixture
def otb_root(tmp_path):
  root = tmp_path / 'otb'
  frames, boxes = synthetic(seed=1)
  write_sequence(root / 'Alpha', frames, boxes)
  frames, boxes = synthetic(seed=2, num_frames=4)
  write_sequence(root / 'Beta', frames, boxes,
                 groundtruth_name='groundtruth_rect.txt')
  return root


@pytest.mark.slow
def test_otb_files_summary_report_and_resume(otb_root, tmp_path):
  results = tmp_path / 'results'
  config = make_config(otb_root, results, trackers=('siamfc', 'ncc'))
  config.html = True
  summary, report = evaluation.evaluate(config)

  for name, frames in (('Alpha', 5), ('Beta', 4)):
    for tracker in ('siamfc', 'ncc'):
      boxes = sequences.read_boxes(results / tracker / f'{name}.txt')
      assert boxes.shape == (frames, 4)
      seconds = np.loadtxt(results / tracker / 'times' / f'{name}_time.txt')
      assert seconds.shape == (frames,) and np.all(seconds > 0)
  ncc = summary['trackers']['ncc']
  groundtruth = sequences.load_folder(otb_root / 'Alpha').groundtruth
  ope = metrics.ope(sequences.read_boxes(results / 'ncc' / 'Alpha.txt'),
                    groundtruth)
  assert ncc['sequences']['Alpha']['success_auc'] == ope.auc
  # As the OTB toolkit: curves, hence AUCs, averaged over sequences.
  assert ncc['overall']['success_auc'] == pytest.approx(np.mean(
      [s['success_auc'] for s in ncc['sequences'].values()]))
  assert ncc['overall']['precision_20px'] == 1.0  # Exact translation.
  siamfc = summary['trackers']['siamfc']['sequences']['Alpha']
  assert siamfc['success_auc'] == metrics.ope(
      sequences.read_boxes(results / 'siamfc' / 'Alpha.txt'),
      groundtruth).auc
  assert json.loads((results / 'summary.json').read_text())['benchmark'] == (
      'otb')
  record = json.loads((results / 'evaluation.json').read_text())
  assert record['config']['trackers'] == ['siamfc', 'ncc']
  text = report.read_text()
  assert '| siamfc |' in text and '| ncc |' in text and '| Beta | 4 |' in text
  assert '![success_plot.png](success_plot.png)' in text
  assert '<table>' in (results / 'report.html').read_text()
  assert is_png(results / 'success_plot.png')
  assert is_png(results / 'precision_plot.png')

  # Resume: only missing or incomplete sequences are tracked again.
  stamps = {p: p.stat().st_mtime_ns for p in (results / 'siamfc').rglob('*')}
  (results / 'ncc' / 'Alpha.txt').unlink()
  beta = results / 'ncc' / 'Beta.txt'
  beta.write_text(''.join(beta.read_text().splitlines(True)[:2]))
  entry = evaluation.Entry(sequences.load_folder(otb_root / 'Beta'))
  assert not evaluation.otb.BENCHMARK.is_complete(results, 'ncc', entry)
  summary_again, _ = evaluation.evaluate(config)
  assert stamps == {p: p.stat().st_mtime_ns
                    for p in (results / 'siamfc').rglob('*')}
  assert evaluation.otb.BENCHMARK.is_complete(results, 'ncc', entry)
  entries = evaluation.load_benchmark('otb', otb_root)
  assert evaluation.runner.run_tracker(evaluation.otb.BENCHMARK, 'siamfc',
                                       entries, config) == 0
  assert (summary_again['trackers']['ncc']['sequences']['Alpha']
          ['success_auc'] == ncc['sequences']['Alpha']['success_auc'])


@pytest.mark.slow
def test_batched_evaluation_matches_one_by_one(tmp_path):
  root = tmp_path / 'otb'
  shapes = {'A': ((100, 130), 4), 'B': ((120, 160), 3)}
  for seed, (name, (shape, length)) in enumerate(shapes.items()):
    write_sequence(root / name, *synthetic(shape, length, seed=seed))
  config = make_config(root, tmp_path / 'results', trackers=('siamfc',))
  config.batch_size = 2
  evaluation.evaluate(config)
  one_by_one = tracker_lib.Tracker(
      weights.load_for_tracking(config.track), config.track)
  for name in shapes:
    sequence = sequences.load_folder(root / name)
    expected = one_by_one.track(sequence, sequence.groundtruth[0])
    batched = sequences.read_boxes(tmp_path / 'results' / 'siamfc'
                                   / f'{name}.txt')
    # The files keep two decimals.
    np.testing.assert_allclose(batched, expected.boxes, atol=0.006)


def write_got10k(root, name, frames, groundtruth, *, labels=True):
  folder = root / name
  folder.mkdir(parents=True)
  for i, frame in enumerate(frames, start=1):
    iio.imwrite(folder / f'{i:08d}.jpg', frame, quality=95)
  np.savetxt(folder / 'groundtruth.txt', groundtruth, fmt='%g', delimiter=',')
  if labels:
    height, width = frames[0].shape[:2]
    (folder / 'meta_info.ini').write_text(
        f'[METAINFO]\nresolution: ({width}, {height})\n')
    cover = np.full(len(frames), 8)
    cover[2] = 0
    np.savetxt(folder / 'cover.label', cover, fmt='%d')
    np.savetxt(folder / 'absence.label', cover == 0, fmt='%d')
  with open(root / 'list.txt', 'a') as f:
    f.write(name + '\n')


def test_got10k_val_and_test_layouts(tmp_path):
  val, test = tmp_path / 'val', tmp_path / 'test'
  for seed, name in enumerate(('GOT-10k_Val_000001', 'GOT-10k_Val_000002')):
    write_got10k(val, name, *synthetic(num_frames=4, seed=seed))
  frames, boxes = synthetic(num_frames=3, seed=5)
  write_got10k(test, 'GOT-10k_Test_000001', frames, boxes[:1], labels=False)

  results = tmp_path / 'val_results'
  summary, report = evaluation.evaluate(
      make_config(val, results, 'got10k', trackers=('ncc', 'mosse')))
  ious = []
  for name in ('GOT-10k_Val_000001', 'GOT-10k_Val_000002'):
    folder = results / 'ncc' / name
    predicted = sequences.read_boxes(folder / f'{name}_001.txt')
    assert predicted.shape == (4, 4)
    assert np.loadtxt(folder / f'{name}_time.txt').shape == (4,)
    entry = evaluation.got10k.load_sequence(val / name)
    assert entry.resolution == (160, 120)
    ious.append(metrics.got10k_ious(
        predicted, entry.sequence.groundtruth, frame_size=(160, 120),
        cover=entry.label('cover'), absence=entry.label('absence')))
    assert len(ious[-1]) == 2  # Not the first frame nor the covered one.
  expected = metrics.got10k(np.concatenate(ious))
  overall = summary['trackers']['ncc']['overall']
  assert overall['ao'] == expected.ao and overall['sr75'] == expected.sr75
  assert overall['speed_fps'] > 0
  with zipfile.ZipFile(results / 'ncc.zip') as archive:
    assert sorted(archive.namelist()) == sorted(
        f'{n}/{n}{suffix}' for n in ('GOT-10k_Val_000001',
                                     'GOT-10k_Val_000002')
        for suffix in ('_001.txt', '_time.txt'))
  assert is_png(results / 'success_plot.png')
  assert '| ncc |' in report.read_text()

  results = tmp_path / 'test_results'
  summary, report = evaluation.evaluate(make_config(test, results, 'got10k'))
  name = 'GOT-10k_Test_000001'
  assert sequences.read_boxes(
      results / 'ncc' / name / f'{name}_001.txt').shape == (3, 4)
  assert 'ao' not in summary['trackers']['ncc']['overall']
  assert '| ncc | n/a | n/a | n/a |' in report.read_text()
  assert (results / 'ncc.zip').is_file()


class ScriptedTracker:
  """Returns given boxes; records where it was initialised."""

  def __init__(self, outputs):
    self.outputs = outputs
    self.inits = []
    self.frame = 0

  def init(self, image, box):
    self.inits.append((int(image[0, 0, 0]), list(box)))
    self.frame = int(image[0, 0, 0])

  def update(self, image):
    self.frame = int(image[0, 0, 0])
    return self.outputs[self.frame]


def test_reset_run_reinitialises_five_frames_after_a_failure():
  groundtruth = np.array([[11, 11, 20, 20]] * 12, np.float64)
  frames = [np.full((60, 80, 3), i, np.uint8) for i in range(12)]
  outputs = {i: groundtruth[i] for i in range(12)}
  outputs[3] = np.array([60, 50, 10, 10])  # No overlap: a failure.
  outputs[10] = np.array([31, 11, 20, 20])  # Touching: IoU 0, a failure.
  tracker = ScriptedTracker(outputs)
  sequence = sequences.Sequence('s', 12, lambda: iter(frames), groundtruth)
  run, seconds = evaluation.run_reset(tracker, sequence, skip_frames=5)
  T, I, F, S = (metrics.VOT_TRACKED, metrics.VOT_INIT, metrics.VOT_FAILURE,
                metrics.VOT_SKIPPED)
  np.testing.assert_array_equal(run.codes, [I, T, T, F, S, S, S, S, I, T, F,
                                            S])
  assert [frame for frame, _ in tracker.inits] == [0, 8]
  assert (run.width, run.height) == (80, 60)
  assert np.all(np.isnan(run.boxes[[0, 3, 4, 8, 10]]))
  np.testing.assert_allclose(run.boxes[[1, 2, 9]], groundtruth[[1, 2, 9]])
  assert np.all(seconds[[4, 5, 6, 7, 11]] == 0)
  assert np.all(seconds[[0, 1, 2, 3, 8, 9, 10]] > 0)


def test_vot_benchmark_files_and_summary(tmp_path):
  root = tmp_path / 'vot'
  frames, boxes = synthetic(num_frames=6, seed=3)
  write_sequence(root / 'seq', frames, boxes, image_dir='.')
  results = tmp_path / 'results'
  config = make_config(root, results, 'vot', trackers=('ncc',))
  config.vot.eao_low, config.vot.eao_high = 1, 6
  summary, report = evaluation.evaluate(config)
  lines = (results / 'ncc' / 'baseline' / 'seq' / 'seq_001.txt').read_text()
  lines = lines.split()
  assert lines[0] == '1' and len(lines) == 6
  codes, tracked = evaluation.vot.read_result(
      results / 'ncc' / 'baseline' / 'seq' / 'seq_001.txt')
  np.testing.assert_allclose(tracked[1:], boxes[1:], atol=1e-6)
  overall = summary['trackers']['ncc']['overall']
  assert overall['lost'] == 0 and overall['robustness'] == 0
  assert np.isnan(overall['accuracy'])  # All 6 frames are in the burn-in.
  run = metrics.VOTRun(codes, tracked, boxes, 160, 120)
  assert overall['eao'] == metrics.vot_eao(
      [run], low=1, high=6, skipping=5)[0]
  assert is_png(results / 'eao_curve.png')
  assert 'EAO' in report.read_text()


def test_unknown_names_are_clear_errors(otb_root, tmp_path):
  with pytest.raises(evaluation.EvaluationError, match='unknown tracker'):
    evaluation.evaluate(make_config(otb_root, tmp_path, trackers=('x',)))
  with pytest.raises(evaluation.EvaluationError, match='unknown benchmark'):
    evaluation.load_benchmark('otb100', otb_root)
  with pytest.raises(sequences.SequenceError, match='no sequence Gamma'):
    evaluation.load_benchmark('otb', otb_root, names=('Gamma',))
  with pytest.raises(sequences.SequenceError, match='list.txt'):
    evaluation.load_benchmark('got10k', otb_root)
  with pytest.raises(evaluation.EvaluationError, match='evaluation.json'):
    evaluation.report(tmp_path / 'nothing')


def test_bad_records_are_clear_errors(otb_root, tmp_path):
  record = tmp_path / evaluation.RECORD
  for text, reason in (('{"config": {', 'Expecting'),
                       ('{"config": {}}', 'no weights, git_revision,'
                        ' config.benchmark'),
                       ('[1]', 'a JSON list'),
                       ('{"config": 3, "weights": "", "git_revision": ""}',
                        'int')):
    record.write_text(text)
    with pytest.raises(evaluation.EvaluationError,
                       match=f'not an evaluation record .*{reason}'):
      evaluation.report(tmp_path)


def test_frames_are_checked_before_tracking(otb_root, tmp_path):
  (otb_root / 'Beta' / 'img' / '00000003.png').write_bytes(b'not a png')
  with pytest.raises(sequences.SequenceError, match='00000003.png: cannot'):
    evaluation.load_benchmark('otb', otb_root)
  with pytest.raises(sequences.SequenceError, match='00000003.png: cannot'):
    evaluation.load_benchmark('vot', otb_root)
  val = tmp_path / 'val'
  write_got10k(val, 'GOT-10k_Val_000001', *synthetic(num_frames=3))
  (val / 'GOT-10k_Val_000001' / '00000002.jpg').write_bytes(b'')
  with pytest.raises(sequences.SequenceError, match='00000002.jpg: cannot'):
    evaluation.load_benchmark('got10k', val)


@pytest.fixture(scope='module')
def shipped_tracker():
  config = evaluate_config.get_config().track
  return tracker_lib.Tracker(weights.load_for_tracking(config), config)


def test_one_tracking_loop(shipped_tracker, tmp_path, monkeypatch):
  """Tracker.track, the OPE run, validation and the benchmark are one loop."""
  loops = []
  one_loop = tracker_lib.run

  def spy(*args, **kwargs):
    loops.append(one_loop(*args, **kwargs))
    return loops[-1]

  monkeypatch.setattr(tracker_lib, 'run', spy)
  sequence = demo.demo_sequence(6)
  truth = sequence.groundtruth
  tracked = shipped_tracker.track(sequence, truth[0])
  run = evaluation.ope.run(shipped_tracker, sequence)
  validation = track_lib.validate(shipped_tracker.variables,
                                  evaluate_config.get_config().track,
                                  [sequence])
  root = tmp_path / 'otb'
  write_sequence(root / sequence.name, list(sequence), truth)
  config = make_config(root, tmp_path / 'results', trackers=('siamfc',))
  summary, _ = evaluation.evaluate(config)
  assert len(loops) == 4
  for other in (run, *loops[2:]):
    np.testing.assert_array_equal(other.boxes, tracked.boxes)
  # The validation number is the OTB benchmark's computation.
  expected = metrics.ope(tracked.boxes, truth)
  assert validation['sequences'][sequence.name]['success_auc'] == expected.auc
  assert validation['success_auc'] == expected.auc
  written = summary['trackers']['siamfc']['sequences'][sequence.name]
  assert written['success_auc'] == pytest.approx(expected.auc, abs=0.02)


class Toy(evaluation.Benchmark):
  """A benchmark only this test knows: hits (IoU > 0.5) per tracker."""

  name = 'toy'
  title = 'Toy hits'
  definitions = 'Hits: frames with IoU > 0.5, NCC scale {ncc_search_scale}.'
  overall_columns = (('hits', 'Hits'),)
  sequence_columns = (('hits', 'Hits'), ('frames', 'Frames'))

  def load(self, root, *, names=(), max_frames=None, config=None):
    return evaluation.otb.load_folders(root, names=names,
                                       max_frames=max_frames)

  def result_paths(self, results_dir, tracker, name):
    folder = pathlib.Path(results_dir) / tracker / 'toy'
    return folder / f'{name}.boxes', folder / f'{name}.seconds'

  def summarize(self, results_dir, tracker, entries, config):
    rows = {}
    for entry in entries:
      path, _ = self.result_paths(results_dir, tracker, entry.name)
      iou = metrics.frame_scores(sequences.read_boxes(path),
                                 entry.groundtruth)[0]
      rows[entry.name] = dict(frames=entry.num_frames,
                              hits=float(np.sum(iou > 0.5)))
    return dict(overall=dict(hits=sum(r['hits'] for r in rows.values()),
                             fps=1.0),
                sequences=rows)

  def plots(self, summary, folder, *, dpi, config):
    reports.plot(pathlib.Path(folder) / 'hits.png', np.arange(2),
                 [(name, 0, [0, 1]) for name in summary['trackers']],
                 title='hits', xlabel='x', ylabel='y', dpi=dpi)
    return ['hits.png']

  def finish(self, results_dir, summary):
    (pathlib.Path(results_dir) / 'finished.txt').write_text(' '.join(summary['trackers']))


def test_a_new_benchmark_needs_no_other_change(otb_root, tmp_path,
                                               monkeypatch):
  monkeypatch.setitem(evaluation.BENCHMARKS, 'toy', Toy())
  results = tmp_path / 'results'
  config = make_config(otb_root, results, 'toy', trackers=('ncc',))
  config.html = True
  summary, report = evaluation.evaluate(config)
  assert (results / 'ncc' / 'toy' / 'Alpha.boxes').is_file()
  assert summary['benchmark'] == 'toy'
  assert summary['trackers']['ncc']['overall']['hits'] == 9  # 5 + 4.
  text = report.read_text()
  assert text.startswith('# Evaluation: Toy hits\n')
  assert 'Hits: frames with IoU > 0.5, NCC scale 3.0.' in text
  assert '| Tracker | Hits | FPS |\n|---|---|---|\n| ncc | 9.000 | 1.0 |' in (
      text)
  assert '| Sequence | Frames | ncc Hits / Frames |' in text
  assert '| Beta | 4 | 4.000 / 4.000 |' in text
  assert '![hits.png](hits.png)' in text and is_png(results / 'hits.png')
  assert '<title>Toy hits</title>' in (results / 'report.html').read_text()
  assert (results / 'finished.txt').read_text() == 'ncc'
  assert evaluation.report(results)[0] == summary


def test_reports_choose_nothing_by_benchmark_name():
  source = open(reports.__file__).read()
  for name in evaluation.BENCHMARKS:
    assert f"'{name}'" not in source and f'"{name}"' not in source


def run_module(module, *args):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  # No cwd and close_fds=False let subprocess spawn rather than fork.
  return subprocess.run([sys.executable, '-m', module, *args], env=env,
                        capture_output=True, text=True, timeout=300,
                        close_fds=False)


@pytest.mark.slow
def test_command_lines(otb_root, tmp_path):
  results = tmp_path / 'results'
  run = run_module('experiments.evaluate', '--benchmark=otb',
                   f'--root={otb_root}', f'--results={results}',
                   "--config.trackers=('ncc','kcf')", '--config.progress=False')
  assert run.returncode == 0, run.stderr
  assert '| Tracker | Success AUC | Precision@20px | FPS |' in run.stdout
  assert f'report: {results / "report.md"}' in run.stdout
  again = run_module('experiments.report', f'--results={results}')
  assert again.returncode == 0, again.stderr
  assert again.stdout == run.stdout
  bad = run_module('experiments.evaluate', '--root=/nonexistent',
                   f'--results={results}')
  assert bad.returncode == 1
  assert 'error: /nonexistent: no such folder' in bad.stderr
  assert 'Traceback' not in bad.stderr


@pytest.mark.shared
def test_shared_sequences_side_by_side(shared_sequences, tmp_path):
  config = make_config(shared_sequences, tmp_path, trackers=('ncc', 'kcf'))
  config.sequences = ('otb_Deer', 'vot2015_car1')
  config.max_frames = 12
  summary, report = evaluation.evaluate(config)
  for tracker in ('ncc', 'kcf'):
    result = summary['trackers'][tracker]
    assert set(result['sequences']) == {'otb_Deer', 'vot2015_car1'}
    for name, values in result['sequences'].items():
      sequence = sequences.truncate(
          sequences.load_folder(shared_sequences / name), 12)
      assert values['success_auc'] == pytest.approx(metrics.ope(
          sequences.read_boxes(tmp_path / tracker
                               / f'{name}.txt'),
          sequence.groundtruth).auc)
    assert result['overall']['fps'] > 0
  assert '| vot2015_car1 | 12 |' in report.read_text()


def _without_speed(summary):
  """The summary without frame rates (timing differs between runs)."""
  if isinstance(summary, dict):
    return {k: _without_speed(v) for k, v in summary.items()
            if 'fps' not in k}
  return summary


def test_shards_together_give_the_unsharded_summary(otb_root, tmp_path):
  whole, _ = evaluation.evaluate(make_config(otb_root, tmp_path / 'whole'))
  sharded = tmp_path / 'sharded'
  for index in (1, 0):
    config = make_config(otb_root, sharded)
    config.shard_index, config.shard_count = index, 2
    summary, _ = evaluation.evaluate(config)
    if index == 1:  # Beta (the second sequence) only: ncc is incomplete.
      assert summary['incomplete'] == {'ncc': 1}
      assert not (sharded / 'ncc' / 'Alpha.txt').exists()
  assert _without_speed(summary) == _without_speed(whole)
  for name in ('Alpha', 'Beta'):
    assert ((sharded / 'ncc' / f'{name}.txt').read_bytes()
            == (tmp_path / 'whole' / 'ncc' / f'{name}.txt').read_bytes())


def test_a_shard_outside_the_count_is_refused(otb_root, tmp_path):
  config = make_config(otb_root, tmp_path)
  config.shard_index, config.shard_count = 2, 2
  with pytest.raises(validation.ConfigError, match='shard_index=2'):
    validation.check_evaluate(config)

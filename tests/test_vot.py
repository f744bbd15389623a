"""Tests of the TraX server, through the trax client and the VOT toolkit, and
of the VOT overlaps and accuracy against the toolkit's on real polygons."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import imageio.v3 as iio
import numpy as np
import pytest

from siamfc_jax import baselines
from siamfc_jax import evaluation
from siamfc_jax import metrics
from siamfc_jax import sequences
from siamfc_jax.configs import evaluate as evaluate_config

VOT_SEQUENCE = 'vot2015_car1'
VOT_FRAMES = 20
REFERENCE_BOXES = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
                   / 'reference' / 'siamfc_2016-08-17' / 'siamfc_pytorch_boxes')


def _needs_toolkit():
  if importlib.util.find_spec('vot') is None:
    pytest.skip('needs the VOT toolkit (pip install --no-deps -r'
                ' requirements-vot.txt)')


def _server_command(tracker):
  return [sys.executable, '-m', 'experiments.vot_trax', f'--tracker={tracker}']


def test_trax_server_answers_the_trax_client(tmp_path):
  trax = pytest.importorskip('trax', reason='needs vot-trax')
  trax_client = pytest.importorskip('trax.client', reason='needs vot-trax')
  rng = np.random.default_rng(0)
  background = rng.integers(0, 60, (90, 120, 3), np.uint8)
  patch = rng.integers(0, 255, (16, 20, 3), np.uint8)
  paths, truth = [], []
  for i in range(4):
    frame = background.copy()
    frame[20 + 3 * i:36 + 3 * i, 30 + 2 * i:50 + 2 * i] = patch
    paths.append(tmp_path / f'{i:08d}.png')
    iio.imwrite(paths[-1], frame)
    truth.append([31 + 2 * i, 21 + 3 * i, 20, 16])  # 1-based.

  env = dict(os.environ, JAX_PLATFORMS='cpu')
  # As the VOT toolkit runs a tracker: protocol on stdin/stdout, with the
  # server's log lines mixed into its stdout.
  server = subprocess.Popen(_server_command('ncc'), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, bufsize=0, close_fds=False)
  try:
    client = trax_client.Client(
        stream=(server.stdin.fileno(), server.stdout.fileno()), timeout=120,
        log=lambda text: None)  # vot-trax 4.0.2 needs a logger here.
    assert client.tracker_name == 'ncc'

    def image(i):
      return {'color': trax.FileImage.create(str(paths[i]))}

    x, y, w, h = truth[0]
    objects, _ = client.initialize(
        image(0), [(trax.Rectangle.create(x - 1, y - 1, w, h), {})], {})
    np.testing.assert_allclose(objects[0][0].bounds(), [x - 1, y - 1, w, h])
    served = []
    for i in range(1, 4):
      objects, _ = client.frame(image(i), {}, [])
      served.append(np.add(objects[0][0].bounds(), [1, 1, 0, 0]))
    client.quit()
    assert server.wait(timeout=30) == 0
  finally:
    server.kill()
    server.stdout.close()
    server.stdin.close()

  local = baselines.NCCTracker(
      search_scale=evaluate_config.get_config().ncc_search_scale)
  local.init(sequences.read_image(paths[0]), truth[0])
  expected = [local.update(sequences.read_image(p)) for p in paths[1:]]
  np.testing.assert_allclose(served, expected, atol=1e-4)
  np.testing.assert_allclose(served, truth[1:], atol=1e-4)


@pytest.mark.parametrize('flag, message', (
    ('--config.track.num_scales=0', 'error: config.track.num_scales=0: no'
     ' scale to search'),
    ('--config.track.nope=1', "error: --config.track.nope: config.track has"
     " no field 'nope'; fields: checkpoint,"),
), ids=('bad_value', 'unknown_field'))
def test_trax_server_config_errors_are_one_line(flag, message):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  run = subprocess.run([*_server_command('siamfc'), flag], env=env,
                       capture_output=True, text=True, timeout=300,
                       close_fds=False, stdin=subprocess.DEVNULL)
  assert run.returncode == 1
  assert len(run.stderr.strip().splitlines()) == 1, run.stderr
  assert run.stderr.startswith(message), run.stderr
  assert 'Traceback' not in run.stderr and run.stdout == ''


def _workspace(root, shared_sequences):
  """A VOT workspace with the first frames of one shared VOT sequence."""
  source = shared_sequences / VOT_SEQUENCE
  folder = root / 'sequences' / VOT_SEQUENCE
  folder.mkdir(parents=True)
  for i in range(1, VOT_FRAMES + 1):
    (folder / f'{i:08d}.jpg').symlink_to(source / 'img' / f'{i:08d}.jpg')
  polygons = (source / 'groundtruth_polygon.txt').read_text().splitlines()
  (folder / 'groundtruth.txt').write_text(
      '\n'.join(polygons[:VOT_FRAMES]) + '\n')
  (root / 'sequences' / 'list.txt').write_text(VOT_SEQUENCE + '\n')
  (root / 'stack.yaml').write_text(textwrap.dedent('''\
      title: siamfc-jax test stack
      experiments:
        baseline:
          type: supervised
          repetitions: 1
          skip_initialize: 5
          analyses:
            - type: supervised_average_ar
              sensitivity: 30
      '''))
  (root / 'config.yaml').write_text(
      'registry:\n- ./trackers.ini\nstack: stack.yaml\n')
  repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  (root / 'trackers.ini').write_text(''.join(
      f'[{label}]\nlabel = {label}\nprotocol = trax\n'
      f'command = {" ".join(_server_command(name))}\n'
      f'env_PYTHONPATH = {repository}\nenv_JAX_PLATFORMS = cpu\n'
      'timeout = 300\n\n'
      for label, name in (('NCC', 'ncc'), ('SiamFC', 'siamfc'))))


def _vot(*args, workspace):
  env = dict(os.environ, VOT_RESULTS_BINARY='false',
             VOT_PERSISTENT_CACHE='false')
  return subprocess.run([sys.executable, '-m', 'vot', *args,
                         f'--workspace={workspace}'], env=env,
                        capture_output=True, text=True, timeout=600,
                        close_fds=False)


@pytest.mark.slow
@pytest.mark.shared
def test_vot_toolkit_supervised_experiment(shared_sequences, tmp_path):
  _needs_toolkit()
  workspace = tmp_path / 'workspace'
  _workspace(workspace, shared_sequences)
  run = _vot('evaluate', 'NCC', 'SiamFC', workspace=workspace)
  assert run.returncode == 0, run.stdout + run.stderr
  assert 'Evaluation concluded successfuly' in run.stdout + run.stderr
  analysis = _vot('analysis', 'NCC', 'SiamFC', '--format=json', '--name=ar',
                  workspace=workspace)
  assert analysis.returncode == 0, analysis.stdout + analysis.stderr
  result = json.loads((workspace / 'analysis' / 'ar.json').read_text())
  # One analysis; per tracker: accuracy, failures, AR point, frames.
  toolkit_ar = result['results']['baseline']['results'][0]

  entry, = evaluation.load_benchmark('vot', shared_sequences,
                                     names=(VOT_SEQUENCE,),
                                     max_frames=VOT_FRAMES)
  width, height = entry.frame_size()
  config = evaluate_config.get_config()
  for (label, name), (accuracy, failures, *_) in zip(
      (('NCC', 'ncc'), ('SiamFC', 'siamfc')), toolkit_ar):
    path = (workspace / 'results' / label / 'baseline' / VOT_SEQUENCE
            / f'{VOT_SEQUENCE}_001.txt')
    codes, tracked = evaluation.vot.read_result(path)
    assert len(codes) == VOT_FRAMES and codes[0] == metrics.VOT_INIT
    # The toolkit's run and ours agree frame by frame.
    run_here, _ = evaluation.run_reset(
        evaluation.create_tracker(name, config), entry.sequence,
        skip_frames=config.vot.skip_frames, polygons=entry.label('polygons'))
    np.testing.assert_array_equal(codes, run_here.codes)
    tracked_frames = codes == metrics.VOT_TRACKED
    np.testing.assert_allclose(tracked[tracked_frames],
                               run_here.boxes[tracked_frames], atol=1e-3)
    # And so do the accuracy and failures of its files (the toolkit's
    # burn-in is 10 frames, as ours).
    ours = metrics.vot_accuracy_robustness(
        [metrics.VOTRun(codes, tracked, entry.sequence.groundtruth, width,
                        height, entry.label('polygons'))],
        burnin=config.vot.burnin)
    assert ours[0] == pytest.approx(accuracy, abs=1e-9)
    assert ours[2] == failures
  assert toolkit_ar[0][1] == 0 and 0.5 < toolkit_ar[0][0] <= 1  # NCC.


def _vot_folder(folder, lines, *, polygon_lines=None):
  """A 3-frame sequence folder with the given ground-truth lines."""
  folder.mkdir(parents=True)
  for i in range(1, 4):
    iio.imwrite(folder / f'{i:08d}.png', np.zeros((30, 40, 3), np.uint8))
  (folder / 'groundtruth.txt').write_text('\n'.join(lines) + '\n')
  if polygon_lines:
    (folder / evaluation.vot.POLYGON_NAME).write_text(
        '\n'.join(polygon_lines) + '\n')


def test_vot_benchmark_reads_the_polygons(tmp_path):
  polygon = '1,2,11,2,11,12,1,12'
  # VOT's own layout: polygons in groundtruth.txt, a box on one line.
  _vot_folder(tmp_path / 'vot' / 'a', [polygon, '5,6,3,4', polygon])
  # The shared layout: boxes in groundtruth.txt, polygons beside them.
  _vot_folder(tmp_path / 'vot' / 'b', ['2,3,10,10'] * 3,
              polygon_lines=[polygon] * 3)
  _vot_folder(tmp_path / 'vot' / 'c', ['2,3,10,10'] * 3)  # Boxes only.
  a, b, c = evaluation.load_benchmark('vot', tmp_path / 'vot')
  corners = [[1, 2], [11, 2], [11, 12], [1, 12]]
  np.testing.assert_array_equal(a.label('polygons')[[0, 2]], [corners] * 2)
  assert np.isnan(a.label('polygons')[1]).all()
  np.testing.assert_array_equal(a.sequence.groundtruth[[0, 1]],
                                [[2, 3, 10, 10], [5, 6, 3, 4]])
  np.testing.assert_array_equal(b.label('polygons'), [corners] * 3)
  assert c.label('polygons') is None
  assert all(e.label('polygons') is None
             for e in evaluation.load_benchmark('otb', tmp_path / 'vot'))
  cut, = evaluation.load_benchmark('vot', tmp_path / 'vot', names=('b',),
                                   max_frames=2)
  assert cut.label('polygons').shape == (2, 4, 2)
  (tmp_path / 'vot' / 'b' / evaluation.vot.POLYGON_NAME).write_text(polygon)
  with pytest.raises(sequences.SequenceError, match='1 regions for 3'):
    evaluation.load_benchmark('vot', tmp_path / 'vot')


class FrameTracker:
  """Reports given boxes, one per frame; frame i is filled with i."""

  def __init__(self, outputs):
    self.outputs = outputs

  def init(self, image, box):
    pass

  def update(self, image):
    return self.outputs[int(image[0, 0, 0])]


class ToolkitSequence:
  """What ``vot.analysis.supervised.compute_accuracy`` asks of a sequence."""

  def __init__(self, regions, size):
    self.regions, self.size = regions, size

  def groundtruth(self):
    return self.regions


@pytest.mark.shared
def test_vot_accuracy_is_the_toolkits_on_shared_sequences(shared_sequences,
                                                          tmp_path):
  _needs_toolkit()
  from vot import region as toolkit  # pylint: disable=g-import-not-at-top
  from vot.analysis import supervised  # pylint: disable=g-import-not-at-top
  from vot.region import io as toolkit_io  # pylint: disable=g-import-not-at-top

  config = evaluate_config.get_config()
  config.benchmark, config.results_dir = 'vot', str(tmp_path)
  config.trackers = ('scripted',)
  entries = evaluation.load_benchmark(
      'vot', shared_sequences, names=('vot2015_ball1', 'vot2015_car1'))
  rng = np.random.default_rng(0)
  outputs = {}
  for entry in entries:
    assert entry.label('polygons').shape == (entry.sequence.num_frames, 4, 2)
    truth = entry.sequence.groundtruth
    if (REFERENCE_BOXES / f'{entry.name}.txt').is_file():
      # A real tracker's boxes (siamfc-pytorch), re-initialised or not.
      boxes = sequences.read_boxes(REFERENCE_BOXES / f'{entry.name}.txt')
    else:
      boxes = truth + np.concatenate(
          [rng.normal(0, 0.15, (len(truth), 2)) * truth[:, 2:],
           np.zeros((len(truth), 2))], axis=1)
      boxes[:, 2:] *= np.exp(rng.normal(0, 0.15, (len(truth), 2)))
    boxes[30] += [truth[30, 2] * 3, 0, 0, 0]  # Far off: a failure.
    outputs[entry.name] = boxes
  # On car1's fourth frame, a box in the corner of the ground truth's
  # bounding box but outside its rotated polygon: a failure on polygons
  # only.
  car, = (e for e in entries if e.name == 'vot2015_car1')
  outputs[car.name][3] = [*car.sequence.groundtruth[3, :2], 4, 4]

  for entry in entries:
    width, height = size = entry.frame_size()
    frames = [np.broadcast_to(np.int32(i), (height, width, 3))
              for i in range(entry.sequence.num_frames)]
    sequence = sequences.Sequence(entry.name, len(frames),
                                  lambda f=frames: iter(f),
                                  entry.sequence.groundtruth)
    run, seconds = evaluation.run_reset(
        FrameTracker(outputs[entry.name]), sequence,
        skip_frames=config.vot.skip_frames, polygons=entry.label('polygons'))
    evaluation.vot.BENCHMARK.write(tmp_path, 'scripted', entry,
                                   evaluation.vot.ResetRun(run, seconds))

    # The toolkit reads the same files.
    path = evaluation.vot.BENCHMARK.result_paths(tmp_path, 'scripted',
                                                 entry.name)[0]
    trajectory = toolkit_io.read_trajectory(str(path))
    regions = [toolkit_io.parse_region(line) for line in (
        shared_sequences / entry.name / evaluation.vot.POLYGON_NAME
    ).read_text().split()]
    theirs = np.array(toolkit.calculate_overlaps(trajectory, regions, size))
    codes, tracked = evaluation.vot.read_result(path)
    ours = metrics.vot_overlap(tracked, entry.sequence.groundtruth,
                               size=size, polygons=entry.label('polygons'))
    on = codes == metrics.VOT_TRACKED
    np.testing.assert_allclose(ours[on], theirs[on], rtol=0, atol=1e-12)
    assert np.all(theirs[on] > 0)
    # Our failures are the toolkit's: the reported box does not overlap.
    failed = np.flatnonzero(codes == metrics.VOT_FAILURE)
    assert 30 in failed
    if entry is car:
      assert 3 in failed
      assert metrics.vot_overlap(outputs[car.name][3],
                                 car.sequence.groundtruth[3],
                                 size=size)[0] > 0  # Its bounding box.
    for i in failed:
      x, y, w, h = outputs[entry.name][i]
      assert toolkit.calculate_overlap(
          toolkit.Rectangle(x - 1, y - 1, w, h), regions[i], size) == 0
    # The accuracy of the summary is the toolkit's.
    accuracy, _ = supervised.compute_accuracy(
        trajectory, ToolkitSequence(regions, size), burnin=config.vot.burnin)
    summary = evaluation.summarize(config, [entry])['trackers']['scripted']
    assert summary['sequences'][entry.name]['accuracy'] == pytest.approx(
        accuracy, abs=1e-9)

    # The same regions moved half out of the image, frame by frame, on the
    # left and on the right.
    centres = entry.label('polygons')[..., 0].mean(axis=1)
    for shifts in -centres, width - 1 - centres:
      moved = [toolkit.Polygon([(x + shift, y) for x, y in r.points()])
               for r, shift in zip(regions, shifts)]
      move = np.zeros((len(shifts), 4))
      move[:, 0] = shifts
      boxes = outputs[entry.name] + move
      theirs = [toolkit.calculate_overlap(
          toolkit.Rectangle(x - 1, y - 1, w, h), r, size)
                for (x, y, w, h), r in zip(boxes, moved)]
      ours = metrics.vot_overlap(
          boxes, entry.sequence.groundtruth + move, size=size,
          polygons=entry.label('polygons') + move[:, None, :2])
      np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
      assert np.sum(ours > 0) > len(ours) / 2

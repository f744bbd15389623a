"""Tests of the TraX server, through the trax client and the VOT toolkit."""

import importlib.util
import json
import os
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
  if importlib.util.find_spec('vot') is None:
    pytest.skip('needs the VOT toolkit (pip install vot-toolkit==0.7.4'
                ' attributee==0.1.9)')
  workspace = tmp_path / 'workspace'
  _workspace(workspace, shared_sequences)
  run = _vot('evaluate', 'NCC', 'SiamFC', workspace=workspace)
  assert run.returncode == 0, run.stdout + run.stderr
  assert 'Evaluation concluded successfuly' in run.stdout + run.stderr

  sequence = sequences.truncate(
      sequences.load_folder(shared_sequences / VOT_SEQUENCE), VOT_FRAMES)
  config = evaluate_config.get_config()
  for label, name in (('NCC', 'ncc'), ('SiamFC', 'siamfc')):
    path = (workspace / 'results' / label / 'baseline' / VOT_SEQUENCE
            / f'{VOT_SEQUENCE}_001.txt')
    codes, tracked = evaluation.read_vot_result(path)
    assert len(codes) == VOT_FRAMES and codes[0] == metrics.VOT_INIT
    # The toolkit's run and ours agree frame by frame.
    run_here, _ = evaluation.run_reset(
        evaluation.create_tracker(name, config), sequence,
        skip_frames=config.vot.skip_frames)
    np.testing.assert_array_equal(codes, run_here.codes)
    tracked_frames = codes == metrics.VOT_TRACKED
    np.testing.assert_allclose(tracked[tracked_frames],
                               run_here.boxes[tracked_frames], atol=1e-3)

  analysis = _vot('analysis', 'NCC', '--format=json', '--name=ar',
                  workspace=workspace)
  assert analysis.returncode == 0, analysis.stdout + analysis.stderr
  result = json.loads((workspace / 'analysis' / 'ar.json').read_text())
  accuracy, failures = result['results']['baseline']['results'][0][0][:2]
  assert failures == 0 and 0.5 < accuracy <= 1

"""End-to-end tests of `python -m experiments.track`."""

import csv
import gzip
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from siamfc_jax import demo
from siamfc_jax import metrics
from siamfc_jax import sequences


def run_track(*args):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  # No cwd and close_fds=False let subprocess spawn rather than fork, which
  # is unsafe once JAX's threads run.
  return subprocess.run([sys.executable, '-m', 'experiments.track', *args],
                        env=env, capture_output=True, text=True, timeout=300,
                        close_fds=False)


def write_sequence(folder, frames, groundtruth):
  (folder / 'img').mkdir(parents=True)
  for i, frame in enumerate(frames, start=1):
    iio.imwrite(folder / 'img' / f'{i:08d}.jpg', frame)
  np.savetxt(folder / 'groundtruth.txt', groundtruth, fmt='%g',
             delimiter=',')


@pytest.mark.slow
def test_demo_run_writes_results_and_render(tmp_path):
  out = tmp_path / 'out'
  gif = tmp_path / 'demo.gif'
  profile = tmp_path / 'profile'
  result = run_track('--max_frames=6', f'--output_dir={out}',
                     f'--render={gif}', '--config.num_scales=5',
                     f'--profile_dir={profile}')
  assert result.returncode == 0, result.stderr
  assert 'success AUC' in result.stdout
  predicted = sequences.read_boxes(out / 'demo.txt')
  assert predicted.shape == (6, 4)
  record = json.loads((out / 'demo.json').read_text())
  assert record['config']['num_scales'] == 5
  assert record['frames'] == 6 and record['fps'] > 0
  # The demo's 120 frames, cut to the 6 tracked.
  truth = demo.demo_sequence(120).groundtruth[:6]
  assert record['success_auc'] == pytest.approx(
      metrics.ope(predicted, truth).auc)
  assert record['git_revision']
  rows = list(csv.DictReader((out / 'demo.csv').open()))
  assert len(rows) == 6 and rows[0]['score'] == 'nan'
  np.testing.assert_allclose([float(rows[5][k]) for k in 'xywh'],
                             predicted[5], atol=0.01)
  assert all(float(row['seconds']) > 0 for row in rows)
  rendered = iio.imread(gif)
  assert rendered.shape[0] == 6
  # A jax.profiler trace with the tracking step in it.
  trace, = profile.glob('plugins/profile/*/*.trace.json.gz')
  assert b'step' in gzip.decompress(trace.read_bytes())


@pytest.mark.slow
def test_sequence_folder_and_video(tmp_path):
  sequence = demo.demo_sequence(5)
  frames = list(sequence)
  write_sequence(tmp_path / 'seq', frames, sequence.groundtruth)
  out = tmp_path / 'out'
  result = run_track(f'--sequence={tmp_path / "seq"}', f'--output_dir={out}',
                     f'--render={tmp_path / "seq.mp4"}')
  assert result.returncode == 0, result.stderr
  assert sequences.read_boxes(out / 'seq.txt').shape == (5, 4)
  assert len(list(iio.imiter(tmp_path / 'seq.mp4'))) == 5

  iio.imwrite(tmp_path / 'in.mp4', np.stack(frames), fps=10)
  box = ','.join(f'{v:g}' for v in sequence.groundtruth[0])
  result = run_track(f'--video={tmp_path / "in.mp4"}', f'--box={box}',
                     f'--output_dir={out}')
  assert result.returncode == 0, result.stderr
  assert sequences.read_boxes(out / 'in.txt').shape == (5, 4)
  assert 'success_auc' not in json.loads((out / 'in.json').read_text())


@pytest.mark.slow
@pytest.mark.parametrize('setup,args,message', [
    (None, ['--sequence=/nonexistent/seq'], 'no such sequence folder'),
    (None, ['--video=/nonexistent.mp4', '--box=1,1,5,5'], 'no such video'),
    ('seq', ['--box=1,2,3'], 'expected a box'),
    ('seq', ['--box=1,1,0,10'], 'non-positive size'),
    ('seq', ['--box=900,900,10,10'], 'outside'),
    ('corrupt', [], 'cannot read image'),
    ('short_gt', [], '2 boxes for 3 frames'),
    ('nan_gt', [], 'NaN'),
    ('seq', ['--config.checkpoint=/nonexistent.msgpack'], 'cannot read'),
    (None, ['--camera=0'], 'needs the initial box'),
    (None, ['--camera=97', '--box=1,1,5,5'], 'camera 97'),
    ('seq', ['--video=x.mp4'], 'give one of --sequence, --video'),
])
def test_bad_input_gives_one_clear_message(tmp_path, setup, args, message):
  frames = [np.full((64, 80, 3), 100 + 20 * i, np.uint8) for i in range(3)]
  groundtruth = np.array([[20, 20, 16, 16]] * 3, np.float64)
  folder = tmp_path / 'seq'
  if setup:
    write_sequence(folder, frames, groundtruth)
  if setup == 'corrupt':
    (folder / 'img' / '00000002.jpg').write_bytes(b'not a jpeg')
  if setup == 'short_gt':
    np.savetxt(folder / 'groundtruth.txt', groundtruth[:2], delimiter=',')
  if setup == 'nan_gt':
    groundtruth[0] = np.nan
    np.savetxt(folder / 'groundtruth.txt', groundtruth, delimiter=',')
  if setup and not any(a.startswith('--sequence') for a in args):
    args = [f'--sequence={folder}', *args]
  result = run_track(*args, f'--output_dir={tmp_path / "out"}')
  assert result.returncode == 1
  assert message in result.stderr
  assert 'Traceback' not in result.stderr

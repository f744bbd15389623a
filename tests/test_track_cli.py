"""End-to-end tests of `python -m experiments.track` and of what it writes."""

import csv
import dataclasses
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import imageio.v3 as iio
import numpy as np
import pytest

from siamfc_jax import cli
from siamfc_jax import demo
from siamfc_jax import metrics
from siamfc_jax import sequences
from siamfc_jax import track_lib
from siamfc_jax.configs import track_3s


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
    # Found before tracking: the frames' headers are read first.
    ('corrupt_last', [], '00000003.jpg: cannot read image (not an image'),
    ('no_gt', [], 'no groundtruth.txt or groundtruth_rect.txt, so the initial'
     ' box is needed: give --box=x,y,w,h'),
    ('nan_gt', [], 'groundtruth.txt:1: box [nan, nan, nan, nan]'),
    ('out_under_file', [], 'is a file, not a folder'),
    ('seq', ['--config.foo=1'], "--config.foo: config has no field 'foo'"),
    ('seq', ['--config.num_scales=4'], 'config.num_scales=4: even'),
    ('seq', ['--config.window_influence=2'], 'config.window_influence=2.0'),
    ('bad_pth', [], 'bad.pth: cannot read checkpoint (not a PyTorch'),
    ('seq', ['--render=out.avi'], 'render to a file ending in .mp4 or .gif'),
])
def test_bad_input_gives_one_clear_message(tmp_path, setup, args, message):
  frames = [np.full((64, 80, 3), 100 + 20 * i, np.uint8) for i in range(3)]
  groundtruth = np.array([[20, 20, 16, 16]] * 3, np.float64)
  folder = tmp_path / 'seq'
  out = tmp_path / 'out'
  if setup:
    write_sequence(folder, frames, groundtruth)
  if setup == 'corrupt':
    (folder / 'img' / '00000002.jpg').write_bytes(b'not a jpeg')
  if setup == 'corrupt_last':
    (folder / 'img' / '00000003.jpg').write_bytes(b'not a jpeg')
  if setup == 'short_gt':
    np.savetxt(folder / 'groundtruth.txt', groundtruth[:2], delimiter=',')
  if setup == 'nan_gt':
    groundtruth[0] = np.nan
    np.savetxt(folder / 'groundtruth.txt', groundtruth, delimiter=',')
  if setup == 'no_gt':
    (folder / 'groundtruth.txt').unlink()
  if setup == 'out_under_file':
    (tmp_path / 'file').write_text('x')
    out = tmp_path / 'file' / 'out'
  if setup == 'bad_pth':
    pytest.importorskip('torch')
    (tmp_path / 'bad.pth').write_bytes(b'garbage' * 10)
    args = [f'--config.checkpoint={tmp_path / "bad.pth"}']
  if setup and not any(a.startswith('--sequence') for a in args):
    args = [f'--sequence={folder}', *args]
  result = run_track(*args, f'--output_dir={out}')
  assert result.returncode == 1
  assert message in result.stderr
  # One line: no traceback, no progress bar, no log.
  assert result.stderr.count('\n') == 1, result.stderr
  assert not out.exists()


# --- Ctrl-C: nothing finished is lost -------------------------------------


@pytest.fixture
def ctrl_c_interrupts():
  """Ctrl-C as Python's default (also in the jobs started here), even where
  the test runner ignores it."""
  previous = signal.signal(signal.SIGINT, signal.default_int_handler)
  yield
  signal.signal(signal.SIGINT, previous)


def _ctrl_c_when_read(sequence, index):
  """``sequence``, with Ctrl-C pressed once, as frame ``index`` is read."""
  pressed = []

  def read_frames():
    for i, frame in enumerate(sequence):
      if i == index and not pressed:
        pressed.append(i)
        signal.raise_signal(signal.SIGINT)
      yield frame

  return dataclasses.replace(sequence, read_frames=read_frames)


def test_ctrl_c_writes_and_evaluates_the_frames_tracked(tmp_path,
                                                       ctrl_c_interrupts):
  sequence = demo.demo_sequence(12)
  stop = track_lib.Stop()
  with cli.on_ctrl_c(stop.request):
    record = track_lib.track_sequence(
        track_3s.get_config(), _ctrl_c_when_read(sequence, 4),
        output_dir=tmp_path, render_path=tmp_path / 'r.gif',
        show_progress=False, stop=stop)
  # Frame 4 (0-based), being read at the Ctrl-C, is the last one tracked.
  assert record['interrupted'] and record['frames'] == 5
  assert json.loads((tmp_path / 'demo.json').read_text()) == record
  predicted = sequences.read_boxes(tmp_path / 'demo.txt')
  assert predicted.shape == (5, 4)
  assert record['success_auc'] == pytest.approx(
      metrics.ope(predicted, sequence.groundtruth[:5]).auc)
  assert iio.imread(tmp_path / 'r.gif').shape[0] == 5
  # Tracked to the end, a run says it was not interrupted.
  again = track_lib.track_sequence(
      track_3s.get_config(), sequences.truncate(sequence, 3),
      output_dir=tmp_path, show_progress=False, stop=track_lib.Stop())
  assert again['interrupted'] is False and again['frames'] == 3


def test_ctrl_c_before_the_first_frame_interrupts(tmp_path,
                                                  ctrl_c_interrupts):
  stop = track_lib.Stop()
  with cli.on_ctrl_c(stop.request), pytest.raises(KeyboardInterrupt):
    track_lib.track_sequence(
        track_3s.get_config(), _ctrl_c_when_read(demo.demo_sequence(4), 0),
        output_dir=tmp_path, show_progress=False, stop=stop)
  assert not list(tmp_path.iterdir())


def test_a_box_file_longer_than_the_video_keeps_the_boxes(tmp_path):
  sequence = demo.demo_sequence(3)
  # A video's length is known only once read: its box file may not fit.
  longer = dataclasses.replace(sequence, num_frames=None,
                               groundtruth=demo.demo_sequence(5).groundtruth)
  with pytest.raises(sequences.SequenceError,
                     match='5 ground-truth boxes for 3 frames; the boxes'):
    track_lib.track_sequence(track_3s.get_config(), longer,
                             output_dir=tmp_path, show_progress=False)
  assert sequences.read_boxes(tmp_path / 'demo.txt').shape == (3, 4)
  assert 'success_auc' not in json.loads((tmp_path / 'demo.json').read_text())


def _start_track(*args, env=None, job='experiments.track', python_args=()):
  """The job in a process group of its own, as a terminal runs it."""
  return subprocess.Popen(
      [sys.executable, *python_args, '-m', job, *args],
      env=env or dict(os.environ, JAX_PLATFORMS='cpu'),
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      close_fds=False, start_new_session=True)


def _ctrl_c_once(process, pattern: str, timeout: float = 240) -> str:
  """Presses Ctrl-C (SIGINT to the job's process group, FFmpeg included)
  when stderr matches ``pattern``; returns all of stderr."""
  seen = []
  reader = threading.Thread(
      target=lambda: seen.extend(iter(lambda: process.stderr.read(1), '')))
  reader.start()
  deadline = time.monotonic() + timeout
  while not re.search(pattern, ''.join(seen)):
    assert time.monotonic() < deadline and process.poll() is None, seen
    time.sleep(0.05)
  os.killpg(process.pid, signal.SIGINT)
  process.wait(timeout=timeout)
  reader.join()
  return ''.join(seen)


@pytest.mark.slow
@pytest.mark.parametrize('source', ['sequence', 'video'])
def test_ctrl_c_on_the_command_line(tmp_path, ctrl_c_interrupts, source):
  sequence = demo.demo_sequence(60)
  frames = list(sequence)
  write_sequence(tmp_path / 'seq', frames, sequence.groundtruth)
  out = tmp_path / 'out'
  if source == 'sequence':
    args, name = [f'--sequence={tmp_path / "seq"}'], 'seq'
    env = None
  else:
    iio.imwrite(tmp_path / 'in.mp4', np.stack(frames), fps=10,
                macro_block_size=1)
    args = [f'--video={tmp_path / "in.mp4"}',
            f'--groundtruth={tmp_path / "seq" / "groundtruth.txt"}']
    name = 'in'
    # As a user runs it: JAX looks for accelerators (and logs at INFO).
    env = {k: v for k, v in os.environ.items() if k != 'JAX_PLATFORMS'}
  process = _start_track(*args, f'--output_dir={out}', env=env)
  # Ctrl-C once the progress bar shows 3 frames tracked after the first.
  stderr = _ctrl_c_once(process, r'(\| |: )[3-9](/|frame)')
  assert process.returncode == 130, stderr
  record = json.loads((out / f'{name}.json').read_text())
  assert record['interrupted'] is True
  assert f'interrupted after {record["frames"]} frames' in stderr
  predicted = sequences.read_boxes(out / f'{name}.txt')
  assert 4 <= record['frames'] == len(predicted) < 60
  assert record['success_auc'] == pytest.approx(
      metrics.ope(predicted, sequence.groundtruth[:len(predicted)]).auc)
  for noise in ('Traceback', 'os.fork()', 'Loading weights',
                'Unable to initialize backend'):
    assert noise not in stderr


@pytest.mark.slow
def test_ctrl_c_while_compiling_is_one_line(tmp_path, ctrl_c_interrupts):
  out = tmp_path / 'out'
  # Compiled afresh (seconds), so that Ctrl-C comes while XLA compiles.
  process = _start_track(f'--output_dir={out}', env=dict(
      os.environ, JAX_PLATFORMS='cpu', JAX_LOG_COMPILES='1',
      JAX_ENABLE_COMPILATION_CACHE='false'))
  stderr = _ctrl_c_once(process, r'Compiling jit\(init\)')
  assert process.returncode == 130, stderr
  assert stderr.strip().splitlines()[-1] == 'interrupted'
  assert 'Traceback' not in stderr and 'Fatal Python error' not in stderr
  assert not out.exists()


# Moments of a job's start-up: Python has imported this module (lines of
# -X importtime come as each import ends).
_START_UP = {
    'the jobs package': 'experiments',
    'numpy': 'numpy',
    'jax': 'jax',
    'absl': 'absl',
    'the tracker': 'siamfc_jax.tracker',
}


@pytest.mark.slow
@pytest.mark.parametrize('job,moment', [
    *(('experiments.track', moment) for moment in _START_UP),
    ('experiments.evaluate', 'jax'),
])
def test_ctrl_c_while_a_job_starts_is_one_line(tmp_path, ctrl_c_interrupts,
                                               job, moment):
  process = _start_track(
      f'--output_dir={tmp_path / "out"}', job=job,
      python_args=('-X', 'importtime'))
  stderr = _ctrl_c_once(process, rf'\|\s+{re.escape(_START_UP[moment])}\n',
                        timeout=120)
  assert process.returncode == 130, stderr
  assert 'Traceback' not in stderr and 'KeyboardInterrupt' not in stderr
  last = [line for line in stderr.splitlines() if line.strip()][-1]
  assert last == 'interrupted', stderr[-2000:]


def test_importing_a_job_leaves_ctrl_c_alone():
  code = ('import signal; before = signal.getsignal(signal.SIGINT);'
          ' import experiments.track;'
          ' assert signal.getsignal(signal.SIGINT) is before')
  done = subprocess.run([sys.executable, '-c', code],
                        env=dict(os.environ, JAX_PLATFORMS='cpu'),
                        capture_output=True, text=True, timeout=120,
                        close_fds=False, check=False)
  assert done.returncode == 0, done.stderr


class LiveSource:
  """A camera: every read gives new frames (the demo's, one after the
  other), as many as the reads ask for."""

  def __init__(self, frames):
    self.frames = frames
    self.reads = 0
    self.given = 0

  def read_frames(self):
    self.reads += 1
    while True:
      frame = self.frames[self.given % len(self.frames)]
      self.given += 1
      yield frame


def test_a_live_source_is_read_once_and_rendered_as_tracked(tmp_path):
  demo_frames = list(demo.demo_sequence(8))
  camera = LiveSource(demo_frames)
  sequence = sequences.truncate(sequences.Sequence(
      name='camera0', num_frames=None, read_frames=camera.read_frames), 4)
  record = track_lib.track_sequence(
      track_3s.get_config(), sequence, init_box=demo.demo_sequence(
          1).groundtruth[0], output_dir=tmp_path,
      render_path=tmp_path / 'r.gif', show_progress=False)
  assert camera.reads == 1 and camera.given == record['frames'] == 4
  rendered = list(sequences.load_video(tmp_path / 'r.gif'))
  assert len(rendered) == 4
  predicted = sequences.read_boxes(tmp_path / 'camera0.txt')
  for i, frame in enumerate(rendered):
    # Frame i of the camera, with box i drawn: away from the boxes the
    # frame is the one tracked.
    outside = np.ones(frame.shape[:2], bool)
    x, y, w, h = np.round(predicted[i]).astype(int)
    outside[max(y - 4, 0):y + h + 3, max(x - 4, 0):x + w + 3] = False
    error = np.abs(frame.astype(int) - demo_frames[i])[outside].mean()
    others = [np.abs(frame.astype(int) - f)[outside].mean()
              for j, f in enumerate(demo_frames) if j != i]
    assert error < min(others), (i, error, others)

"""Tests of experiments/benchmark_speed.py: the PyTorch reference, the run."""

import json

import jax
import numpy as np
import pytest

torch = pytest.importorskip('torch')

from experiments import benchmark_speed  # noqa: E402  (needs torch)
from siamfc_jax import checkpoints  # noqa: E402
from siamfc_jax import model as model_lib  # noqa: E402
from siamfc_jax.configs import benchmark_speed as config_lib  # noqa: E402


def _tiny_config(output):
  config = config_lib.get_config()
  config.frame_shape = (90, 160)
  config.rounds = 2
  config.warmup_frames = 1
  config.frames = 2
  config.check_frames = 3
  config.init_repeats = 1
  config.scan_repeats = 1
  config.train_batch_size = 2
  config.train_warmup_steps = 0
  config.train_steps = 1
  config.ours = {'default': config.ours.default.to_dict()}
  config.ours.default.scales = (3,)
  config.ours.default.sequences = 2
  config.torch = {'float32': config.torch.float32.to_dict()}
  config.torch.float32.scales = (3,)
  config.output = str(output)
  return config


def test_torch_embedding_matches_ours():
  config = config_lib.get_config()
  track = benchmark_speed.track_config(config, config.ours.default, 3)
  variables = checkpoints.load_for_tracking(track)
  net = model_lib.create_model(track.model)
  images = np.random.default_rng(0).uniform(
      0, 255, (2, 127, 127, 3)).astype(np.float32)
  ours = jax.device_get(net.apply(variables, images, method=net.embed))
  reference = benchmark_speed.TorchSiamFC(track.model).load_variables(
      variables).eval()
  with torch.no_grad():
    theirs = reference(torch.from_numpy(images).permute(0, 3, 1, 2))
  theirs = theirs.permute(0, 2, 3, 1).numpy()
  assert theirs.shape == ours.shape == (2, 6, 6, 256)
  np.testing.assert_allclose(theirs, ours, rtol=1e-4,
                             atol=1e-5 * np.abs(ours).max())


def test_keys_cubic_matrix_is_our_upsampling():
  scores = np.random.default_rng(0).normal(size=(3, 17, 17))
  weights = benchmark_speed.keys_cubic_matrix(17, 272)
  np.testing.assert_allclose(
      weights @ scores @ weights.T,
      jax.image.resize(scores.astype(np.float32), (3, 272, 272), 'cubic'),
      atol=1e-5)


@pytest.mark.slow
def test_run_writes_the_record(tmp_path):
  config = _tiny_config(tmp_path / 'speed.json')
  record = benchmark_speed.run(config)
  saved = json.loads((tmp_path / 'speed.json').read_text())
  assert saved == json.loads(json.dumps(record))
  assert {'date', 'machine', 'versions', 'git_revision', 'config', 'results',
          'reference', 'speedups', 'box_max_abs_diff'} <= saved.keys()
  assert {'jax', 'jaxlib', 'flax', 'torch'} <= saved['versions'].keys()
  ours = saved['results']['ours']['default']
  theirs = saved['results']['torch']['float32']
  assert ours['ms'].keys() == {'init', 'track3', 'scan3', 'batch3', 'train'}
  assert theirs['ms'].keys() == {'init', 'track3', 'train'}
  assert all(v > 0 for v in [*ours['ms'].values(), *theirs['ms'].values()])
  # Every round timed every metric of every entry.
  assert ours['samples'] == {'init': 2, 'track3': 4, 'scan3': 2,
                             'batch3': 4, 'train': 2}
  assert theirs['samples'] == {'init': 2, 'track3': 4, 'train': 2}
  assert all(len(v) == 2 for v in ours['round_ms'].values())
  # Speed-ups are paired round by round: torch's time over ours.
  track3 = saved['speedups']['default']['track3']
  per_round = np.divide(theirs['round_ms']['track3'],
                        ours['round_ms']['track3'])
  assert track3['median'] == pytest.approx(np.median(per_round), abs=1e-3)
  assert track3['low'] <= track3['median'] <= track3['high']
  # The same initial network and batch: the same loss.
  np.testing.assert_allclose(theirs['train_first_loss'],
                             ours['train_first_loss'], rtol=1e-4)
  assert saved['speedups']['default'].keys() == {'init', 'track3', 'scan3',
                                                 'batch3', 'train'}
  # Batched sequences track as one sequence alone does.
  assert ours['batch_box_diff']['3'] < 1e-3
  assert saved['reference']['float32']['track3']['entry'] == 'torch/float32'
  # The reference tracks exactly as we do.
  assert saved['box_max_abs_diff']['torch/float32']['3'] < 1e-2
  assert len(theirs['boxes']['3']) == 3
  lines = benchmark_speed.summary_lines(saved)
  assert lines[0].split()[:5] == ['ms', 'init', 'track3', 'scan3', 'batch3']
  assert 'boxes of batch3 differ from track3' in lines[-1]


@pytest.mark.slow
def test_failed_workers_are_recorded_and_the_run_goes_on(tmp_path,
                                                         monkeypatch):
  config = _tiny_config(tmp_path / 'speed.json')
  quick = dict(config.ours.default.to_dict(), sequences=1, scan=False,
               train=False)
  config.ours = {'default': quick, 'killed': quick,
                 'broken': dict(quick, dtype='float7')}
  config.torch = {}
  time_chunk = benchmark_speed.EntryProcess.time

  def killing_time(worker, metric):
    if worker.name == 'killed':  # Dies between two requests.
      worker._process.kill()  # pylint: disable=protected-access
      worker._process.wait()  # pylint: disable=protected-access
    return time_chunk(worker, metric)

  monkeypatch.setattr(benchmark_speed.EntryProcess, 'time', killing_time)
  record = benchmark_speed.run(config)
  results = record['results']['ours']
  assert results.keys() == {'default', 'killed', 'broken'}
  # The error is the end of the worker's log and how it exited.
  assert "TypeError: data type 'float7'" in results['broken']['error']
  assert results['broken']['error'].endswith('exit status 1')
  assert results['killed']['error'].endswith('exit status -9')
  assert results['default']['samples'] == {'init': 2, 'track3': 4}
  lines = benchmark_speed.summary_lines(record)
  assert sorted(line.split() for line in lines if 'failed' in line) == [
      ['ours/broken', 'failed'], ['ours/killed', 'failed']]

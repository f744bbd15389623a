"""Tests of experiments/benchmark_speed.py and its PyTorch reference
(experiments/benchmark_lib/torch_reference.py): each part of the reference
that repeats one of ours is checked equal to ours, then the run."""

import json

import jax
import ml_collections
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip('torch')

from experiments import benchmark_speed  # noqa: E402  (needs torch)
from experiments.benchmark_lib import torch_reference  # noqa: E402
from experiments.benchmark_lib import workers  # noqa: E402
from siamfc_jax import boxes  # noqa: E402
from siamfc_jax import weights  # noqa: E402
from siamfc_jax import crops  # noqa: E402
from siamfc_jax import model as model_lib  # noqa: E402
from siamfc_jax import tracker  # noqa: E402
from siamfc_jax.configs import benchmark_speed as config_lib  # noqa: E402
from siamfc_jax.configs import track_3s  # noqa: E402


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
  variables = weights.load_for_tracking(track)
  net = model_lib.create_model(track.model)
  images = np.random.default_rng(0).uniform(
      0, 255, (2, 127, 127, 3)).astype(np.float32)
  ours = jax.device_get(net.apply(variables, images, method=net.embed))
  reference = torch_reference.TorchSiamFC(track.model).load_variables(
      variables).eval()
  with torch.no_grad():
    theirs = reference(torch.from_numpy(images).permute(0, 3, 1, 2))
  theirs = theirs.permute(0, 2, 3, 1).numpy()
  assert theirs.shape == ours.shape == (2, 6, 6, 256)
  # Float32 rounding of XLA's and oneDNN's convolutions: measured 2.1e-6
  # of the largest feature on an AMD EPYC (AVX2), 16% of this tolerance.
  np.testing.assert_allclose(theirs, ours, rtol=1e-4,
                             atol=1e-5 * np.abs(ours).max())


@pytest.mark.parametrize('method', tuple(tracker.UPSAMPLE_METHODS))
def test_upsampling_matrix_is_our_upsampling(method):
  scores = np.random.default_rng(0).normal(size=(3, 17, 17))
  weights = torch_reference.upsampling_matrix(17, 272, method)
  settings = _settings(upsample_method=method)
  np.testing.assert_allclose(
      weights @ scores @ weights.T,
      tracker.upsample_scores(jnp.asarray(scores, jnp.float32), settings),
      atol=1e-5)


def _settings(**overrides):
  config = track_3s.get_config()
  config.update(overrides)
  return tracker.Settings.from_config(config)


_MOVE = jax.jit(tracker.move, static_argnums=(2, 3))


@pytest.mark.parametrize('overrides, interpolate', [
    ({}, False),
    # Other values of every constant of the update.
    (dict(num_scales=5, scale_step=1.05, scale_penalty=0.9, scale_lr=0.4,
          window_influence=0.3, min_scale=0.5, max_scale=2.0), False),
    (dict(num_scales=1), False),
    (dict(clip_center=False, clamp_size=False), False),
    (dict(upsample_method='cubic_cv2'), False),
    # torch's own bicubic is cubic_cv2.
    (dict(upsample_method='cubic_cv2'), True),
])
def test_torch_move_is_tracker_move(overrides, interpolate):
  # Random targets (near the frame's edges too, and sizes beyond the
  # clamp) and score maps: the same scale, centre and size as ours, so
  # that a change to tracker.move alone fails here.
  settings = _settings(**overrides)
  move = torch_reference.TorchMove(settings, interpolate,
                                   torch.device('cpu'))
  rng = np.random.default_rng(0)
  frame_shape = (90, 160)
  clipped = clamped = 0
  for _ in range(10):
    center = rng.uniform(0, np.array(frame_shape) - 1).astype(np.float32)
    initial = rng.uniform(10, 60, 2).astype(np.float32)
    size = (initial * rng.uniform(0.1, 6)).astype(np.float32)
    scores = 2 * rng.normal(size=(settings.num_scales, 17, 17)).astype(
        np.float32)
    state = tracker.State(center=jnp.asarray(center), size=jnp.asarray(size),
                          initial_size=jnp.asarray(initial),
                          exemplar=jnp.zeros((1, 1, 1, 1)))
    side = np.float32(tracker.search_side(state, settings))
    ours, best = _MOVE(state, jnp.asarray(scores), frame_shape, settings)
    center_t, size_t, best_t = move(
        *map(torch.as_tensor, (center, size, initial, side, scores)),
        frame_shape)
    assert int(best_t[0]) == int(best)
    # Float32 rounding: measured up to 1.5e-5 px and 7.6e-6 of the size.
    np.testing.assert_allclose(center_t.numpy(), ours.center, atol=1e-3)
    np.testing.assert_allclose(size_t.numpy(), ours.size, rtol=1e-4)
    clipped += np.any(np.isin(ours.center, [0, *np.subtract(frame_shape, 1)]))
    clamped += np.any(np.isclose(ours.size, [settings.min_scale * initial,
                                             settings.max_scale * initial]))
  # The clip and the clamp were tested, where they are on.
  assert bool(clipped) == settings.clip_center
  assert bool(clamped) == settings.clamp_size


def test_torch_boxes_and_crops_are_ours():
  rng = np.random.default_rng(0)
  box = rng.uniform(1, 50, 4).astype(np.float32)
  center, size = torch_reference.xywh_to_center_size(torch.from_numpy(box))
  ours_center, ours_size = boxes.xywh_to_center_size(box)
  np.testing.assert_allclose(center, ours_center, rtol=1e-6)
  np.testing.assert_allclose(size, ours_size)
  np.testing.assert_allclose(
      torch_reference.center_size_to_xywh(center, size), box, rtol=1e-6)
  np.testing.assert_allclose(
      torch_reference.context_side(size, 0.5),
      crops.exemplar_size_in_frame(ours_size, 0.5), rtol=1e-6)
  # Windows reaching beyond the frame (padded) and within it.
  frame = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
  center = np.array([5.0, 150.0], np.float32)
  sides = np.array([100.0, 130.5, 40.0], np.float32)
  ours = crops.crop_pyramid(jnp.asarray(frame), center, sides, 63,
                            crops.mean_color(jnp.asarray(frame)))
  theirs = torch_reference.crops(
      torch.from_numpy(frame).permute(2, 0, 1).float(),
      torch.from_numpy(center), torch.from_numpy(sides), 63)
  # Float32 sampling positions: measured 3.7e-3 of 255.
  np.testing.assert_allclose(theirs.permute(0, 2, 3, 1), ours, atol=2e-2)


@pytest.mark.parametrize('option', [
    dict(pad_color='first_frame'), dict(crop_window='whole_pixels'),
    dict(update_precision='float64', clamp_size=False)])
def test_the_torch_tracker_refuses_options_it_lacks(option):
  with pytest.raises(ValueError, match=f'{next(iter(option))}=.* only'):
    torch_reference.check_settings(_settings(**option))


def test_tracking_timers_time_the_one_loop(tmp_path, monkeypatch):
  config = _tiny_config(tmp_path / 'speed.json')
  track = benchmark_speed.track_config(config, config.ours.default, 3)
  variables = weights.load_for_tracking(track)
  frames, box = benchmark_speed.benchmark_frames(config)
  loops = []
  one_loop = tracker.run

  def spy(*args, **kwargs):
    loops.append(one_loop(*args, **kwargs))
    return loops[-1]

  monkeypatch.setattr(tracker, 'run', spy)
  result, timers = dict(first_call_s={}, boxes={}), {}
  benchmark_speed._tracking_timers(  # pylint: disable=protected-access
      result, timers, 3,
      benchmark_speed.FrameByFrame(variables,
                                   tracker.Settings.from_config(track)),
      frames, box, config)
  samples = timers['track3']()
  expected = tracker.Tracker(variables, track).track(frames, box)
  assert len(loops) == 3  # The compiling pass, one timed chunk, Tracker.
  np.testing.assert_array_equal(loops[0].boxes, expected.boxes)
  np.testing.assert_array_equal(loops[1].boxes, expected.boxes)
  assert result['boxes']['3'] == expected.boxes[:3].round(4).tolist()
  assert result['first_call_s']['track3'] == loops[0].seconds[1]
  # The update times after the warm-up frames, from the loop's own timer.
  assert samples == list(loops[1].seconds[1 + config.warmup_frames:])
  assert len(samples) == config.frames


@pytest.mark.slow
def test_run_writes_the_record_and_survives_failed_workers(tmp_path,
                                                          monkeypatch):
  # One run (each worker compiles every step it times, which is most of
  # the cost): a working entry of ours and of torch's, and two that fail,
  # one at start-up and one killed between two requests.
  config = _tiny_config(tmp_path / 'speed.json')
  quick = dict(config.ours.default.to_dict(), sequences=1, scan=False,
               train=False)
  config.ours.killed = quick
  config.ours.broken = dict(quick, dtype='float7')
  time_chunk = workers.EntryProcess.time

  def killing_time(worker, metric):
    if worker.name == 'killed':
      worker._process.kill()  # pylint: disable=protected-access
      worker._process.wait()  # pylint: disable=protected-access
    return time_chunk(worker, metric)

  monkeypatch.setattr(workers.EntryProcess, 'time', killing_time)
  record = benchmark_speed.run(config)
  saved = json.loads((tmp_path / 'speed.json').read_text())
  assert saved == json.loads(json.dumps(record))
  assert {'date', 'machine', 'versions', 'git_revision', 'config', 'results',
          'reference', 'speedups', 'box_max_abs_diff'} <= saved.keys()
  assert {'jax', 'jaxlib', 'flax', 'torch'} <= saved['versions'].keys()
  results = saved['results']['ours']
  assert results.keys() == {'default', 'killed', 'broken'}
  # A failed worker's error is the end of its log and how it exited; the
  # run goes on with the others.
  assert "TypeError: data type 'float7'" in results['broken']['error']
  assert results['broken']['error'].endswith('exit status 1')
  assert results['killed']['error'].endswith('exit status -9')
  ours = results['default']
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
  assert sorted(line.split() for line in lines if 'failed' in line) == [
      ['ours/broken', 'failed'], ['ours/killed', 'failed']]


def test_entries_set_every_model_field_they_name():
  config = config_lib.get_config()
  entry = ml_collections.ConfigDict(dict(
      config.ours.default.to_dict(), ops='plain', dtype='bfloat16',
      split_groups=False))
  model = benchmark_speed.model_config(config, entry)
  assert (model.ops, model.dtype, model.split_groups) == (
      'plain', 'bfloat16', False)
  assert model.score_gain == config.track.model.score_gain


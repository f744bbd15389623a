"""Tests of the tracking core and the Tracker class."""

import imageio.v3 as iio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import siamfc_jax
from siamfc_jax import boxes
from siamfc_jax import checkpoints
from siamfc_jax import demo
from siamfc_jax import sequences
from siamfc_jax import tracker
from siamfc_jax.configs import track_3s
from siamfc_jax.configs import track_5s


def _settings(**overrides):
  config = track_3s.get_config()
  config.update(overrides)
  return tracker.Settings.from_config(config)


def _state(center=(100.0, 150.0), size=(40.0, 60.0)):
  size = jnp.asarray(size, jnp.float32)
  return tracker.State(center=jnp.asarray(center, jnp.float32), size=size,
                       initial_size=size,
                       exemplar=jnp.zeros((1, 6, 6, 256)))


def test_settings_from_configs():
  three = tracker.Settings.from_config(track_3s.get_config())
  five = tracker.Settings.from_config(track_5s.get_config())
  np.testing.assert_allclose(three.scale_factors, [1 / 1.0375, 1, 1.0375],
                             rtol=1e-6)
  assert five.num_scales == 5 and five.scale_lr == 0.34
  assert five.scale_penalty == 0.962 and five.window_influence == 0.168
  assert three.response_size == 17 and three.upsampled_size == 272
  assert hash(three) == hash(tracker.Settings.from_config(
      track_3s.get_config()))


@pytest.mark.parametrize('cell', [(11, 6), (8, 8), (3, 14)])
def test_move_follows_the_peak(cell):
  settings = _settings(window_influence=0.0)
  state = _state()
  scores = np.zeros((3, 17, 17), np.float32)
  scores[1][cell] = 10.0
  new, best = tracker.move(state, jnp.asarray(scores), (300, 400, 3),
                           settings)
  assert int(best) == 1
  side = float(tracker.search_side(state, settings))
  pixels_per_cell = 8 * side / 255
  expected = np.array([100.0, 150.0]) + (np.array(cell) - 8) * pixels_per_cell
  # The peak lands within half an upsampled cell of the cell centre.
  np.testing.assert_allclose(new.center, expected,
                             atol=pixels_per_cell / 16 / 2 + 1e-3)
  np.testing.assert_allclose(new.size, state.size)


def test_move_picks_the_best_scale_and_damps_it():
  settings = _settings()
  scores = np.zeros((3, 17, 17), np.float32)
  scores[2, 8, 8] = 10.0
  scores[1, 8, 8] = 5.0
  new, best = tracker.move(_state(), jnp.asarray(scores), (300, 400, 3),
                           settings)
  assert int(best) == 2
  expected_scale = 1 - 0.59 + 0.59 * 1.0375
  np.testing.assert_allclose(new.size, np.array([40.0, 60.0]) *
                             expected_scale, rtol=1e-5)
  np.testing.assert_allclose(new.center, [100.0, 150.0], atol=0.3)


def test_scale_penalty_prefers_the_middle_scale():
  scores = np.zeros((3, 17, 17), np.float32)
  scores[:, 8, 8] = 10.0
  _, best = tracker.move(_state(), jnp.asarray(scores), (300, 400, 3),
                         _settings())
  assert int(best) == 1


def test_size_and_centre_are_clamped():
  settings = _settings(window_influence=0.0)
  state = _state(center=(5.0, 5.0))
  grow = np.zeros((3, 17, 17), np.float32)
  grow[2, 0, 0] = 10.0  # Largest scale, top-left corner.
  for _ in range(100):
    state, _ = tracker.move(state, jnp.asarray(grow), (300, 400, 3), settings)
  np.testing.assert_allclose(state.size, 5 * state.initial_size, rtol=1e-5)
  np.testing.assert_allclose(state.center, [0.0, 0.0])
  shrink = np.zeros((3, 17, 17), np.float32)
  shrink[0, 16, 16] = 10.0
  for _ in range(300):
    state, _ = tracker.move(state, jnp.asarray(shrink), (300, 400, 3),
                            settings)
  np.testing.assert_allclose(state.size, 0.2 * state.initial_size, rtol=1e-5)
  np.testing.assert_allclose(state.center, [299.0, 399.0])


def test_hann_window():
  window = tracker.hann_window(272)
  assert window.shape == (272, 272)
  np.testing.assert_allclose(window.sum(), 1.0, rtol=1e-5)
  assert window[0, 0] == 0 and np.all(window == window.T)


@pytest.fixture(scope='module')
def untrained_tracker():
  config = track_3s.get_config()
  config.checkpoint = ''
  return tracker.Tracker(checkpoints.load_for_tracking(config), config)


def test_step_compiles_once_and_returns_boxes(untrained_tracker):
  frames = list(demo.demo_sequence(5))
  box = [150, 100, 60, 50]
  untrained_tracker.init(frames[0], box)
  before = tracker.step._cache_size()
  for frame in frames[1:]:
    result = untrained_tracker.update(frame)
    assert result.shape == (4,) and np.all(np.isfinite(result))
    assert boxes.is_valid(result)[0]
  assert tracker.step._cache_size() - before <= 1
  untrained_tracker.init(frames[0], box)
  untrained_tracker.update(frames[1])
  assert tracker.step._cache_size() - before <= 1


def test_track_returns_one_box_per_frame(untrained_tracker):
  sequence = demo.demo_sequence(4)
  result = untrained_tracker.track(sequence, sequence.groundtruth[0])
  assert result.boxes.shape == (4, 4)
  np.testing.assert_allclose(result.boxes[0], sequence.groundtruth[0])
  assert np.isnan(result.scores[0]) and np.all(np.isfinite(result.scores[1:]))
  assert result.seconds.shape == (4,) and np.all(result.seconds > 0)


def test_grayscale_frames_are_accepted(untrained_tracker):
  gray = np.random.default_rng(0).integers(0, 255, (120, 160), np.uint8)
  untrained_tracker.init(gray, [50, 40, 30, 20])
  assert np.all(np.isfinite(untrained_tracker.update(gray)))


def test_bad_input_gives_clear_errors():
  config = track_3s.get_config()
  fresh = tracker.Tracker(checkpoints.load_for_tracking(config), config)
  frame = np.zeros((100, 120, 3), np.uint8)
  with pytest.raises(RuntimeError, match='init'):
    fresh.update(frame)
  for bad in ([10, 10, 0, 5], [10, 10, np.nan, 5], [500, 500, 10, 10],
              [1, 2, 3]):
    with pytest.raises(boxes.BoxError):
      fresh.init(frame, bad)
  fresh.init(frame, [10, 10, 20, 20])
  with pytest.raises(sequences.SequenceError, match='differs'):
    fresh.update(np.zeros((100, 121, 3), np.uint8))
  with pytest.raises(sequences.SequenceError, match='image'):
    fresh.update(np.zeros((100, 120, 2), np.uint8))


def test_init_embeds_the_exemplar_once(untrained_tracker):
  frame = np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)
  state = tracker.init(untrained_tracker.variables, frame,
                       np.array([50.0, 60.0, 40.0, 30.0]),
                       settings=untrained_tracker.settings)
  assert state.exemplar.shape == (1, 6, 6, 256)
  np.testing.assert_allclose(state.center, [60 - 1 + 14.5, 50 - 1 + 19.5])
  np.testing.assert_allclose(state.size, [30.0, 40.0])
  jax.block_until_ready(state)


def test_from_pretrained_and_track_function(tmp_path):
  config = track_3s.get_config()
  weights = tmp_path / 'w.msgpack'
  checkpoints.save_weights(weights, checkpoints.load_for_tracking(config))
  tracker_from_file = tracker.Tracker.from_pretrained(checkpoint=weights)
  assert tracker_from_file.settings.num_scales == 3
  sequence = demo.demo_sequence(3)
  frames = list(sequence)
  iio.imwrite(tmp_path / 'clip.mp4', np.stack(frames), fps=10)
  (tmp_path / 'seq' / 'img').mkdir(parents=True)
  for i, frame in enumerate(frames, start=1):
    iio.imwrite(tmp_path / 'seq' / 'img' / f'{i:08d}.png', frame)
  for source in (frames, tmp_path / 'clip.mp4', str(tmp_path / 'seq')):
    result = siamfc_jax.track(source, sequence.groundtruth[0],
                              checkpoint=weights)
    assert result.boxes.shape == (3, 4)
  # The frame-by-frame API gives the boxes of track().
  tracker_from_file.init(frames[0], sequence.groundtruth[0])
  np.testing.assert_allclose(
      [tracker_from_file.update(f) for f in frames[1:]], result.boxes[1:],
      atol=1e-4)


def test_interrupted_tracking_returns_the_frames_done(untrained_tracker):
  def frames():
    yield from demo.demo_sequence(3)
    raise KeyboardInterrupt

  result = untrained_tracker.track(frames(), demo.demo_sequence(1)
                                   .groundtruth[0])
  assert result.boxes.shape == (3, 4) and len(result.seconds) == 3

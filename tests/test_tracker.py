"""Tests of the tracking core and the Tracker class."""

import functools
import pickle
import time

import cv2
import imageio.v3 as iio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import siamfc_jax
from siamfc_jax import boxes
from siamfc_jax import weights
from siamfc_jax import crops
from siamfc_jax import demo
from siamfc_jax import sequences
from siamfc_jax import tracker
from siamfc_jax import validation
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s
from siamfc_jax.configs import track_5s
from siamfc_jax.configs import track_reference


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


def test_settings_are_a_frozen_view_of_the_config():
  config = track_5s.get_config()
  config.update(context=0.45, max_scale=4.0, clip_center=False)
  settings = tracker.Settings.from_config(config)
  # Every tracker field, defined once in base.tracker_config, and the model;
  # not the weights, so that any weights share one compiled step.
  assert set(settings.config) == {*base.tracker_config(), 'model'}
  for name in base.tracker_config():
    assert getattr(settings, name) == config[name], name
  config.checkpoint = 'other.msgpack'
  assert tracker.Settings.from_config(config) == settings
  changed = settings.replace(window_influence=0.2)
  assert changed.window_influence == 0.2 and settings.window_influence == 0.168
  assert changed != settings and hash(changed) != hash(settings)
  assert changed.replace(window_influence=0.168) == settings
  assert settings.replace(instance_size=239).response_size == 15
  with pytest.raises(validation.ConfigError,
                     match='config.window_influence=1.5: too large'):
    settings.replace(window_influence=1.5)
  with pytest.raises(AttributeError, match='frozen'):
    settings.scale_lr = 0.5
  with pytest.raises(AttributeError, match='no field'):
    settings.scale_rate  # pylint: disable=pointless-statement
  assert pickle.loads(pickle.dumps(changed)) == changed


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
  return tracker.Tracker(weights.load_for_tracking(config), config)


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


@pytest.mark.slow
def test_bad_input_gives_clear_errors():
  config = track_3s.get_config()
  fresh = tracker.Tracker(weights.load_for_tracking(config), config)
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


@pytest.mark.parametrize('frame,message', [
    # A float image scaled to [0, 1] would be tracked as a dark 8-bit one.
    (np.random.default_rng(0).random((100, 120, 3)),
     r'as if scaled to \[0, 1\]'),
    (np.full((100, 120, 3), 4095, np.uint16), r'from 4095 to 4095; expected'),
    (np.full((100, 120, 3), -1.0), 'from -1 to -1'),
    (np.full((100, 120, 3), np.nan, np.float32), 'NaN'),
    (np.ones((100, 120, 3), bool), 'dtype bool'),
])
def test_init_rejects_pixels_not_0_to_255(untrained_tracker, frame, message):
  with pytest.raises(ValueError, match=message):
    untrained_tracker.init(frame, [10, 10, 20, 20])


def test_init_takes_float_and_integer_pixels_0_to_255(untrained_tracker):
  frame = np.random.default_rng(0).integers(0, 256, (100, 120, 3))
  for pixels in (frame, frame.astype(np.float64), np.zeros((100, 120, 3))):
    untrained_tracker.init(pixels, [10, 10, 20, 20])


def test_init_rejects_a_box_of_another_shape(untrained_tracker):
  frame = np.zeros((100, 120, 3), np.uint8)
  for box in (np.array([[10, 10, 20, 20]]), [[10, 10], [20, 20]]):
    with pytest.raises(boxes.BoxError, match=r'shape \(4,\)\), got shape'):
      untrained_tracker.init(frame, box)


def test_update_checks_frames_of_another_dtype(untrained_tracker):
  frame = np.random.default_rng(0).integers(0, 256, (100, 120, 3), np.uint8)
  untrained_tracker.init(frame, [10, 10, 20, 20])
  with pytest.raises(sequences.SequenceError, match=r'scaled to \[0, 1\]'):
    untrained_tracker.update(frame / 255)


def test_from_pretrained_checks_the_config():
  config = track_3s.get_config()
  config.num_scales = 4
  with pytest.raises(validation.ConfigError, match='config.num_scales=4'):
    tracker.Tracker.from_pretrained(config)


def test_init_embeds_the_exemplar_once(untrained_tracker):
  frame = np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)
  state = tracker.init(untrained_tracker.variables, frame,
                       np.array([50.0, 60.0, 40.0, 30.0]),
                       settings=untrained_tracker.settings)
  assert state.exemplar.shape == (1, 6, 6, 256)
  np.testing.assert_allclose(state.center, [60 - 1 + 14.5, 50 - 1 + 19.5])
  np.testing.assert_allclose(state.size, [30.0, 40.0])
  jax.block_until_ready(state)


@pytest.mark.slow
def test_from_pretrained_and_track_function(tmp_path):
  config = track_3s.get_config()
  weights_file = tmp_path / 'w.msgpack'
  weights.save_weights(weights_file, weights.load_for_tracking(config))
  tracker_from_file = tracker.Tracker.from_pretrained(checkpoint=weights_file)
  assert tracker_from_file.settings.num_scales == 3
  sequence = demo.demo_sequence(3)
  frames = list(sequence)
  iio.imwrite(tmp_path / 'clip.mp4', np.stack(frames), fps=10)
  (tmp_path / 'seq' / 'img').mkdir(parents=True)
  for i, frame in enumerate(frames, start=1):
    iio.imwrite(tmp_path / 'seq' / 'img' / f'{i:08d}.png', frame)
  for source in (frames, tmp_path / 'clip.mp4', str(tmp_path / 'seq')):
    result = siamfc_jax.track(source, sequence.groundtruth[0],
                              checkpoint=weights_file)
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


def test_tracking_no_frames_is_a_clear_error(untrained_tracker):
  with pytest.raises(sequences.SequenceError, match='no frames to track'):
    untrained_tracker.track([], [10, 10, 20, 20])


def test_run_times_the_tracker_not_the_frame_reading():
  class Slow:
    """A tracker whose calls take 20 ms, on frames that take 50 ms."""

    def init(self, image, box):
      time.sleep(0.02)

    def update(self, image):
      time.sleep(0.02)
      return np.ones(4)

  def frames():
    for _ in range(3):
      time.sleep(0.05)
      yield np.zeros((8, 8, 3), np.uint8)

  result = tracker.run(Slow(), frames(), [1, 1, 2, 2])
  # Reading a frame (50 ms) would put a frame at 70 ms or more.
  assert np.all((result.seconds >= 0.02) & (result.seconds < 0.065))
  assert np.isnan(result.scores).all()  # No update_scored: no scores.


# --- siamfc-pytorch's steps (configs/track_reference.py) ------------------


def _reference_settings(**overrides):
  config = track_reference.get_config()
  config.update(overrides)
  return tracker.Settings.from_config(config)


def test_default_settings_keep_todays_steps():
  settings = _settings()
  assert (settings.pad_color, settings.crop_window, settings.crop_resample,
          settings.upsample_method, settings.update_precision) == (
              'frame_mean', 'subpixel', 'bilinear', 'cubic', 'float32')
  assert settings.clip_center and settings.clamp_size
  assert settings.use_score_bias
  # A config without the options (written before them) gets the same.
  config = track_3s.get_config()
  for name in ('pad_color', 'crop_window', 'crop_resample', 'clip_center',
               'clamp_size', 'upsample_method', 'use_score_bias',
               'update_precision'):
    del config[name]
  assert tracker.Settings.from_config(config) == settings


def test_reference_settings_and_bad_options():
  settings = _reference_settings()
  assert (settings.pad_color, settings.crop_window, settings.crop_resample,
          settings.upsample_method, settings.update_precision) == (
              'first_frame_rounded', 'whole_pixels', 'cv2_linear',
              'cubic_cv2', 'float64')
  assert not (settings.clip_center or settings.clamp_size
              or settings.use_score_bias)
  for bad in (dict(pad_color='median'), dict(upsample_method='linear'),
              dict(crop_window='rounded'), dict(update_precision='f64')):
    with pytest.raises(ValueError, match='not one of the options'):
      _reference_settings(**bad)
  with pytest.raises(ValueError, match='whole_pixels'):
    _reference_settings(crop_window='subpixel')
  with pytest.raises(ValueError, match='clamp_size'):
    _reference_settings(clamp_size=True)


def test_cubic_cv2_upsampling_is_cv2_resize():
  scores = np.random.default_rng(0).normal(size=(3, 17, 17)).astype(
      np.float32)
  want = np.stack([cv2.resize(s, (272, 272), interpolation=cv2.INTER_CUBIC)
                   for s in scores])
  got = tracker.upsample_scores(jnp.asarray(scores),
                                _settings(upsample_method='cubic_cv2'))
  np.testing.assert_allclose(np.asarray(got), want, atol=2e-6, rtol=0)
  # The default kernel (a = -0.5) is not cv2's: the comparison can fail.
  default = np.asarray(tracker.upsample_scores(jnp.asarray(scores),
                                               _settings()))
  assert np.abs(default - want).max() > 0.1


def test_centre_and_size_unclipped_when_asked():
  settings = _settings(window_influence=0.0, clip_center=False,
                       clamp_size=False)
  state = _state(center=(5.0, 5.0))
  grow = np.zeros((3, 17, 17), np.float32)
  grow[2, 0, 0] = 10.0  # Largest scale, top-left corner.
  for _ in range(100):
    state, _ = tracker.move(state, jnp.asarray(grow), (300, 400, 3), settings)
  assert np.all(state.center < -100)
  scale = 1 - 0.59 + 0.59 * 1.0375
  np.testing.assert_allclose(state.size, state.initial_size * scale ** 100,
                             rtol=1e-4)


def test_pad_colour_kept_from_the_first_frame():
  rng = np.random.default_rng(3)
  first = rng.integers(0, 256, (40, 50, 3), np.uint8)
  later = rng.integers(0, 100, (40, 50, 3), np.uint8)
  variables = weights.load_for_tracking(track_3s.get_config())
  box = np.array([10.0, 10.0, 20.0, 16.0])
  for mode, first_color in (
      ('frame_mean', crops.mean_color(first)),
      ('first_frame', crops.mean_color(first)),
      ('first_frame_rounded', np.round(np.mean(first, axis=(0, 1))))):
    settings = _settings(pad_color=mode)
    state = tracker.init(variables, first, box, settings=settings)
    np.testing.assert_allclose(state.pad_color, first_color, rtol=1e-6)
    later_color = tracker.frame_pad_color(state, later, settings)
    want = crops.mean_color(later) if mode == 'frame_mean' else first_color
    np.testing.assert_allclose(later_color, want, rtol=1e-6)


def test_score_bias_dropped_when_asked():
  variables = weights.load_for_tracking(track_3s.get_config())
  biased = {**variables, 'params': {**variables['params'],
                                    'score_bias': jnp.float32(3.0)}}
  unbiased = {**variables, 'params': {**variables['params'],
                                      'score_bias': jnp.float32(0.0)}}
  frames = list(demo.demo_sequence(2))
  box = demo.demo_sequence(1).groundtruth[0]
  peaks = {}
  for name, variables, use in (('biased', biased, True),
                             ('dropped', biased, False),
                             ('zero', unbiased, True)):
    settings = _settings(use_score_bias=use)
    state = tracker.init(variables, frames[0], box, settings=settings)
    peaks[name] = float(tracker.step(variables, state, frames[1],
                                     settings=settings)[2])
  assert peaks['dropped'] == peaks['zero']
  np.testing.assert_allclose(peaks['biased'] - peaks['zero'], 3.0, rtol=1e-5)


def test_float64_update_is_siamfc_pytorchs_numpy():
  """The float32-pair update against NumPy float64, as siamfc-pytorch does.

  A float32 update differs from NumPy's in about one centre in five; here
  none may.
  """
  settings = _reference_settings()
  rng = np.random.default_rng(0)
  count = 20_000
  center = rng.uniform(-50, 1000, (count, 2)).astype(np.float32)
  size = rng.uniform(5, 400, (count, 2)).astype(np.float32)
  x_sz = rng.uniform(20, 2000, count)
  offset = (rng.integers(0, 272, (count, 2)) - 135.5) * 8 / 16
  best = rng.integers(0, 3, count)
  factors = 1.0375 ** np.linspace(-1, 1, 3)
  scale = (1 - 0.59) * 1.0 + 0.59 * factors[best]
  hi = x_sz.astype(np.float32)
  pairs = np.stack([hi, (x_sz - hi).astype(np.float32)], -1)
  state = tracker.State(center=center, size=size, initial_size=size,
                        exemplar=np.zeros((count, 1)),
                        search_side_pair=pairs)
  update = jax.jit(jax.vmap(functools.partial(tracker.update_float64,
                                              settings=settings)))
  new = update(state, offset.astype(np.float32), best)
  disp = offset * x_sz[:, None] * factors[best][:, None] / 255
  np.testing.assert_array_equal(new.center,
                                (center + disp).astype(np.float32))
  np.testing.assert_array_equal(new.size,
                                (size * scale[:, None]).astype(np.float32))
  np.testing.assert_allclose(
      np.asarray(new.search_side_pair, np.float64).sum(-1), x_sz * scale,
      rtol=1e-13)
  # Rounded pyramid sides: NumPy's round(x_sz * f), half to even.
  sides = jax.jit(jax.vmap(functools.partial(tracker.search_sides,
                                             settings=settings)))(new)
  np.testing.assert_array_equal(
      sides, np.round((x_sz * scale)[:, None] * factors[None]))
  # The float32 update is not NumPy's: the comparison can fail.
  plain = center + offset.astype(np.float32) * (
      x_sz.astype(np.float32) * factors[best].astype(np.float32)
      / np.float32(255))[:, None]
  assert np.mean(plain != (center + disp).astype(np.float32)) > 0.05


def test_first_search_side_is_numpys_float32():
  size = np.random.default_rng(1).uniform(5, 400, (10_000, 2)).astype(
      np.float32)
  context = np.float32(0.5) * size.sum(-1)
  z_sz = np.sqrt(np.prod(size + context[:, None], axis=-1))
  pairs = jax.jit(functools.partial(tracker.initial_search_side_pair,
                                    settings=_reference_settings()))(size)
  np.testing.assert_array_equal(pairs[:, 0], z_sz * np.float32(255) / 127)
  np.testing.assert_array_equal(pairs[:, 1], 0)


def _two_sizes(num_frames):
  """The demo sequence and a cut of it nearer the target, smaller frames."""
  sequence = demo.demo_sequence(num_frames)
  frames = list(sequence)
  box = sequence.groundtruth[0]
  top, left = 30, 40
  small = [f[top:top + 220, left:left + 300] for f in frames]
  return [frames, small], [box, box - [left, top, 0, 0]]


@pytest.mark.slow
@pytest.mark.parametrize('config_module', [track_3s, track_reference],
                         ids=['default', 'reference'])
def test_track_batch_gives_the_one_by_one_boxes(config_module):
  config = config_module.get_config()
  config.checkpoint = ''
  one = tracker.Tracker(weights.load_for_tracking(config), config)
  frame_lists, init_boxes = _two_sizes(5)
  batched = tracker.track_batch(one.variables, one.settings, frame_lists,
                                init_boxes)
  for frames, box, result in zip(frame_lists, init_boxes, batched):
    expected = one.track(frames, box)
    np.testing.assert_allclose(result.boxes, expected.boxes, atol=1e-3)

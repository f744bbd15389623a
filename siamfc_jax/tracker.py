"""SiamFC tracking: a pure, jitted ``init``/``step`` core and a thin class.

The functional core keeps everything on the device: the exemplar features
are computed once, and each ``step`` crops the scale pyramid, scores it,
upsamples the scores, blends them with a Hann window, moves to the peak and
applies the damped scale update, returning only the new state, the box and
the peak score. ``run`` is the one host loop over frames, for the
``Tracker`` class and anything else with ``init``/``update``.

Options of ``Settings`` (see configs/base.tracker_config) switch each step
that siamfc-pytorch does differently to its behaviour; all of them together
(configs/track_reference.py) reproduce its boxes for the same weights
(docs/fidelity.md).
"""

import functools
import os
import pathlib
import time
from typing import Any, Mapping, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from siamfc_jax import boxes
from siamfc_jax import weights
from siamfc_jax import crops
from siamfc_jax import model as model_lib
from siamfc_jax import sequences
from siamfc_jax import validation
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s

Variables = Mapping[str, Any]

# Padding colours: each frame's own mean (float), or the first frame's mean
# kept for the whole sequence, as MATLAB SiamFC (float) and siamfc-pytorch
# (rounded to integers by cv2.copyMakeBorder) do.
PAD_COLORS = ('frame_mean', 'first_frame', 'first_frame_rounded')
# Response upsampling: jax.image.resize methods. 'cubic' is Keys' a = -0.5
# (MATLAB's imresize); 'cubic_cv2' is a = -0.75 with the border replicated,
# equal to cv2.resize(INTER_CUBIC) (siamfc-pytorch) to float rounding.
UPSAMPLE_METHODS = {'cubic': 'cubic', 'cubic_cv2': 'cubic-pytorch'}
# Arithmetic of the target update: float32, or siamfc-pytorch's NumPy
# float64 (emulated with float32 pairs, see "Float64 arithmetic" below).
UPDATE_PRECISIONS = ('float32', 'float64')


class Settings:
  """The jit-static tracker settings: a hashable, frozen view of a config.

  Holds the tracker fields of a track config (those of
  ``configs/base.tracker_config``, which defines each of them and its
  default) and its ``model``; ``settings.num_scales`` etc. read them. The
  properties are the values derived from them. Build it with
  ``from_config``, which checks the fields (siamfc_jax/validation.py).
  """

  __slots__ = ('config', '_key')

  def __init__(self, config: ml_collections.FrozenConfigDict):
    object.__setattr__(self, 'config', config)
    # jit hashes (and, for an equal copy, compares) its static arguments on
    # every call; FrozenConfigDict's own hash and == take ~30 us and ~1 ms.
    object.__setattr__(self, '_key', _items(config))

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> 'Settings':
    """The settings of a track config; a ConfigError if a field is bad."""
    fields = base.tracker_fields(config)
    validation.check_tracker(fields)
    fields.model = config.model
    return cls(ml_collections.FrozenConfigDict(fields))

  def __getattr__(self, name: str):
    if name.startswith('_') or name == 'config':  # Not set (yet).
      raise AttributeError(name)
    try:
      return self.config[name]
    except KeyError:
      raise AttributeError(f'Settings have no field {name!r}') from None

  def __setattr__(self, name: str, value) -> None:
    raise AttributeError(f'Settings are frozen: use settings.replace({name}='
                         '...)')

  def __reduce__(self):
    return Settings, (self.config,)

  def __hash__(self) -> int:
    return hash(self._key)

  def __eq__(self, other) -> bool:
    return isinstance(other, Settings) and self._key == other._key

  def __repr__(self) -> str:
    return f'Settings({self.config.to_dict()!r})'

  def replace(self, **fields) -> 'Settings':
    """These settings with ``fields`` changed (and checked)."""
    config = ml_collections.ConfigDict(self.config)
    config.update(fields)
    return Settings.from_config(config)

  def create_model(self) -> model_lib.SiamFC:
    return model_lib.create_model(self.config.model)

  @property
  def scale_factors(self) -> np.ndarray:
    exponents = np.arange(self.num_scales) - (self.num_scales - 1) / 2
    return (self.scale_step ** exponents).astype(np.float32)

  @property
  def crop_options(self) -> dict[str, str]:
    return dict(window=self.crop_window, resample=self.crop_resample)

  @property
  def update_factors(self) -> np.ndarray:
    """Float64 scale factors and damped scale changes, (2, S)."""
    factors = self.scale_step ** np.linspace(
        -(self.num_scales // 2), self.num_scales // 2, self.num_scales)
    return np.stack([factors,
                     1 - self.scale_lr + self.scale_lr * factors])

  @property
  def response_size(self) -> int:
    return model_lib.response_size(self.exemplar_size, self.instance_size)

  @property
  def upsampled_size(self) -> int:
    return self.response_size * self.response_upsample


def _items(config: ml_collections.FrozenConfigDict) -> tuple:
  """(name, value) pairs of ``config``, sorted, nested configs as pairs."""
  return tuple(sorted(
      (name, _items(value) if isinstance(value, ml_collections.FrozenConfigDict)
       else value) for name, value in config.items()))


# The fields a sweep (siamfc_jax/sweep.py) varies. The step reads them only
# through ``Hyper``, so settings that differ in nothing else can share one
# compiled step, their values passed as arrays.
SWEPT_FIELDS = ('scale_step', 'scale_penalty', 'scale_lr', 'window_influence')


class Hyper(NamedTuple):
  """The values of SWEPT_FIELDS that the step uses, float32 (``hyper``).

  They are the constants a step with static settings computes, made on the
  host, so the step gives the same boxes whether they are constants or
  traced arrays (a sweep's, with a leading settings axis).
  """

  scale_factors: Any  # (S,) settings.scale_factors.
  penalties: Any  # (S,) 1 for the middle scale, scale_penalty elsewhere.
  scale_keep: Any  # () 1 - scale_lr.
  scale_lr: Any  # ()
  window_keep: Any  # () 1 - window_influence.
  window: Any  # (U, U) window_influence times the Hann window.
  update_pairs: Any  # (2, 2, S) update_factors as float32 (hi, lo) pairs.


def hyper(settings: 'Settings') -> Hyper:
  """The ``Hyper`` values of ``settings``, as NumPy arrays."""
  middle = np.arange(settings.num_scales) == settings.num_scales // 2
  return Hyper(
      scale_factors=settings.scale_factors,
      penalties=np.where(middle, 1.0, settings.scale_penalty).astype(
          np.float32),
      scale_keep=np.float32(1 - settings.scale_lr),
      scale_lr=np.float32(settings.scale_lr),
      window_keep=np.float32(1 - settings.window_influence),
      window=settings.window_influence * hann_window(settings.upsampled_size),
      update_pairs=np.stack([np.stack(_pair_constant(v))
                             for v in settings.update_factors]))


class State(flax.struct.PyTreeNode):
  """What the tracker carries from frame to frame."""

  center: jax.Array  # (2,) 0-based (cy, cx).
  size: jax.Array  # (2,) target (h, w).
  initial_size: jax.Array  # (2,) target (h, w) in the first frame.
  exemplar: jax.Array  # (1, h', w', C) exemplar features.
  # (C,) the first frame's padding colour, used for every frame unless
  # settings.pad_color is 'frame_mean'.
  pad_color: jax.Array | None = None
  # (2,) float32 pair (hi, lo): the middle-scale search side carried from
  # frame to frame (settings.update_precision 'float64'), else None.
  search_side_pair: jax.Array | None = None


def initial_pad_color(frame: jax.Array, settings: Settings) -> jax.Array:
  """The padding colour of the first frame, (C,) float32."""
  if settings.pad_color == 'first_frame_rounded':
    return crops.rounded_mean_color(frame)
  return crops.mean_color(frame)


def frame_pad_color(state: State, frame: jax.Array,
                    settings: Settings) -> jax.Array:
  """The padding colour of a later frame: its own mean or the kept one."""
  if settings.pad_color == 'frame_mean':
    return crops.mean_color(frame)
  return state.pad_color


def network_variables(variables: Variables, settings: Settings) -> Variables:
  """``variables``, with the score bias zeroed unless it is used."""
  if settings.use_score_bias:
    return variables
  params = dict(variables['params'])
  params['score_bias'] = jnp.zeros_like(params['score_bias'])
  return {**variables, 'params': params}


@functools.partial(jax.jit, static_argnames='settings')
def init(variables: Variables, frame: jax.Array, box: jax.Array, *,
         settings: Settings) -> State:
  """Starts tracking the 1-based (x, y, w, h) ``box`` in ``frame``."""
  net = settings.create_model()
  center, size = boxes.xywh_to_center_size(jnp.asarray(box, jnp.float32))
  exemplar_side = crops.exemplar_size_in_frame(size, settings.context)
  pad_color = initial_pad_color(frame, settings)
  patch = crops.crop(frame, center, exemplar_side, settings.exemplar_size,
                     pad_color, **settings.crop_options)
  exemplar = net.apply(variables, patch[None], method=net.embed)
  return State(center=center, size=size, initial_size=size, exemplar=exemplar,
               pad_color=pad_color,
               search_side_pair=initial_search_side_pair(size, settings))


def hann_window(size: int) -> np.ndarray:
  """Outer product of Hann windows, normalised to sum to one."""
  window = np.outer(np.hanning(size), np.hanning(size))
  return (window / window.sum()).astype(np.float32)


def search_side(state: State, settings: Settings) -> jax.Array:
  """Side, in frame pixels, of the middle-scale search window.

  Follows from the target size, or is the carried ``search_side_pair``.
  """
  if state.search_side_pair is not None:
    return state.search_side_pair[..., 0]
  return (crops.exemplar_size_in_frame(state.size, settings.context)
          * settings.instance_size / settings.exemplar_size)


def search_sides(state: State, settings: Settings,
                 values: Hyper | None = None) -> jax.Array:
  """(S,) sides of the scale pyramid's windows, in frame pixels.

  With ``update_precision='float64'`` they are siamfc-pytorch's float64
  ``x_sz * f``, rounded to whole pixels (as its crop will) with
  ``crop_window='whole_pixels'``. ``values``: the swept fields' values,
  default ``hyper(settings)``.
  """
  values = hyper(settings) if values is None else values
  if settings.update_precision == 'float32':
    return search_side(state, settings) * jnp.asarray(values.scale_factors)
  sides = _pair_mul(_pair_split(state.search_side_pair),
                    tuple(values.update_pairs[0]))
  if settings.crop_window == 'whole_pixels':
    return _pair_round(sides)
  return sides[0]


def upsample_scores(scores: jax.Array, settings: Settings) -> jax.Array:
  """(S, 17, 17) scores -> (S, 272, 272), by ``settings.upsample_method``."""
  up = settings.upsampled_size
  return jax.image.resize(scores, (scores.shape[0], up, up),
                          UPSAMPLE_METHODS[settings.upsample_method],
                          antialias=False)


def move(state: State, scores: jax.Array, frame_shape: tuple[int, ...],
         settings: Settings,
         values: Hyper | None = None) -> tuple[State, jax.Array]:
  """Updates the target from the (S, 17, 17) scores of the scale pyramid.

  Upsamples the scores (bicubic), penalises the non-middle scales, picks the
  best scale, blends its normalised response with a Hann window, moves the
  centre to the peak (clipped to the frame if ``settings.clip_center``) and
  damps the scale change (clamped if ``settings.clamp_size``).
  ``values``: the swept fields' values, default ``hyper(settings)``.

  Returns:
    (new state, index of the chosen scale).
  """
  values = hyper(settings) if values is None else values
  factors = jnp.asarray(values.scale_factors)
  up = settings.upsampled_size
  upsampled = upsample_scores(scores, settings)
  upsampled = upsampled * jnp.asarray(values.penalties)[:, None, None]
  best = jnp.argmax(jnp.max(upsampled, axis=(1, 2)))

  response = upsampled[best]
  response = response - jnp.min(response)
  response = response / jnp.maximum(jnp.sum(response), 1e-16)
  response = values.window_keep * response + values.window
  peak = jnp.stack(jnp.unravel_index(jnp.argmax(response), response.shape))

  # Peak offset in upsampled cells -> search-crop pixels -> frame pixels.
  offset = (peak - (up - 1) / 2) * (settings.total_stride
                                   / settings.response_upsample)
  if settings.update_precision == 'float64':
    state = update_float64(state, offset, best, settings, values)
    center, size = state.center, state.size
  else:
    offset = (offset * search_side(state, settings) * factors[best]
              / settings.instance_size)
    center = state.center + offset
    scale = values.scale_keep + values.scale_lr * factors[best]
    size = state.size * scale
  if settings.clip_center:
    limits = jnp.array(frame_shape[:2], jnp.float32) - 1
    center = jnp.clip(center, 0.0, limits)
  if settings.clamp_size:
    size = jnp.clip(size, settings.min_scale * state.initial_size,
                    settings.max_scale * state.initial_size)
  return state.replace(center=center, size=size), best


# Float64 arithmetic of siamfc-pytorch, emulated with pairs of float32
# (hi, lo), hi + lo holding ~48 bits. siamfc-pytorch moves its float32
# centre by a float64 offset and carries a float64 search side; a float32
# update lands an ulp away in one update of five to eight, which flips the
# window's rounded corner where it sits on a half pixel, and the boxes part
# (docs/fidelity.md, item 9). Products
# split their factors into 12-bit halves (by masking bits, not by
# multiplying) so that every partial product is exact.


def _pair_split(pair):
  return pair[..., 0], pair[..., 1]


def _pair_constant(values):
  hi = np.asarray(values, np.float32)
  return hi, (np.asarray(values, np.float64) - hi).astype(np.float32)


def _two_sum(a, b):
  total = a + b
  b_part = total - a
  return total, (a - (total - b_part)) + (b - b_part)


def _halves(a):
  bits = jax.lax.bitcast_convert_type(a, jnp.uint32) & jnp.uint32(0xFFFFF000)
  high = jax.lax.bitcast_convert_type(bits, jnp.float32)
  return high, a - high


def _two_product(a, b):
  product = a * b
  a_hi, a_lo = _halves(a)
  b_hi, b_lo = _halves(b)
  error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
  return product, error


def _pair_mul(x, y):
  product, error = _two_product(x[0], y[0])
  return _two_sum(product, error + (x[0] * y[1] + x[1] * y[0]))


def _pair_add(x, y):
  total, error = _two_sum(x[0], y[0])
  return _two_sum(total, error + (x[1] + y[1]))


def _pair_div(x, divisor: float):
  # XLA turns a division by a constant into a product with its reciprocal,
  # so the first quotient may be off; the remainder corrects it.
  first = x[0] / divisor
  product, error = _two_product(first, jnp.float32(divisor))
  remainder = ((x[0] - product) - error) + x[1]
  return _two_sum(first, remainder / divisor)


def _pair_round(x):
  """round_half_even(hi + lo) as float32."""
  hi, lo = x
  low = jnp.floor(hi)
  tie = hi - low == 0.5
  return jnp.where(tie & (lo > 0), low + 1,
                   jnp.where(tie & (lo < 0), low, jnp.round(hi)))


def initial_search_side_pair(size, settings: Settings) -> jax.Array | None:
  """siamfc-pytorch's first ``x_sz = z_sz * 255 / 127`` (float32), a pair."""
  if settings.update_precision == 'float32':
    return None
  exemplar = crops.exemplar_size_in_frame(size, settings.context)
  side, _ = _pair_div((exemplar * settings.instance_size,
                       jnp.zeros_like(exemplar)), settings.exemplar_size)
  return jnp.stack([side, jnp.zeros_like(side)], axis=-1)


def update_float64(state: State, offset, best, settings: Settings,
                   values: Hyper | None = None) -> State:
  """siamfc-pytorch's target update, in its NumPy float64 arithmetic.

  ``center += offset * x_sz * f / 255`` (float32 centre, float64 sum),
  ``target_sz *= scale`` (float32), ``x_sz *= scale`` (float64), with
  ``f`` and ``scale`` the float64 factor and damped change of scale
  ``best``.

  Args:
    state: needs ``search_side_pair`` (``x_sz``).
    offset: (2,) peak offset in search-crop pixels, (loc - 135.5) * 8 / 16.
    best: index of the chosen scale.
    settings: the tracker settings.
    values: the swept fields' values, default ``hyper(settings)``.
  """
  values = hyper(settings) if values is None else values
  factor, scale = (tuple(jnp.asarray(v)[best] for v in pairs)
                   for pairs in values.update_pairs)
  side = _pair_split(state.search_side_pair)
  zeros = jnp.zeros_like(offset)
  offset = _pair_mul(_pair_mul((offset, zeros), side), factor)
  offset = _pair_div(offset, settings.instance_size)
  center, _ = _pair_add((state.center, jnp.zeros_like(state.center)), offset)
  size, _ = _pair_mul((state.size, jnp.zeros_like(state.size)), scale)
  side = jnp.stack(_pair_mul(side, scale), axis=-1)
  return state.replace(center=center, size=size, search_side_pair=side)


@functools.partial(jax.jit, static_argnames='settings')
def step(variables: Variables, state: State, frame: jax.Array, *,
         settings: Settings) -> tuple[State, jax.Array, jax.Array]:
  """Tracks one frame.

  Returns:
    (new state, 1-based (x, y, w, h) box, peak score of the chosen scale).
  """
  net = settings.create_model()
  variables = network_variables(variables, settings)
  sides = search_sides(state, settings)
  pyramid = crops.crop_pyramid(frame, state.center, sides,
                               settings.instance_size,
                               frame_pad_color(state, frame, settings),
                               **settings.crop_options)
  search = net.apply(variables, pyramid, method=net.embed)
  scores = net.apply(variables, state.exemplar, search[None],
                     method=net.score)[0]
  state, best = move(state, scores, frame.shape, settings)
  return (state, boxes.center_size_to_xywh(state.center, state.size),
          jnp.max(scores[best]))


class TrackResult(NamedTuple):
  boxes: np.ndarray  # (N, 4) 1-based x, y, w, h; row 0 is the initial box.
  scores: np.ndarray  # (N,) peak scores; NaN for the first frame.
  seconds: np.ndarray  # (N,) wall time per frame, device work included.


class Tracker:
  """Stateful wrapper with the ``init(image, box)`` / ``update(image)`` API.

  Images are (H, W, 3) RGB or (H, W) grayscale arrays; boxes are 1-based
  (x, y, w, h). All frames of one sequence must have the same size.
  """

  def __init__(self, variables: Variables, config: ml_collections.ConfigDict):
    self.variables = variables
    self.settings = Settings.from_config(config)
    self._state = None
    self._frame_shape = None
    self._dtype = None

  @classmethod
  def from_pretrained(cls, config: ml_collections.ConfigDict | None = None,
                      *, checkpoint: str | None = None) -> 'Tracker':
    """A tracker with the shipped weights (or ``checkpoint``).

    Args:
      config: a track config; default siamfc_jax/configs/track_3s.py.
      checkpoint: a weights file (.msgpack, .mat, .tflite or .pth) to use
        instead.
    """
    config = config or track_3s.get_config()
    if checkpoint:
      config = config.copy_and_resolve_references()
      config.checkpoint = str(checkpoint)
    validation.check_track(config)
    return cls(weights.load_for_tracking(config), config)

  def init(self, image, box) -> None:
    """Starts tracking ``box``, 1-based (x, y, w, h), in ``image``.

    ``image`` holds RGB (or gray) values 0..255; a float image scaled to
    [0, 1], or a box of another shape than (4,), raises a ValueError.
    """
    sequences.check_pixels(image, where='first frame')
    self._dtype = np.asarray(image).dtype
    image = sequences.to_rgb(image)
    if np.shape(box) != (4,):
      raise boxes.BoxError(f'initial box: expected 4 numbers x,y,w,h (shape'
                           f' (4,)), got shape {np.shape(box)}')
    box = boxes.check_box(box, image.shape, where='initial box')
    self._frame_shape = image.shape
    # Waited for, so that a caller timing init times the device work too.
    self._state = jax.block_until_ready(self._start(image, box))

  def _start(self, image, box) -> State:
    return init(self.variables, image, box, settings=self.settings)

  def _step(self, frame):
    return step(self.variables, self._state, frame, settings=self.settings)

  def update(self, image) -> np.ndarray:
    """Tracks one more frame and returns its box."""
    box, _ = self.update_scored(image)
    return box

  def update_scored(self, image) -> tuple[np.ndarray, float]:
    """Tracks one more frame: (its box, the peak score), on the host."""
    box, score = jax.device_get(self._update(image))
    return np.asarray(box, np.float64), float(score)

  def _update(self, image):
    if self._state is None:
      raise RuntimeError('call init(image, box) before update(image)')
    if np.asarray(image).dtype != self._dtype:
      # The range is checked on the first frame (a dark frame later on is
      # no mistake), and again where the dtype changes (e.g. frames scaled
      # to [0, 1] after a uint8 one).
      sequences.check_pixels(image)
    image = sequences.to_rgb(image)
    if image.shape != self._frame_shape:
      raise sequences.SequenceError(
          f'frame of shape {image.shape} differs from the first frame'
          f' {self._frame_shape}')
    frame = jax.device_put(image)
    # Every copy is explicit: a hidden per-frame transfer is an error.
    with jax.transfer_guard('disallow'):
      self._state, box, score = self._step(frame)
    return box, score

  def track(self, frames, box, *, progress=None) -> TrackResult:
    """Tracks an iterable of frames from ``box`` in the first one.

    ``progress`` optionally wraps the per-frame iterator (e.g. tqdm). An
    interruption (Ctrl-C) stops tracking and returns the frames done so far,
    so live sources such as cameras end cleanly.
    """
    return run(self, frames, box, progress=progress, interruptible=True)


def run(tracker, frames, box, *, progress=None, stop=None,
        interruptible: bool = False) -> TrackResult:
  """The host tracking loop: ``init`` on the first frame, then ``update``.

  Every one-by-one run goes through here: ``Tracker.track``, the benchmark
  runs (siamfc_jax.evaluation), training validation and the speed
  benchmark. Reading a frame is not timed; each frame's seconds cover the
  tracker's calls, device work included (``Tracker.init`` waits for its
  state, ``update`` returns host values). Trackers with
  ``update_scored(image) -> (box, score)`` report their peak scores; the
  others' are NaN.

  A ``SweepTracker`` gives K boxes and scores a frame: the result then has
  (N, K, 4) boxes and (N, K) scores, row 0 being ``box`` for every setting.

  Two variants share the per-frame code rather than this loop:
  ``track_batch`` advances several sequences together (``init``/``step``
  vmapped), ``track_frames`` scans ``step`` over pre-loaded frames on the
  device.

  Args:
    tracker: anything with ``init(image, box)`` and ``update(image)``
      (``Tracker``, the baselines, the speed benchmark's trackers).
    frames: an iterable of images.
    box: the 1-based (x, y, w, h) target in the first frame; row 0 of the
      result.
    progress: optionally wraps the iterator of the frames after the first
      (e.g. tqdm).
    stop: optionally ends tracking early: ``stop.until(frames)`` gives the
      frames to track (``siamfc_jax.track_lib.Stop``).
    interruptible: a KeyboardInterrupt after the first frame ends tracking
      and returns the frames done, rather than propagating.

  Returns:
    The boxes, peak scores (NaN for the first frame) and seconds per frame.
  """
  frames = iter(stop.until(frames) if stop else frames)
  try:
    first = next(frames)
  except StopIteration:
    raise sequences.SequenceError(
        'no frames to track: the sequence is empty') from None
  scored = getattr(tracker, 'update_scored', None)
  results, scores, seconds = [], [], []
  start = time.perf_counter()
  tracker.init(first, box)
  seconds.append(time.perf_counter() - start)
  results.append(np.asarray(box, np.float64))
  try:
    for frame in (progress(frames) if progress else frames):
      start = time.perf_counter()
      if scored:
        new_box, score = scored(frame)
      else:
        new_box, score = tracker.update(frame), np.nan
      seconds.append(time.perf_counter() - start)
      results.append(np.asarray(new_box, np.float64))
      scores.append(np.asarray(score, np.float64))
  except KeyboardInterrupt:
    if not interruptible:
      raise
  # Broadcast: the first frame's box and NaN score stand for every setting.
  return TrackResult(np.stack(np.broadcast_arrays(*results)),
                     np.stack(np.broadcast_arrays(np.nan, *scores)),
                     np.asarray(seconds))


def track(frames, box, *, config: ml_collections.ConfigDict | None = None,
          checkpoint: str | None = None) -> TrackResult:
  """Tracks with the shipped model (see ``Tracker.from_pretrained``).

  Args:
    frames: an iterable of images, a video file or a sequence folder.
    box: the target in the first frame, 1-based (x, y, w, h).
    config: a track config; default siamfc_jax/configs/track_3s.py.
    checkpoint: a weights file to use instead of the shipped one.

  Returns:
    The boxes, peak scores and seconds of every frame.
  """
  if isinstance(frames, (str, os.PathLike)):
    path = pathlib.Path(frames)
    frames = (sequences.load_folder(path) if path.is_dir()
              else sequences.load_video(path))
  return Tracker.from_pretrained(config, checkpoint=checkpoint).track(
      frames, box)


# Batched tracking: several sequences advance together, one frame each per
# step. Frames are padded to a common size with each sequence's padding
# colour (its frame's mean, or the one kept from its first frame), which is
# also the colour its crops are padded with, and each sequence keeps its own
# frame size for clipping the centre, so the boxes are those of one-by-one
# tracking (up to float rounding).


@functools.partial(jax.jit, static_argnames='settings')
def init_batch(variables: Variables, frames: jax.Array, box: jax.Array,
               pad_colors: jax.Array, *, settings: Settings) -> State:
  """Starts tracking B sequences.

  Args:
    variables: the network's variables.
    frames: (B, H, W, 3) first frames, padded to a common size.
    box: (B, 4) 1-based (x, y, w, h) boxes.
    pad_colors: (B, 3) ``initial_pad_color`` of each unpadded frame, also
      the colour the frames were padded with.
    settings: the tracker settings.

  Returns:
    A State whose leaves have a leading batch axis.
  """
  net = settings.create_model()
  center, size = boxes.xywh_to_center_size(jnp.asarray(box, jnp.float32))
  sides = crops.exemplar_size_in_frame(size, settings.context)
  crop = functools.partial(crops.crop, out_size=settings.exemplar_size,
                           **settings.crop_options)
  patches = jax.vmap(crop)(frames, center, sides, pad_color=pad_colors)
  exemplar = net.apply(variables, patches, method=net.embed)
  return State(center=center, size=size, initial_size=size,
               exemplar=exemplar[:, None],
               pad_color=jnp.asarray(pad_colors, jnp.float32),
               search_side_pair=initial_search_side_pair(size, settings))


@functools.partial(jax.jit, static_argnames='settings')
def step_batch(variables: Variables, state: State, frames: jax.Array,
               pad_colors: jax.Array, frame_sizes: jax.Array,
               active: jax.Array, *,
               settings: Settings) -> tuple[State, jax.Array, jax.Array]:
  """Tracks one frame of each of B sequences (``step``, vmapped).

  The crops and the target update are vmapped over the sequences; the
  network embeds all B x S search crops in one batch.

  Args:
    variables: the network's variables.
    state: the batched State from ``init_batch`` or a previous step.
    frames: (B, H, W, 3) frames, padded to a common size with the padding
      colour of each sequence.
    pad_colors: (B, 3) mean colour of each unpadded frame; unused (the
      state's colours are) unless settings.pad_color is 'frame_mean'.
    frame_sizes: (B, 2) unpadded (height, width) of each sequence.
    active: (B,) bool; sequences that have ended keep their state.
    settings: the tracker settings.

  Returns:
    (new state, (B, 4) 1-based boxes, (B,) peak scores).
  """
  net = settings.create_model()
  variables = network_variables(variables, settings)
  sides = jax.vmap(functools.partial(search_sides, settings=settings))(state)
  pyramid = functools.partial(crops.crop_pyramid,
                              out_size=settings.instance_size,
                              **settings.crop_options)
  if settings.pad_color != 'frame_mean':
    pad_colors = state.pad_color
  pyramids = jax.vmap(pyramid)(frames, state.center, sides,
                               pad_color=pad_colors)
  batch, scales = pyramids.shape[:2]
  search = net.apply(variables, pyramids.reshape(-1, *pyramids.shape[2:]),
                     method=net.embed)
  scores = net.apply(variables, state.exemplar[:, 0],
                     search.reshape(batch, scales, *search.shape[1:]),
                     method=net.score)
  moved, best = jax.vmap(functools.partial(move, settings=settings))(
      state, scores, frame_sizes)

  def keep_ended(new, old):
    return jnp.where(active.reshape(-1, *[1] * (new.ndim - 1)), new, old)

  state = jax.tree.map(keep_ended, moved, state)
  peaks = jnp.max(scores[jnp.arange(batch), best], axis=(1, 2))
  return (state, boxes.center_size_to_xywh(state.center, state.size),
          peaks)


# Sweeps: K settings that differ only in SWEPT_FIELDS track one sequence
# together, their values traced (``Hyper`` arrays with a leading axis K), so
# one compiled step serves them all.


@functools.partial(jax.jit, static_argnames=('settings', 'count'))
def init_sweep(variables: Variables, frame: jax.Array, box: jax.Array, *,
               settings: Settings, count: int) -> State:
  """``init`` once (no swept field is used), copied for ``count`` settings."""
  state = init(variables, frame, box, settings=settings)
  return jax.tree.map(lambda x: jnp.broadcast_to(x, (count, *x.shape)),
                      state)


@functools.partial(jax.jit, static_argnames='settings')
def step_sweep(variables: Variables, state: State, frame: jax.Array,
               values: Hyper, *,
               settings: Settings) -> tuple[State, jax.Array, jax.Array]:
  """Tracks one frame with K settings (``step``, vmapped over ``values``).

  The network embeds all K x S search crops in one batch and scores them
  against the one exemplar (which every setting's state holds a copy of).

  Args:
    variables: the network's variables.
    state: the State of ``init_sweep`` or a previous step, leading axis K.
    frame: (H, W, 3) the frame.
    values: the K settings' ``Hyper`` values, leading axis K.
    settings: the settings but for SWEPT_FIELDS.

  Returns:
    (new state, (K, 4) 1-based boxes, (K,) peak scores).
  """
  net = settings.create_model()
  variables = network_variables(variables, settings)
  sides = jax.vmap(functools.partial(search_sides, settings=settings))(
      state, values=values)
  count = sides.shape[0]
  pad_color = jnp.broadcast_to(frame_pad_color(state, frame, settings),
                               (count, frame.shape[-1]))
  pyramid = functools.partial(crops.crop_pyramid,
                              out_size=settings.instance_size,
                              **settings.crop_options)
  pyramids = jax.vmap(pyramid, in_axes=(None, 0, 0))(
      frame, state.center, sides, pad_color=pad_color)
  scales = pyramids.shape[1]
  search = net.apply(variables, pyramids.reshape(-1, *pyramids.shape[2:]),
                     method=net.embed)
  scores = net.apply(variables, state.exemplar[0], search[None],
                     method=net.score)[0]
  scores = scores.reshape(count, scales, *scores.shape[1:])
  state, best = jax.vmap(functools.partial(
      move, frame_shape=frame.shape, settings=settings))(state, scores,
                                                         values=values)
  peaks = jnp.max(scores[jnp.arange(count), best], axis=(1, 2))
  return (state, boxes.center_size_to_xywh(state.center, state.size),
          peaks)


class SweepTracker(Tracker):
  """A ``Tracker`` for K settings at once, differing in SWEPT_FIELDS only.

  ``update_scored`` gives (K, 4) boxes and (K,) scores: for each setting,
  those of a ``Tracker`` with its values (``tracker.run`` keeps both axes).
  """

  def __init__(self, variables: Variables, config: ml_collections.ConfigDict,
               points):
    """``points``: K mappings of SWEPT_FIELDS to the values of a setting."""
    super().__init__(variables, config)
    values = [hyper(self.settings.replace(**point)) for point in points]
    self.count = len(values)
    self.values = jax.device_put(jax.tree.map(lambda *v: np.stack(v),
                                              *values))

  def _start(self, image, box) -> State:
    return init_sweep(self.variables, image, box, settings=self.settings,
                      count=self.count)

  def _step(self, frame):
    return step_sweep(self.variables, self._state, frame, self.values,
                      settings=self.settings)

  def update_scored(self, image) -> tuple[np.ndarray, np.ndarray]:
    box, score = jax.device_get(self._update(image))
    return np.asarray(box, np.float64), np.asarray(score, np.float64)


def _padded(frame: np.ndarray, color: np.ndarray, shape) -> np.ndarray:
  out = np.empty((*shape, 3), np.float32)
  out[...] = color
  out[:frame.shape[0], :frame.shape[1]] = frame
  return out


def track_batch(variables: Variables, settings: Settings, sequence_list,
                init_boxes) -> list[TrackResult]:
  """Tracks several sequences together (``init_batch``/``step_batch``).

  Args:
    variables: the network's variables.
    settings: the tracker settings.
    sequence_list: sequences (iterables of frames) of any lengths and frame
      sizes; all frames are padded to the largest size.
    init_boxes: one 1-based (x, y, w, h) box per sequence.

  Returns:
    One TrackResult per sequence, as ``Tracker.track`` gives; each step's
    time is shared equally by the sequences it advanced.
  """
  iterators = [iter(s) for s in sequence_list]
  firsts = [sequences.to_rgb(next(it)) for it in iterators]
  box = np.stack([boxes.check_box(b, f.shape, where='initial box')
                  for b, f in zip(init_boxes, firsts)])
  sizes = np.array([f.shape[:2] for f in firsts])
  shape = tuple(sizes.max(axis=0))
  colors = np.stack([np.asarray(initial_pad_color(f, settings))
                     for f in firsts])
  start = time.perf_counter()
  state = init_batch(
      variables, np.stack([_padded(f, c, shape)
                           for f, c in zip(firsts, colors)]),
      box, colors, settings=settings)
  jax.block_until_ready(state)
  init_seconds = (time.perf_counter() - start) / len(firsts)
  results = [([b], [np.nan], [init_seconds]) for b in box]
  frames = [None] * len(firsts)
  while True:
    active = np.zeros(len(firsts), bool)
    for i, it in enumerate(iterators):
      frame = next(it, None)
      if frame is None:
        continue
      frame = sequences.to_rgb(frame)
      if frame.shape != firsts[i].shape:
        raise sequences.SequenceError(
            f'frame of shape {frame.shape} differs from the first frame'
            f' {firsts[i].shape}')
      if settings.pad_color == 'frame_mean':
        colors[i] = np.asarray(crops.mean_color(frame))
      frames[i] = _padded(frame, colors[i], shape)
      active[i] = True
    if not active.any():
      break
    start = time.perf_counter()
    state, new_boxes, peaks = step_batch(
        variables, state, np.stack(frames), colors, sizes.astype(np.float32),
        active, settings=settings)
    new_boxes, peaks = jax.device_get((new_boxes, peaks))
    seconds = (time.perf_counter() - start) / active.sum()
    for i in np.flatnonzero(active):
      results[i][0].append(np.asarray(new_boxes[i], np.float64))
      results[i][1].append(float(peaks[i]))
      results[i][2].append(seconds)
  return [TrackResult(np.stack(b), np.asarray(s), np.asarray(t))
          for b, s, t in results]


@functools.partial(jax.jit, static_argnames='settings')
def track_frames(variables: Variables, frames: jax.Array, box: jax.Array, *,
                 settings: Settings) -> tuple[jax.Array, jax.Array]:
  """Tracks a whole pre-loaded sequence on the device, in one call.

  ``init`` on the first frame, then ``step`` scanned over the others with
  ``lax.scan``: no host round trip per frame.

  Args:
    variables: the network's variables.
    frames: (N, H, W, 3) frames, N >= 1.
    box: 1-based (x, y, w, h) target in ``frames[0]``.
    settings: the tracker settings.

  Returns:
    (N, 4) boxes, row 0 being ``box``, and (N,) peak scores, NaN for the
    first frame: the boxes and scores of ``Tracker.track``.
  """
  box = jnp.asarray(box, jnp.float32)
  state = init(variables, frames[0], box, settings=settings)

  def track_one(state, frame):
    state, new_box, score = step(variables, state, frame, settings=settings)
    return state, (new_box, score)

  _, (tracked, scores) = jax.lax.scan(track_one, state, frames[1:])
  return (jnp.concatenate([box[None], tracked]),
          jnp.concatenate([jnp.full((1,), jnp.nan), scores]))

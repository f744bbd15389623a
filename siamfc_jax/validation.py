"""Checks of every field of the jobs' configs, once, before any work starts.

Each job's main calls one ``check_*`` function on its config. A field that
is missing, unknown (e.g. a misspelt field in a config file), of the wrong
type, out of range or inconsistent with another field raises one
ConfigError naming the field, its value and what is allowed, e.g.

  config.num_scales=4: even, so no scale keeps the size; allowed: an odd
  integer >= 1

The same checks serve the Python API (tracker.Tracker.from_pretrained).
"""

import dataclasses
import math
from typing import Any, Callable

import ml_collections
import numpy as np

from siamfc_jax import crops
from siamfc_jax import model as model_lib
from siamfc_jax.configs import base

# The network's total stride; siamfc_jax.model.AlexNetEmbedding is fixed.
NETWORK_STRIDE = 8
# The smallest input with a 1x1 feature map.
SMALLEST_INPUT = 87


class ConfigError(ValueError):
  """A config field whose value cannot work."""


@dataclasses.dataclass(frozen=True)
class _Rule:
  """What a field may hold: ``problem(value)`` says why not, else None."""

  allowed: str
  problem: Callable[[Any], str | None]
  # Fields added after configs were first written may be missing; they have
  # the defaults of configs/base.tracker_config (base.tracker_fields).
  may_be_missing: bool = False


def _is_integer(value) -> bool:
  return isinstance(value, (int, np.integer)) and not isinstance(
      value, (bool, np.bool_))


def _is_number(value) -> bool:
  return _is_integer(value) or isinstance(value, (float, np.floating))


def _integer(low=None, high=None, *, none: bool = False) -> _Rule:
  if low is not None and high is not None:
    allowed = f'an integer from {low} to {high}'
  elif low is not None:
    allowed = f'an integer >= {low}'
  else:
    allowed = 'an integer'
  if none:
    allowed += ', or None'

  def problem(value):
    if value is None and none:
      return None
    if not _is_integer(value):
      return f'{type(value).__name__}, not an integer'
    if low is not None and value < low:
      return f'below {low}'
    if high is not None and value > high:
      return f'above {high}'
    return None

  return _Rule(allowed, problem)


def _number(low=None, high=None, *, low_open: bool = False,
            high_open: bool = False) -> _Rule:
  """A finite number in the interval ``low``..``high`` (either may be open)."""
  if low is not None and high is not None:
    allowed = (f'a number in {"(" if low_open else "["}{low}, {high}'
               f'{")" if high_open else "]"}')
  elif low is not None:
    allowed = f'a number {">" if low_open else ">="} {low}'
  else:
    allowed = 'a number'

  def problem(value):
    if not _is_number(value):
      return f'{type(value).__name__}, not a number'
    if not math.isfinite(value):
      return 'not finite'
    if low is not None and (value <= low if low_open else value < low):
      return 'too small'
    if high is not None and (value >= high if high_open else value > high):
      return 'too large'
    return None

  return _Rule(allowed, problem)


def _choice(options, *, may_be_missing: bool = False,
            note: str = '') -> _Rule:
  options = tuple(options)
  allowed = 'one of ' + ', '.join(repr(o) for o in options) + note

  def problem(value):
    # bool == int in Python: True must not pass for 1.
    if any(type(value) is type(o) and value == o for o in options):
      return None
    return 'not one of the options'

  return _Rule(allowed, problem, may_be_missing)


def _boolean(*, may_be_missing: bool = False) -> _Rule:
  return _Rule('True or False', lambda value: None if isinstance(
      value, (bool, np.bool_)) else f'{type(value).__name__}, not a bool',
               may_be_missing)


def _text(*, empty: bool = True, hint: str = '') -> _Rule:
  allowed = ('a string' if empty else 'a non-empty string') + hint

  def problem(value):
    if not isinstance(value, str):
      return f'{type(value).__name__}, not a string'
    if not empty and not value:
      return 'empty'
    return None

  return _Rule(allowed, problem)


def _names(options=None, *, empty: bool = True) -> _Rule:
  """A tuple (or list) of distinct strings, from ``options`` if given."""
  allowed = 'a tuple of ' + ('names' if options is None else 'names from ' +
                             ', '.join(options))
  if not empty:
    allowed = 'a non-empty ' + allowed.removeprefix('a ')

  def problem(value):
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(v, str) for v in value):
      return 'not a tuple of strings'
    if not empty and not value:
      return 'empty'
    if len(set(value)) != len(value):
      return 'has duplicates'
    unknown = [v for v in value if options is not None and v not in options]
    if unknown:
      return f'{unknown[0]!r} is not one of them'
    return None

  return _Rule(allowed, problem)


def _network_input() -> _Rule:
  """A side the network's stride-8 layers use every pixel of: 8k + 7."""

  def problem(value):
    if not _is_integer(value):
      return f'{type(value).__name__}, not an integer'
    if value < SMALLEST_INPUT:
      return 'too small for the network (no feature left)'
    if value % NETWORK_STRIDE != NETWORK_STRIDE - 1:
      return (f'the network (stride {NETWORK_STRIDE}) would leave out the'
              f' last {value % NETWORK_STRIDE + 1} pixel(s), off centre')
    return None

  return _Rule(f'an integer 8k + 7 >= {SMALLEST_INPUT}, e.g. 127 or 255',
               problem)


def _odd_scales() -> _Rule:
  def problem(value):
    if not _is_integer(value):
      return f'{type(value).__name__}, not an integer'
    if value < 1:
      return 'no scale to search'
    if value % 2 == 0:
      return 'even, so no scale keeps the size'
    return None

  return _Rule('an odd integer >= 1', problem)


def _model_rules(*, dtypes, note: str = '') -> dict:
  return dict(
      score_gain=_number(0, low_open=True),
      bn_momentum=_number(0, 1, high_open=True),
      bn_epsilon=_number(0, low_open=True),
      split_groups=_boolean(),
      dtype=_choice(dtypes, note=note),
      conv_algorithm=_choice(model_lib.CONV_ALGORITHMS),
      ops=_choice(model_lib.OPS, may_be_missing=True),
  )


def _tracker_rules() -> dict:
  # Imported here: tracker imports this module (Tracker.from_pretrained).
  from siamfc_jax import tracker  # pylint: disable=g-import-not-at-top
  return dict(
      num_scales=_odd_scales(),
      scale_step=_number(1, low_open=True),
      scale_penalty=_number(0, 1, low_open=True),
      scale_lr=_number(0, 1),
      window_influence=_number(0, 1),
      exemplar_size=_network_input(),
      instance_size=_network_input(),
      context=_number(0),
      total_stride=_choice((NETWORK_STRIDE,), note=' (the network\'s)'),
      response_upsample=_integer(1),
      min_scale=_number(0, low_open=True),
      max_scale=_number(0, low_open=True),
      pad_color=_choice(tracker.PAD_COLORS, may_be_missing=True),
      crop_window=_choice(crops.WINDOWS, may_be_missing=True),
      crop_resample=_choice(crops.RESAMPLINGS, may_be_missing=True),
      upsample_method=_choice(tuple(tracker.UPSAMPLE_METHODS),
                              may_be_missing=True),
      clip_center=_boolean(may_be_missing=True),
      clamp_size=_boolean(may_be_missing=True),
      use_score_bias=_boolean(may_be_missing=True),
      update_precision=_choice(tracker.UPDATE_PRECISIONS,
                               may_be_missing=True),
  )


def _track_rules() -> dict:
  # Tracking runs without 64-bit arrays: 'float64' would silently be float32.
  return dict(_tracker_rules(),
              model=_model_rules(dtypes=('float32', 'bfloat16'),
                                 note=' (tracking runs without 64-bit'
                                 ' arrays)'),
              checkpoint=_text(hint=' (a weights file; empty: the shipped'
                               ' model)'),
              seed=_integer(0))


def _values(rule: _Rule) -> _Rule:
  """None, or a non-empty tuple of distinct values, each allowed by ``rule``."""

  def problem(value):
    if value is None:
      return None
    if not isinstance(value, (tuple, list)):
      return f'{type(value).__name__}, not a tuple'
    if not value:
      # An empty axis would make the grid's product empty.
      return 'empty'
    for item in value:
      why = rule.problem(item)
      if why:
        return f'{item!r} is {why}'
    if len(set(value)) != len(value):
      return 'has duplicates'
    return None

  return _Rule(f'a non-empty tuple of distinct values, each {rule.allowed};'
               " or None: the track config's value", problem)


def _sweep_rules() -> dict:
  from siamfc_jax import tracker  # pylint: disable=g-import-not-at-top
  tracker_rules = _tracker_rules()
  return dict(
      root=_text(empty=False, hint=' (a folder of sequence folders; set it'
                 ' with --config.root)'),
      results_dir=_text(empty=False),
      sequences=_names(),
      max_frames=_integer(1, none=True),
      track=_track_rules(),
      grid={name: _values(tracker_rules[name])
            for name in tracker.SWEPT_FIELDS},
      plot_dpi=_integer(10, 1200),
      progress=_boolean(),
  )


def _data_rules() -> dict:
  return dict(
      curation=dict(
          crop_size=_integer(1),
          exemplar_size=_integer(1),
          context=_number(0),
          jpeg_quality=_integer(1, 100),
          min_box_side=_number(0),
          max_aspect_ratio=_number(1),
          min_track_length=_integer(2),
          vid_subsets=_names(empty=False),
          got10k_subsets=_names(empty=False),
          got10k_min_cover=_integer(0, 8),
          crops_per_shard=_integer(1),
      ),
      pairs=dict(
          max_frame_gap=_integer(0),
          exemplar_size=_network_input(),
          search_size=_network_input(),
          stretch=_number(0, 1, high_open=True),
          exemplar_translation=_number(0),
          search_translation=_number(0),
          grayscale_rate=_number(0, 1),
          read_threads=_integer(0),
          prefetch_batches=_integer(0),
      ),
  )


def _train_rules() -> dict:
  return dict(
      model=_model_rules(dtypes=('float32', 'bfloat16', 'float64')),
      tracker=_tracker_rules(),
      exemplar_size=_network_input(),
      instance_size=_network_input(),
      total_stride=_choice((NETWORK_STRIDE,), note=' (the network\'s)'),
      positive_radius=_number(0),
      negative_radius=_number(0),
      seed=_integer(0),
      batch_size=_integer(1),
      num_epochs=_integer(1),
      pairs_per_epoch=_integer(1),
      lr_start=_number(0, 1, low_open=True),
      lr_end=_number(0, 1, low_open=True),
      momentum=_number(0, 1, high_open=True),
      weight_decay=_number(0),
      weight_decay_on=_choice(('kernels', 'all')),
      data_dir=_text(empty=False, hint=' (the --out folder of'
                     ' data_prep.build)'),
      train_videos=_names(),
      val_videos=_names(),
      sequences_root=_text(),
      eval_max_frames=_integer(1, none=True),
      loader_workers=_integer(0),
      log_every_steps=_integer(1),
      eval_every_steps=_integer(1),
      checkpoint_every_steps=_integer(1),
      keep_checkpoints=_integer(1, none=True),
      progress=_boolean(),
      data=_data_rules(),
  )


def _evaluate_rules() -> dict:
  # Imported here: evaluation pulls in the baselines and the report plots.
  from siamfc_jax import evaluation  # pylint: disable=g-import-not-at-top
  from siamfc_jax.evaluation import lasot  # pylint: disable=g-import-not-at-top
  return dict(
      benchmark=_choice(evaluation.BENCHMARKS),
      root=_text(empty=False, hint=' (a benchmark folder; set it with'
                 ' --root)'),
      results_dir=_text(empty=False),
      trackers=_names(evaluation.TRACKERS, empty=False),
      sequences=_names(),
      max_frames=_integer(1, none=True),
      batch_size=_integer(1),
      shard_index=_integer(0),
      shard_count=_integer(1),
      track=_track_rules(),
      ncc_search_scale=_number(1),
      vot=dict(
          skip_frames=_integer(1),
          burnin=_integer(0),
          eao_low=_integer(1),
          eao_high=_integer(1),
      ),
      lasot=dict(split=_choice(lasot.SPLITS)),
      trackingnet=dict(split=_text(empty=False)),
      html=_boolean(),
      plot_dpi=_integer(10, 1200),
      progress=_boolean(),
  )


def _check_fields(config, rules: dict, where: str) -> None:
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f'{where}: {type(config).__name__}, not a config;'
                      f' allowed: a ConfigDict with fields'
                      f' {", ".join(rules)}')
  unknown = sorted(set(config.keys()) - set(rules))
  if unknown:
    raise ConfigError(f'{where}.{unknown[0]}: no such field; allowed:'
                      f' {", ".join(sorted(rules))}')
  for name, rule in rules.items():
    if name not in config:
      if isinstance(rule, _Rule) and rule.may_be_missing:
        continue
      allowed = rule.allowed if isinstance(rule, _Rule) else 'a config'
      raise ConfigError(f'{where}.{name}: missing; allowed: {allowed}')
    value = config[name]
    if isinstance(rule, dict):
      _check_fields(value, rule, f'{where}.{name}')
      continue
    why = rule.problem(value)
    if why:
      raise ConfigError(f'{where}.{name}={value!r}: {why}; allowed:'
                        f' {rule.allowed}')


def _require(holds: bool, field: str, value, why: str, allowed: str) -> None:
  if not holds:
    raise ConfigError(f'{field}={value!r}: {why}; allowed: {allowed}')


def _check_tracker_relations(config, where: str) -> None:
  config = base.tracker_fields(config)
  _require(config.instance_size >= config.exemplar_size,
           f'{where}.instance_size', config.instance_size,
           f'smaller than {where}.exemplar_size={config.exemplar_size}',
           f'>= {where}.exemplar_size')
  _require(config.max_scale >= config.min_scale, f'{where}.max_scale',
           config.max_scale,
           f'below {where}.min_scale={config.min_scale}',
           f'>= {where}.min_scale')
  _require(config.crop_resample != 'cv2_linear'
           or config.crop_window == 'whole_pixels', f'{where}.crop_window',
           config.crop_window,
           f"{where}.crop_resample='cv2_linear' resizes a whole-pixel"
           ' window', "'whole_pixels' with crop_resample='cv2_linear'")
  _require(config.update_precision != 'float64' or not config.clamp_size,
           f'{where}.clamp_size', config.clamp_size,
           f"{where}.update_precision='float64' (siamfc-pytorch's update)"
           ' clamps no size', "False with update_precision='float64'")


def check_tracker(config, where: str = 'config') -> None:
  """Checks the tracker fields alone (base.tracker_config), as
  tracker.Settings.from_config does; raises ConfigError."""
  _check_fields(config, _tracker_rules(), where)
  _check_tracker_relations(config, where)


def check_track(config, where: str = 'config') -> None:
  """Checks a track config (configs/track_3s.py); raises ConfigError."""
  _check_fields(config, _track_rules(), where)
  _check_tracker_relations(config, where)


def check_sweep(config, where: str = 'config') -> None:
  """Checks a sweep config (configs/sweep.py); raises ConfigError."""
  rules = _sweep_rules()
  grid = (config.get('grid')
          if isinstance(config, ml_collections.ConfigDict) else None)
  fixed = sorted(set(_tracker_rules()) - set(rules['grid']))
  for name in (grid.keys() if isinstance(grid, ml_collections.ConfigDict)
               else ()):
    _require(name not in fixed, f'{where}.grid.{name}', grid[name],
             'a tracker field a sweep cannot vary (the settings share one'
             ' compiled step)', 'a field from ' + ', '.join(rules['grid']))
  _check_fields(config, rules, where)
  if all(config.grid[name] is None for name in rules['grid']):
    raise ConfigError(
        f'{where}.grid: no field is swept; allowed: values for at least one'
        f' of {", ".join(rules["grid"])}, e.g.'
        ' --config.grid.window_influence="(0.15,0.176,0.2)"')
  _check_tracker_relations(config.track, f'{where}.track')


def check_data(config, where: str = 'config') -> None:
  """Checks a data config (configs/data.py); raises ConfigError."""
  _check_fields(config, _data_rules(), where)
  _check_data_relations(config, where)


def _check_data_relations(config, where: str) -> None:
  curation = config.curation
  _require(curation.exemplar_size <= curation.crop_size,
           f'{where}.curation.exemplar_size', curation.exemplar_size,
           f'larger than the stored crop, {where}.curation.crop_size='
           f'{curation.crop_size}', f'<= {where}.curation.crop_size')
  pairs = config.pairs
  _require(pairs.search_size >= pairs.exemplar_size,
           f'{where}.pairs.search_size', pairs.search_size,
           f'smaller than {where}.pairs.exemplar_size={pairs.exemplar_size}',
           f'>= {where}.pairs.exemplar_size')


def check_train(config, where: str = 'config', *,
                device_count: int | None = None) -> None:
  """Checks a train config (configs/train_shared.py); raises ConfigError.

  Args:
    config: the config.
    where: its name in messages.
    device_count: if given, the batch must split evenly over this many
      devices.
  """
  _check_fields(config, _train_rules(), where)
  _check_tracker_relations(config.tracker, f'{where}.tracker')
  _check_data_relations(config.data, f'{where}.data')
  _require(config.instance_size >= config.exemplar_size,
           f'{where}.instance_size', config.instance_size,
           f'smaller than {where}.exemplar_size={config.exemplar_size}',
           f'>= {where}.exemplar_size')
  # The pairs feed the network at the sizes its labels are made for.
  for pairs_field, field in (('exemplar_size', 'exemplar_size'),
                             ('search_size', 'instance_size')):
    _require(config.data.pairs[pairs_field] == config[field],
             f'{where}.data.pairs.{pairs_field}',
             config.data.pairs[pairs_field],
             f'differs from {where}.{field}={config[field]}',
             f'{where}.{field}')
  _require(config.negative_radius >= config.positive_radius,
           f'{where}.negative_radius', config.negative_radius,
           f'below {where}.positive_radius={config.positive_radius}',
           f'>= {where}.positive_radius')
  _require(not config.val_videos or bool(config.sequences_root),
           f'{where}.sequences_root', config.sequences_root,
           f'empty, but {where}.val_videos names sequences to validate on',
           'the folder holding them, or val_videos=()')
  if device_count is not None:
    _require(config.batch_size % device_count == 0, f'{where}.batch_size',
             config.batch_size,
             f'does not split over the {device_count} devices',
             f'a multiple of {device_count}')


def check_evaluate(config, where: str = 'config', *,
                   process: tuple[int, int] = (0, 1)) -> None:
  """Checks an evaluate config (configs/evaluate.py); raises ConfigError.

  ``process`` is (index, count) of this process in a job of several
  (jax.distributed), whose processes are the shards: a shard given in the
  config must then be this process's.
  """
  _check_fields(config, _evaluate_rules(), where)
  _check_tracker_relations(config.track, f'{where}.track')
  _require(config.shard_index < config.shard_count, f'{where}.shard_index',
           config.shard_index, f'not below {where}.shard_count='
           f'{config.shard_count}', f'0 to {where}.shard_count - 1')
  index, count = process
  if count > 1:
    _require(config.shard_count in (1, count), f'{where}.shard_count',
             config.shard_count, f'the job has {count} processes, each of'
             ' which tracks its own shard', f'1 (unset) or {count}')
    _require(config.shard_count == 1 or config.shard_index == index,
             f'{where}.shard_index', config.shard_index,
             f'this is process {index} of {count}, which tracks shard'
             f' {index}', f'unset or {index}')
  vot = config.vot
  _require(vot.eao_high >= vot.eao_low, f'{where}.vot.eao_high',
           vot.eao_high, f'below {where}.vot.eao_low={vot.eao_low}',
           f'>= {where}.vot.eao_low')

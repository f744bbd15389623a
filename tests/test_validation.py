"""Config checks at start-up; the command-line conventions of siamfc_jax.cli."""

import importlib
import signal

import ml_collections
import pytest
from absl import flags

from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import files
from siamfc_jax import validation

TRACK = str(configs.DIRECTORY / 'track_3s.py')


def _config(name: str, **fields) -> ml_collections.ConfigDict:
  config = importlib.import_module(f'siamfc_jax.configs.{name}').get_config()
  for path, value in fields.items():
    *parents, leaf = path.split('__')
    node = config
    for parent in parents:
      node = node[parent]
    with node.unlocked():
      node[leaf] = value
  return config


CHECKS = {
    'track_3s': validation.check_track,
    'track_5s': validation.check_track,
    'track_reference': validation.check_track,
    'evaluate': validation.check_evaluate,
    'data': validation.check_data,
    'tiny': validation.check_train,
    'train_shared': validation.check_train,
    'train_vid': validation.check_train,
    'train_got10k': validation.check_train,
}
# Fields the command line sets (--root, --config.data_dir).
NEEDED = {'evaluate': dict(root='otb'), 'tiny': dict(data_dir='data')}


@pytest.mark.parametrize('name', sorted(CHECKS))
def test_every_shipped_config_passes(name):
  CHECKS[name](_config(name, **NEEDED.get(name, {})))


@pytest.mark.parametrize('name,fields,message', [
    # The settings of the issue: no middle scale, no scale, a blend beyond 1.
    ('track_3s', dict(num_scales=4), 'config.num_scales=4: even'),
    ('track_3s', dict(num_scales=0), 'config.num_scales=0: no scale'),
    ('track_3s', dict(window_influence=2.0),
     'config.window_influence=2.0: too large; allowed: a number in [0, 1]'),
    ('track_3s', dict(window_influence=float('nan')), 'not finite'),
    ('track_3s', dict(scale_step=1.0), 'config.scale_step=1.0'),
    ('track_3s', dict(scale_penalty=0.0), 'config.scale_penalty=0.0'),
    ('track_3s', dict(scale_lr=1.5), 'config.scale_lr=1.5'),
    ('track_3s', dict(exemplar_size=128), 'last 1 pixel(s)'),
    ('track_3s', dict(exemplar_size=79), 'too small for the network'),
    ('track_3s', dict(instance_size=119), 'config.instance_size=119:'
     ' smaller than config.exemplar_size=127'),
    ('track_3s', dict(total_stride=4), 'config.total_stride=4'),
    ('track_3s', dict(response_upsample=0), 'config.response_upsample=0'),
    ('track_3s', dict(max_scale=0.1), 'config.max_scale=0.1: below'),
    ('track_3s', dict(seed=-1), 'config.seed=-1'),
    ('track_3s', dict(pad_color='black'), "config.pad_color='black'"),
    ('track_3s', dict(model__dtype='float64'), "config.model.dtype='float64'"),
    ('track_3s', dict(model__bn_momentum=1.0), 'config.model.bn_momentum'),
    ('track_3s', dict(update_precision='float64'), 'config.clamp_size=True'),
    ('track_3s', dict(crop_resample='cv2_linear'), 'config.crop_window'),
    ('evaluate', dict(root='otb', batch_size=0), 'config.batch_size=0'),
    ('evaluate', dict(root=''), 'set it with --root'),
    ('evaluate', dict(root='otb', trackers=('siamfc', 'foo')), "'foo'"),
    ('evaluate', dict(root='otb', trackers=()), 'config.trackers=(): empty'),
    ('evaluate', dict(root='otb', trackers=('ncc', 'ncc')), 'duplicates'),
    ('evaluate', dict(root='otb', max_frames=0), 'config.max_frames=0'),
    ('evaluate', dict(root='otb', track__num_scales=2),
     'config.track.num_scales=2'),
    ('evaluate', dict(root='otb', vot__skip_frames=0),
     'config.vot.skip_frames=0'),
    ('evaluate', dict(root='otb', vot__eao_high=50), 'config.vot.eao_high'),
    ('data', dict(curation__jpeg_quality=0), 'curation.jpeg_quality=0'),
    ('data', dict(curation__exemplar_size=300), 'larger than the stored'),
    ('data', dict(curation__min_track_length=1), 'min_track_length=1'),
    ('data', dict(pairs__grayscale_rate=1.5), 'pairs.grayscale_rate=1.5'),
    ('tiny', dict(data_dir=''), 'config.data_dir='),
    ('tiny', dict(data_dir='d', lr_start=0.0), 'config.lr_start=0.0'),
    ('tiny', dict(data_dir='d', momentum=1.0), 'config.momentum=1.0'),
    ('tiny', dict(data_dir='d', batch_size=0), 'config.batch_size=0'),
    ('tiny', dict(data_dir='d', negative_radius=8.0), 'negative_radius=8.0'),
    ('tiny', dict(data_dir='d', data__pairs__search_size=263),
     'config.data.pairs.search_size=263: differs from config.instance_size'),
    ('tiny', dict(data_dir='d', val_videos=('otb_Dog',)),
     "config.sequences_root='': empty, but"),
    ('tiny', dict(data_dir='d', keep_checkpoints=0), 'keep_checkpoints=0'),
    ('tiny', dict(data_dir='d', weight_decay_on='biases'), 'weight_decay_on'),
    ('tiny', dict(data_dir='d', tracker__window_influence=-0.1),
     'config.tracker.window_influence=-0.1'),
])
def test_a_setting_that_cannot_work_names_the_field(name, fields, message):
  config = _config(name, **fields)
  with pytest.raises(validation.ConfigError) as info:
    CHECKS[name](config)
  assert message in str(info.value)
  assert 'allowed: ' in str(info.value)
  assert '\n' not in str(info.value)


def test_batch_must_split_over_the_devices():
  config = _config('tiny', data_dir='d', batch_size=3)
  validation.check_train(config, device_count=1)
  with pytest.raises(validation.ConfigError,
                     match=r'batch_size=3: does not split over the 2'):
    validation.check_train(config, device_count=2)


def test_unknown_and_missing_fields():
  config = _config('track_3s')
  with config.unlocked():
    config.window_infuence = 0.2  # A misspelt field in a config file.
  with pytest.raises(validation.ConfigError,
                     match='config.window_infuence: no such field'):
    validation.check_track(config)
  old = _config('track_3s')
  del old['pad_color']  # Written before the option existed: a default.
  validation.check_track(old)
  del old['num_scales']
  with pytest.raises(validation.ConfigError, match='num_scales: missing'):
    validation.check_track(old)


# --- Command-line flags (siamfc_jax.cli) ----------------------------------


def _parse(*args, default=TRACK):
  argv = ['job', *args]
  flag_values = flags.FlagValues()
  holder = cli.define_config('config', default, 'A config.',
                             flag_values=flag_values, argv=argv)
  cli.parse_flags(argv, flag_values)
  return holder.value


def _error(*args, **kwargs) -> str:
  with pytest.raises(SystemExit) as info:
    _parse(*args, **kwargs)
  assert info.value.code != 0
  return str(info.value.code)


def test_overrides_apply():
  config = _parse('--config.num_scales=5', '--config.model.dtype=bfloat16')
  assert config.num_scales == 5 and config.model.dtype == 'bfloat16'


@pytest.mark.parametrize('args,message', [
    # Without --config, ml_collections applies the overrides while the flag
    # is defined (at import); with it, while flags are parsed.
    (['--config.foo=1'], "error: --config.foo: config has no field 'foo';"
     ' fields: checkpoint,'),
    ([f'--config={TRACK}', '--config.foo=1'], "config has no field 'foo'"),
    (['--config.num_scale=4'], 'did you mean config.num_scales?'),
    (['--config.model.foo=1'], "config.model has no field 'foo'"),
    (['--config.num_scales.x=1'], 'config.num_scales=3 has no fields'),
    (['--config.num_scales=abc'], 'error: flag --config.num_scales=abc:'),
    (['--config=/nonexistent.py'], 'error: --config=/nonexistent.py: cannot'
     ' load the config ([Errno 2] No such file or directory'),
])
def test_a_bad_flag_gives_one_error_line(args, message):
  error = _error(*args)
  assert message in error
  assert '\n' not in error


@pytest.mark.parametrize('code,reason', [
    ('def get_config():\n  return undefined_name\n',
     "(NameError: name 'undefined_name' is not defined)"),
    ('def get_config(:\n', '(SyntaxError: invalid syntax'),
    ('def get_config():\n  raise ValueError("no")\n', '(ValueError: no)'),
    ('def get_config():\n  return None\n', 'returned None'),
])
def test_a_config_file_that_fails_to_load(tmp_path, code, reason):
  # A new file name each time: ml_collections caches config modules by name.
  broken = tmp_path / f'broken_{abs(hash(code))}.py'
  broken.write_text(code)
  error = _error(f'--config={broken}')
  assert error.startswith('error: ') and str(broken) in error
  assert reason in error and '\n' not in error


def test_a_required_flag():
  flag_values = flags.FlagValues()
  flags.DEFINE_string('workdir', None, 'Work dir.', flag_values=flag_values)
  flags.mark_flag_as_required('workdir', flag_values=flag_values)
  with pytest.raises(SystemExit, match='error: --workdir is required'):
    cli.parse_flags(['job'], flag_values)


@pytest.fixture
def ctrl_c_interrupts():
  """Ctrl-C as Python's default, even where the test runner ignores it."""
  previous = signal.signal(signal.SIGINT, signal.default_int_handler)
  yield
  signal.signal(signal.SIGINT, previous)


def test_ctrl_c_asks_to_stop_once_work_is_done(ctrl_c_interrupts):
  requests = []

  def request():
    requests.append(len(requests))
    return len(requests) > 1  # Refused first: nothing to save yet.

  with cli.on_ctrl_c(request, message='stopping'):
    with pytest.raises(KeyboardInterrupt):
      signal.raise_signal(signal.SIGINT)
    signal.raise_signal(signal.SIGINT)  # Accepted: no interruption.
    with pytest.raises(KeyboardInterrupt):  # A second one interrupts.
      signal.raise_signal(signal.SIGINT)
  assert requests == [0, 1]
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_check_folder(tmp_path):
  (tmp_path / 'file').write_text('x')
  assert files.check_folder(tmp_path / 'a' / 'b', what='--out') == (
      tmp_path / 'a' / 'b')
  assert sorted(tmp_path.iterdir()) == [tmp_path / 'file']  # Made nothing.
  with pytest.raises(files.FolderError,
                     match=r'--out=.*file/sub: .*file is a file, not a'):
    files.check_folder(tmp_path / 'file' / 'sub', what='--out')
  with pytest.raises(files.FolderError, match='cannot write in /proc'):
    files.check_folder('/proc/no_such_folder', what='--out')

"""Every config file builds, and train configs fit the train library."""

import functools
import importlib
import pathlib

import jax
import jax.numpy as jnp
import pytest

from siamfc_jax import model as model_lib
from siamfc_jax import train_lib

CONFIGS = sorted(p.stem for p in (pathlib.Path(__file__).parents[1]
                                  / 'siamfc_jax' / 'configs').glob('*.py')
                 if p.stem not in ('__init__', 'base'))


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds(name):
  module = importlib.import_module(f'siamfc_jax.configs.{name}')
  assert 'python -m ' in module.__doc__, f'{name}: no command in docstring'
  config = module.get_config()
  for model in [config.get('model'), config.get('track', {}).get('model')]:
    if model is not None:  # The network builds (traced, not compiled).
      net = model_lib.create_model(model)
      shapes = jax.eval_shape(
          functools.partial(net.init, train=False), jax.random.key(0),
          jnp.zeros((1, 127, 127, 3)), jnp.zeros((1, 1, 255, 255, 3)))
      assert shapes['params']['score_bias'].shape == ()
  if name.startswith('train') or name == 'tiny':
    assert train_lib.steps_per_epoch(config) > 0


def test_vid_and_got10k_follow_the_paper():
  for name in ('train_vid', 'train_got10k'):
    config = importlib.import_module(f'siamfc_jax.configs.{name}').get_config()
    assert (config.num_epochs, config.pairs_per_epoch) == (50, 53_200)
    assert (config.lr_start, config.lr_end) == (1e-2, 1e-5)
    assert config.momentum == 0.9 and config.weight_decay == 5e-4

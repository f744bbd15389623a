"""The SiamFC network: AlexNet-style embedding and the cross-correlation head.

Modules are Flax Linen and used functionally through ``init``/``apply`` with
explicit ``params`` and ``batch_stats`` collections.
"""

import functools
from typing import Any, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from siamfc_jax import xcorr

Variables = Mapping[str, Any]

# N(0, 2/fan_in), as in the paper (He et al. initialisation without truncation).
he_normal = nn.initializers.variance_scaling(2.0, 'fan_in', 'normal')


class GroupedConv(nn.Module):
  """VALID convolution whose kernel is stored as (k, k, in/groups, out).

  The parameter layout is the same as ``nn.Conv(feature_group_count=g)``;
  ``split_groups`` only changes how it is computed: as one grouped
  convolution, or as ``groups`` ordinary convolutions on channel slices,
  which XLA's CPU backend runs much faster and gives identical results.
  """

  features: int
  kernel_size: int
  groups: int = 1
  strides: int = 1
  split_groups: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    in_features = x.shape[-1]
    if in_features % self.groups or self.features % self.groups:
      raise ValueError(
          f'{in_features} inputs / {self.features} outputs do not split into'
          f' {self.groups} groups')
    k = self.kernel_size
    kernel = self.param('kernel', he_normal,
                        (k, k, in_features // self.groups, self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    x = x.astype(self.dtype)
    kernel = kernel.astype(self.dtype)
    conv = functools.partial(
        jax.lax.conv_general_dilated,
        window_strides=(self.strides, self.strides),
        padding='VALID',
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        preferred_element_type=jnp.float32)
    if self.groups == 1 or not self.split_groups:
      y = conv(x, kernel, feature_group_count=self.groups)
    else:
      xs = jnp.split(x, self.groups, axis=-1)
      ks = jnp.split(kernel, self.groups, axis=-1)
      y = jnp.concatenate([conv(xi, ki) for xi, ki in zip(xs, ks)], axis=-1)
    return y + bias


class AlexNetEmbedding(nn.Module):
  """Fully convolutional AlexNet of SiamFC; total stride 8, no padding.

  127x127 exemplars map to 6x6x256 and 255x255 search images to 22x22x256.
  Inputs are RGB pixel values in [0, 255], as in the original model.
  """

  bn_momentum: float = 0.95
  bn_epsilon: float = 1e-6
  split_groups: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    conv = functools.partial(
        GroupedConv, split_groups=self.split_groups, dtype=self.dtype)
    norm = functools.partial(
        nn.BatchNorm, use_running_average=not train,
        momentum=self.bn_momentum, epsilon=self.bn_epsilon)
    pool = functools.partial(nn.max_pool, window_shape=(3, 3), strides=(2, 2))
    x = images.astype(jnp.float32)
    x = nn.relu(norm(name='bn1')(conv(96, 11, strides=2, name='conv1')(x)))
    x = pool(x)
    x = nn.relu(norm(name='bn2')(conv(256, 5, groups=2, name='conv2')(x)))
    x = pool(x)
    x = nn.relu(norm(name='bn3')(conv(384, 3, name='conv3')(x)))
    x = nn.relu(norm(name='bn4')(conv(384, 3, groups=2, name='conv4')(x)))
    return conv(256, 3, groups=2, name='conv5')(x)


class SiamFC(nn.Module):
  """Embedding plus the score head ``f(z, x) = gain * (phi(z) * phi(x)) + b``.

  ``__call__`` scores exemplars (B, 127, 127, 3) against search images
  (B, S, 255, 255, 3) and returns (B, S, 17, 17). ``embed`` and ``score``
  are exposed separately so the tracker embeds the exemplar only once.
  """

  score_gain: float = 1e-3
  bn_momentum: float = 0.95
  bn_epsilon: float = 1e-6
  split_groups: bool = True
  dtype: Any = jnp.float32

  def setup(self):
    self.embedding = AlexNetEmbedding(
        bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon,
        split_groups=self.split_groups, dtype=self.dtype)
    self.score_bias = self.param('score_bias', nn.initializers.zeros, ())

  def embed(self, images: jax.Array, *, train: bool = False) -> jax.Array:
    return self.embedding(images, train=train)

  def score(self, exemplar_features: jax.Array,
            search_features: jax.Array) -> jax.Array:
    response = xcorr.cross_correlate(exemplar_features, search_features)
    return self.score_gain * response + self.score_bias

  def __call__(self, exemplars: jax.Array, searches: jax.Array, *,
               train: bool) -> jax.Array:
    batch, scales = searches.shape[:2]
    z = self.embed(exemplars, train=train)
    x = self.embed(searches.reshape(batch * scales, *searches.shape[2:]),
                   train=train)
    return self.score(z, x.reshape(batch, scales, *x.shape[1:]))


def create_model(config: ml_collections.ConfigDict) -> SiamFC:
  """Builds the network from a ``config.model`` ConfigDict."""
  return SiamFC(
      score_gain=config.score_gain,
      bn_momentum=config.bn_momentum,
      bn_epsilon=config.bn_epsilon,
      split_groups=config.split_groups,
      dtype=jnp.dtype(config.dtype))


def init_variables(model: SiamFC, rng: jax.Array, *,
                   exemplar_size: int = 127,
                   search_size: int = 255) -> dict[str, Any]:
  """Returns freshly initialised ``{'params', 'batch_stats'}``."""
  z = jnp.zeros((1, exemplar_size, exemplar_size, 3), jnp.float32)
  x = jnp.zeros((1, 1, search_size, search_size, 3), jnp.float32)
  variables = jax.jit(functools.partial(model.init, train=False))(rng, z, x)
  return dict(variables)

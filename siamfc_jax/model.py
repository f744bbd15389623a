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

from siamfc_jax import conv_algorithms
from siamfc_jax import cpu_ops
from siamfc_jax import xcorr

Variables = Mapping[str, Any]

# N(0, 2/fan_in), as in the paper (He et al. initialisation without truncation).
he_normal = nn.initializers.variance_scaling(2.0, 'fan_in', 'normal')


def accumulation_dtype(dtype) -> jnp.dtype:
  """What convolutions of ``dtype`` accumulate and return in: float32 for
  bfloat16 and float32, float64 for float64 (reference runs under x64)."""
  return jnp.promote_types(dtype, jnp.float32)


# config.model.conv_algorithm (siamfc_jax/conv_algorithms.py).
CONV_ALGORITHMS = conv_algorithms.ALGORITHMS

# config.model.ops: the CPU-tuned ops of siamfc_jax/cpu_ops.py, or plain
# flax/lax ops; 'auto' picks the CPU-tuned ones on the CPU backend only, as
# they were measured there only.
OPS = ('auto', 'cpu_tuned', 'plain')


def resolve_ops(ops: str) -> str:
  """'cpu_tuned' or 'plain' for an ``ops`` choice of OPS.

  'auto' is 'cpu_tuned' where ``jax.default_backend()`` is the CPU, when
  the network is traced, and 'plain' on GPUs and TPUs.
  """
  if ops not in OPS:
    raise ValueError(f'ops {ops!r} is not one of {OPS}')
  if ops == 'auto':
    return 'cpu_tuned' if jax.default_backend() == 'cpu' else 'plain'
  return ops


class GroupedConv(nn.Module):
  """VALID convolution whose kernel is stored as (k, k, in/groups, out).

  The parameter layout is the same as ``nn.Conv(feature_group_count=g)``;
  ``split_groups`` and ``algorithm`` only change how it is computed: as one
  grouped convolution, or as ``groups`` ordinary convolutions on channel
  slices (cpu_ops.split_group_conv, faster on XLA's CPU backend, identical
  results); each by XLA's convolution ('direct'), as a matrix product of
  image patches ('im2col', cpu_ops.im2col_conv, for float64 reference runs)
  or with fewer operations (the other CONV_ALGORITHMS, which apply to some
  layers only: conv_algorithms.layer_algorithm).
  """

  features: int
  kernel_size: int
  groups: int = 1
  strides: int = 1
  split_groups: bool = True
  dtype: Any = jnp.float32
  algorithm: str = 'direct'

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
    algorithm = conv_algorithms.layer_algorithm(
        self.algorithm, kernel_size=k, strides=self.strides)
    conv = functools.partial(
        conv_algorithms.LAYER_CONVS[algorithm], stride=self.strides,
        preferred_element_type=accumulation_dtype(self.dtype))
    if self.groups == 1:
      y = conv(x, kernel)
    elif not self.split_groups and algorithm == 'direct':
      y = conv(x, kernel, feature_group_count=self.groups)
    else:  # The other algorithms always split the groups.
      y = cpu_ops.split_group_conv(conv, x, kernel, self.groups)
    return y + bias


def _max_pool(x: jax.Array) -> jax.Array:
  return nn.max_pool(x, (3, 3), (2, 2))


def _batch_norm_relu(x: jax.Array, scale: jax.Array, bias: jax.Array,
                     epsilon: float):
  """cpu_ops.batch_norm_relu's values, differentiated by autodiff."""
  mean, var = cpu_ops.batch_stats(x)
  y, _ = cpu_ops.normalize_relu(x, mean, var, scale, bias, epsilon)
  return y, mean, var


class BatchNormReLU(nn.Module):
  """BatchNorm followed by ReLU over the last axis.

  Variables and updates are those of ``nn.BatchNorm`` (params scale, bias;
  batch_stats mean, var; ``ra = momentum * ra + (1 - momentum) * batch``).
  ``ops`` (OPS) chooses the gradient of train mode: hand-written
  (cpu_ops.batch_norm_relu) or autodiff's.
  """

  use_running_average: bool
  momentum: float
  epsilon: float
  ops: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    features = x.shape[-1]
    scale = self.param('scale', nn.initializers.ones, (features,))
    bias = self.param('bias', nn.initializers.zeros, (features,))
    ra_mean = self.variable('batch_stats', 'mean', jnp.zeros, (features,))
    ra_var = self.variable('batch_stats', 'var', jnp.ones, (features,))
    if self.use_running_average:
      return cpu_ops.normalize_relu(x, ra_mean.value, ra_var.value, scale,
                                    bias, self.epsilon)[0]
    tuned = resolve_ops(self.ops) == 'cpu_tuned'
    batch_norm_relu = cpu_ops.batch_norm_relu if tuned else _batch_norm_relu
    y, mean, var = batch_norm_relu(x, scale, bias, self.epsilon)
    if not self.is_initializing():
      ra_mean.value = (self.momentum * ra_mean.value
                       + (1 - self.momentum) * mean)
      ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
    return y


class AlexNetEmbedding(nn.Module):
  """Fully convolutional AlexNet of SiamFC; total stride 8, no padding.

  127x127 exemplars map to 6x6x256 and 255x255 search images to 22x22x256.
  Inputs are RGB pixel values in [0, 255], as in the original model.
  ``ops`` (OPS) chooses the CPU-tuned ops of siamfc_jax/cpu_ops.py (with
  ``split_groups``) or plain flax/lax ops: same parameters, same values.
  """

  bn_momentum: float = 0.95
  bn_epsilon: float = 1e-6
  split_groups: bool = True  # With the CPU-tuned ops only.
  dtype: Any = jnp.float32
  conv_algorithm: str = 'direct'
  ops: str = 'auto'

  @nn.compact
  def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
    ops = resolve_ops(self.ops)
    tuned = ops == 'cpu_tuned'
    conv = functools.partial(
        GroupedConv, split_groups=tuned and self.split_groups,
        dtype=self.dtype, algorithm=self.conv_algorithm)
    norm_relu = functools.partial(
        BatchNormReLU, use_running_average=not train,
        momentum=self.bn_momentum, epsilon=self.bn_epsilon, ops=ops)
    max_pool = cpu_ops.max_pool if tuned else _max_pool
    stored = cpu_ops.materialize if tuned and train else lambda x: x
    x = images.astype(accumulation_dtype(self.dtype))
    x = norm_relu(name='bn1')(conv(96, 11, strides=2, name='conv1')(x))
    x = stored(max_pool(x))
    x = norm_relu(name='bn2')(conv(256, 5, groups=2, name='conv2')(x))
    x = stored(max_pool(x))
    x = stored(norm_relu(name='bn3')(conv(384, 3, name='conv3')(x)))
    x = stored(norm_relu(name='bn4')(conv(384, 3, groups=2, name='conv4')(x)))
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
  conv_algorithm: str = 'direct'
  ops: str = 'auto'

  def setup(self):
    self.embedding = AlexNetEmbedding(
        bn_momentum=self.bn_momentum, bn_epsilon=self.bn_epsilon,
        split_groups=self.split_groups, dtype=self.dtype,
        conv_algorithm=self.conv_algorithm, ops=self.ops)
    self.score_bias = self.param('score_bias', nn.initializers.zeros, ())

  def embed(self, images: jax.Array, *, train: bool = False) -> jax.Array:
    return self.embedding(images, train=train)

  def score(self, exemplar_features: jax.Array, search_features: jax.Array,
            *, xcorr_method: str = 'conv') -> jax.Array:
    response = xcorr.cross_correlate(exemplar_features, search_features,
                                     method=xcorr_method)
    return self.score_gain * response + self.score_bias

  def __call__(self, exemplars: jax.Array, searches: jax.Array, *,
               train: bool) -> jax.Array:
    batch, scales = searches.shape[:2]
    z = self.embed(exemplars, train=train)
    x = self.embed(searches.reshape(batch * scales, *searches.shape[2:]),
                   train=train)
    # Training differentiates the scores, which the grouped convolution
    # gets wrong on a sharded batch (xcorr.cross_correlate).
    return self.score(z, x.reshape(batch, scales, *x.shape[1:]),
                      xcorr_method='shifts' if train else 'conv')


@functools.lru_cache(maxsize=None)
def feature_size(image_size: int) -> int:
  """Side of the embedding of an image_size x image_size image.

  Taken from the network itself (shapes only, nothing is computed), so that
  the score map's size has one source: 127 -> 6, 255 -> 22.
  """
  image = jax.ShapeDtypeStruct((1, image_size, image_size, 3), jnp.float32)
  net = AlexNetEmbedding()
  shape = jax.eval_shape(
      lambda x: net.init_with_output(jax.random.key(0), x, train=False)[0],
      image).shape
  return shape[1]


def response_size(exemplar_size: int, instance_size: int) -> int:
  """Side of the score map of an exemplar against a search image (17)."""
  return feature_size(instance_size) - feature_size(exemplar_size) + 1


def create_model(config: ml_collections.ConfigDict) -> SiamFC:
  """Builds the network from a ``config.model`` ConfigDict."""
  return SiamFC(
      score_gain=config.score_gain,
      bn_momentum=config.bn_momentum,
      bn_epsilon=config.bn_epsilon,
      split_groups=config.split_groups,
      dtype=jnp.dtype(config.dtype),
      conv_algorithm=config.conv_algorithm,
      # Model configs written before the switch have no ops field.
      ops=config.get('ops', 'auto'))


def init_variables(model: SiamFC, rng: jax.Array, *,
                   exemplar_size: int = 127,
                   search_size: int = 255) -> dict[str, Any]:
  """Returns freshly initialised ``{'params', 'batch_stats'}``."""
  z = jnp.zeros((1, exemplar_size, exemplar_size, 3), jnp.float32)
  x = jnp.zeros((1, 1, search_size, search_size, 3), jnp.float32)
  variables = jax.jit(functools.partial(model.init, train=False))(rng, z, x)
  return dict(variables)

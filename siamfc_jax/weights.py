"""Network weights as single files: saving, loading and the shipped model.

A weights file is the msgpack serialisation (``flax.serialization``) of
``{'params', 'batch_stats'}``, optionally stored in float16 to stay small.
Published weights load too: the original MatConvNet network (``.mat``), its
int8 TFLite export (``.tflite``) and siamfc-pytorch checkpoints (``.pth``).
"""

import pathlib
import re
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import scipy.io
from absl import logging

from siamfc_jax import files
from siamfc_jax import model as model_lib

PRETRAINED = (pathlib.Path(__file__).parent / 'pretrained'
              / 'siamfc_alexnet.msgpack')


class WeightsError(ValueError):
  """A weights file that does not exist or does not fit the network."""


def save_weights(path, variables, *, dtype=np.float32) -> None:
  """Writes ``{'params', 'batch_stats'}`` to ``path`` atomically."""
  host = jax.tree.map(lambda a: np.asarray(a, dtype), jax.device_get(
      {'params': variables['params'],
       'batch_stats': variables['batch_stats']}))
  files.write_bytes(path, flax.serialization.msgpack_serialize(host))


def _fit(path: pathlib.Path, state, template) -> dict[str, Any]:
  """``state`` as float32 arrays in the structure of ``template``."""
  try:
    state = {k: state[k] for k in template}
  except (KeyError, TypeError) as e:
    raise WeightsError(f'{path}: missing collection {e}') from None
  if jax.tree.map(np.shape, state) != jax.tree.map(np.shape, template):
    raise WeightsError(f'{path}: parameter names or shapes differ from the'
                       ' network\'s')
  return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), state)


def _fit_network(path, template, embedding, stats, score_bias):
  """Imported layers as variables in the structure of ``template``."""
  state = {'params': {'embedding': embedding, 'score_bias': score_bias},
           'batch_stats': {'embedding': stats}}
  return _fit(path, state, template)


def _fold_score_gain(path, embedding, gain: float, score_gain: float):
  """Folds a positive score gain ``gain`` into conv5 in place.

  Scores are bilinear in conv5's output, so scaling conv5 by
  sqrt(gain / score_gain) makes ``score_gain * xcorr`` equal to the
  original ``gain * xcorr``.
  """
  if not gain > 0:
    raise WeightsError(f'{path}: score gain {gain} is not positive')
  fold = np.sqrt(gain / score_gain)
  embedding['conv5'] = {k: v * fold for k, v in embedding['conv5'].items()}


def load_weights(path, template) -> dict[str, Any]:
  """Reads a weights file into the structure of ``template`` (float32)."""
  path = pathlib.Path(path)
  try:
    state = flax.serialization.msgpack_restore(path.read_bytes())
  except OSError as e:
    raise WeightsError(f'{path}: cannot read weights ({e})') from None
  except Exception as e:  # msgpack raises several types for corrupt data.
    raise WeightsError(f'{path}: not a weights file ({e})') from None
  return _fit(path, state, template)


def weights_path(config: ml_collections.ConfigDict) -> pathlib.Path | None:
  """The weights a track config asks for: ``config.checkpoint``, else the
  shipped model, else None (an untrained network from ``config.seed``)."""
  if config.checkpoint:
    return pathlib.Path(config.checkpoint)
  return PRETRAINED if PRETRAINED.is_file() else None


def describe(config: ml_collections.ConfigDict) -> str:
  """What a run record says of the weights ``config`` tracks with: the
  file, or the untrained network's seed."""
  path = weights_path(config)
  return str(path) if path else f'untrained (seed {config.seed})'


def load_for_tracking(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The variables of ``weights_path(config)``, or an untrained network."""
  net = model_lib.create_model(config.model)
  template = model_lib.init_variables(
      net, jax.random.key(config.seed), exemplar_size=config.exemplar_size,
      search_size=config.instance_size)
  path = weights_path(config)
  if path is None:
    logging.warning('No weights given and none shipped: using an untrained'
                    ' network (seed %d).', config.seed)
    return template
  logging.info('Loading weights from %s', path)
  if path.suffix == '.mat':
    return import_matconvnet(path, template,
                             score_gain=config.model.score_gain,
                             bn_epsilon=config.model.bn_epsilon)
  if path.suffix == '.tflite':
    return import_tflite(path, template, score_gain=config.model.score_gain,
                         bn_epsilon=config.model.bn_epsilon)
  if path.suffix == '.pth':
    return import_siamfc_pytorch(path, template)
  return load_weights(path, template)


def _matconvnet_params(path: pathlib.Path) -> dict[str, np.ndarray]:
  try:
    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
  except NotImplementedError:
    raise WeightsError(f'{path}: MATLAB v7.3 files are not supported; save'
                       ' the network with -v7 in MATLAB') from None
  except (OSError, ValueError, scipy.io.matlab.MatReadError) as e:
    raise WeightsError(f'{path}: cannot read MATLAB file ({e})') from None
  net = mat.get('net')
  if net is None or not hasattr(net, 'params'):
    raise WeightsError(f'{path}: no DagNN `net.params` in the file')
  return {p.name: np.asarray(p.value, np.float64) for p in
          np.atleast_1d(net.params)}


def import_matconvnet(path, template, *, score_gain: float,
                      bn_epsilon: float):
  """Loads the original SiamFC MatConvNet network (``*.net.mat``).

  Filters ``br_conv{i}f`` (HWIO) and biases ``br_conv{i}b``; BatchNorm
  ``br_bn{i}m`` (gain), ``br_bn{i}b`` (bias), ``br_bn{i}x`` (mean, sigma);
  the score head is a BatchNorm ``fin_adjust_bn{m,b,x}``. Its positive gain
  m / sigma is folded into conv5 (the scores are bilinear in conv5's
  output), so that with ``score_gain`` the scores equal the original ones;
  ``bn_epsilon`` is the network's, so that sqrt(var + eps) = sigma.
  """
  path = pathlib.Path(path)
  raw = _matconvnet_params(path)
  try:
    embedding = {}
    stats = {}
    for i in range(1, 6):
      embedding[f'conv{i}'] = dict(kernel=raw[f'br_conv{i}f'],
                                   bias=raw[f'br_conv{i}b'])
      if i < 5:
        moments = raw[f'br_bn{i}x']
        embedding[f'bn{i}'] = dict(scale=raw[f'br_bn{i}m'],
                                   bias=raw[f'br_bn{i}b'])
        stats[f'bn{i}'] = dict(mean=moments[:, 0],
                               var=np.maximum(moments[:, 1] ** 2 - bn_epsilon,
                                              0))
    gain, bias, moments = (raw['fin_adjust_bnm'], raw['fin_adjust_bnb'],
                           raw['fin_adjust_bnx'])
  except KeyError as e:
    raise WeightsError(f'{path}: parameter {e} missing') from None
  adjust_gain = float(gain) / float(np.ravel(moments)[1])
  _fold_score_gain(path, embedding, adjust_gain, score_gain)
  return _fit_network(
      path, template, embedding, stats,
      float(bias) - adjust_gain * float(np.ravel(moments)[0]))


def _torch_load_problem(path: pathlib.Path, error: Exception) -> str:
  """torch.load's reason for failing, in one line.

  Its message spans several lines advising weights_only=False, which runs
  the file's code: not advice to pass on for weights of unknown origin.
  """
  text = str(error)
  if 'WeightsUnpickler error:' in text:
    reason = next((line.strip() for line in text.split(
        'WeightsUnpickler error:', 1)[1].splitlines() if line.strip()), '')
    found = re.search(r'GLOBAL (\S+)', reason)
    if found:
      return (f'it stores Python objects ({found[1]}); only tensors are'
              ' read, as torch.load(weights_only=True) does')
    return f'not a PyTorch checkpoint: {reason}'
  try:
    if path.stat().st_size == 0:
      return 'empty file, 0 bytes'
  except OSError:
    pass
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  return lines[0] if lines else type(error).__name__


def import_siamfc_pytorch(path, template, *, bgr_input: bool = False):
  """Loads a siamfc-pytorch checkpoint (``*.pth``; needs torch installed).

  Keys ``backbone.conv{i}.0.{weight,bias}`` (OIHW convolutions) and
  ``backbone.conv{i}.1.{weight,bias,running_mean,running_var}`` (BatchNorm);
  its head has no parameters (fixed gain 1e-3). siamfc-pytorch feeds its
  network RGB pixel values 0..255 like this package: tracking reads frames
  with ``siamfc/ops.py: read_image`` (``cv2.COLOR_BGR2RGB`` by default) and
  training converts each pair to RGB in ``siamfc/datasets.py:
  Pair.__getitem__``. So its conv1 is used as stored; ``bgr_input=True``
  reverses conv1's input channels, for checkpoints trained on BGR frames.
  """
  path = pathlib.Path(path)
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise WeightsError(f'{path}: reading .pth files needs torch'
                       ' (pip install torch)') from None
  try:
    raw = torch.load(path, map_location='cpu', weights_only=True)
  except Exception as e:  # torch raises many types for bad files.
    raise WeightsError(
        f'{path}: cannot read checkpoint ({_torch_load_problem(path, e)})'
    ) from None
  raw = raw.get('state_dict', raw) if isinstance(raw, dict) else raw
  if not isinstance(raw, dict):
    raise WeightsError(f'{path}: holds a {type(raw).__name__}, not a'
                       ' state dict of tensors')
  raw = {k.removeprefix('module.'): v.double().numpy() for k, v in raw.items()
         if hasattr(v, 'numpy') and v.is_floating_point()}
  try:
    embedding, stats = {}, {}
    for i in range(1, 6):
      kernel = np.transpose(raw[f'backbone.conv{i}.0.weight'], (2, 3, 1, 0))
      if i == 1 and bgr_input:
        kernel = kernel[:, :, ::-1]
      embedding[f'conv{i}'] = dict(kernel=kernel,
                                   bias=raw[f'backbone.conv{i}.0.bias'])
      if i < 5:
        bn = f'backbone.conv{i}.1.'
        embedding[f'bn{i}'] = dict(scale=raw[bn + 'weight'],
                                   bias=raw[bn + 'bias'])
        stats[f'bn{i}'] = dict(mean=raw[bn + 'running_mean'],
                               var=raw[bn + 'running_var'])
  except KeyError as e:
    raise WeightsError(f'{path}: parameter {e} missing') from None
  return _fit_network(path, template, embedding, stats, 0.0)


# numpy types of the TFLite schema's TensorType codes that can hold weights.
_TFLITE_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8,
                  4: np.int64, 7: np.int16, 9: np.int8}

# (layer, stride, groups) of siamfc_jax.model.AlexNetEmbedding.
_ALEXNET = ((1, 2, 1), (2, 1, 2), (3, 1, 1), (4, 1, 2), (5, 1, 2))


class _TFLiteModel:
  """Tensors (constants dequantised) and operators of a TFLite subgraph."""

  def __init__(self, path: pathlib.Path):
    self.path = path
    try:
      import tflite  # pylint: disable=g-import-not-at-top
    except ImportError:
      raise WeightsError(f'{path}: reading .tflite files needs the tflite'
                         ' package (pip install tflite)') from None
    try:
      data = path.read_bytes()
    except OSError as e:
      raise WeightsError(f'{path}: cannot read weights ({e})') from None
    if len(data) < 8 or not tflite.Model.ModelBufferHasIdentifier(data, 0):
      raise WeightsError(f'{path}: not a TFLite model (no TFL3 identifier)')
    try:
      self._read(tflite, data)
    except Exception as e:  # flatbuffers raises many types for bad offsets.
      raise WeightsError(f'{path}: corrupt TFLite model'
                         f' ({type(e).__name__}: {e})') from None

  def _read(self, tflite, data: bytes) -> None:
    model = tflite.Model.GetRootAsModel(data, 0)
    if not model.SubgraphsLength():
      raise ValueError('no subgraph')
    graph = model.Subgraphs(0)
    self.names, self.shapes, self.values = [], [], []
    for t in range(graph.TensorsLength()):
      tensor = graph.Tensors(t)
      self.names.append((tensor.Name() or b'').decode())
      self.shapes.append(tuple(int(d) for d in tensor.ShapeAsNumpy())
                         if tensor.ShapeLength() else ())
      self.values.append(self._constant(model, tensor, self.shapes[-1],
                                        data))
    operator_names = {v: k for k, v in vars(tflite.BuiltinOperator).items()
                      if not k.startswith('_')}
    codes = []
    for c in range(model.OperatorCodesLength()):
      code = model.OperatorCodes(c)
      # Codes above 127 live only in the newer field.
      codes.append(operator_names.get(
          max(code.BuiltinCode(), code.DeprecatedBuiltinCode())))
    self.convolutions = []  # (inputs, Conv2DOptions) of each CONV_2D.
    for o in range(graph.OperatorsLength()):
      op = graph.Operators(o)
      if codes[op.OpcodeIndex()] != 'CONV_2D':
        continue
      options = tflite.Conv2DOptions()
      table = op.BuiltinOptions()
      if table is None:
        raise ValueError(f'operator {o} (CONV_2D) has no options')
      options.Init(table.Bytes, table.Pos)
      inputs = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
      self.convolutions.append((inputs, options))

  @staticmethod
  def _constant(model, tensor, shape, data: bytes) -> np.ndarray | None:
    """A constant tensor's values as (q - zero_point) * scale, float64."""
    buffer = model.Buffers(tensor.Buffer())
    if buffer.Offset() > 1:  # Data stored after the flatbuffer (large models).
      raw = data[buffer.Offset():buffer.Offset() + buffer.Size()]
    elif buffer.DataLength():
      raw = buffer.DataAsNumpy().tobytes()
    else:
      return None
    dtype = _TFLITE_DTYPES.get(tensor.Type())
    if dtype is None:
      return None
    values = np.frombuffer(raw, dtype).astype(np.float64).reshape(shape)
    quant = tensor.Quantization()
    if quant is None or not quant.ScaleLength():
      return values
    scale = quant.ScaleAsNumpy().astype(np.float64)
    zero = (quant.ZeroPointAsNumpy().astype(np.float64)
            if quant.ZeroPointLength() else np.zeros(1))
    if scale.size == 1:
      return (values - zero[0]) * scale[0]
    # One scale (and zero point) per index of quantized_dimension.
    per_axis = [1] * values.ndim
    per_axis[quant.QuantizedDimension()] = scale.size
    zero = zero.reshape(per_axis) if zero.size == scale.size else zero[0]
    return (values - zero) * scale.reshape(per_axis)

  def constants(self, names) -> dict[str, int]:
    """Index of the constant tensor ``name`` or ``<scope>/name``, by name.

    Equal copies (one per branch of the Siamese network) are one tensor.
    """
    found, missing = {}, []
    for name in names:
      pattern = re.compile(r'(?:[^/]+/)?' + re.escape(name))
      hits = [t for t, n in enumerate(self.names)
              if pattern.fullmatch(n) and self.values[t] is not None]
      if not hits:
        missing.append(name)
        continue
      first = self.values[hits[0]]
      if any(self.values[t].shape != first.shape
             or not np.array_equal(self.values[t], first) for t in hits):
        raise WeightsError(f'{self.path}: several different tensors {name}')
      found[name] = hits[0]
    if missing:
      more = f' and {len(missing) - 1} more' if len(missing) > 1 else ''
      raise WeightsError(
          f'{self.path}: not the SiamFC network: no tensor {missing[0]}{more}'
          f' (it has {len(self.names)} tensors, e.g.'
          f' {", ".join(self.names[:3]) or "none"})')
    return found

  def value(self, index: int, shape, what: str) -> np.ndarray:
    """A constant's values, which must have ``shape``."""
    if self.values[index].shape != tuple(shape):
      raise WeightsError(
          f'{self.path}: {what} has shape {self.values[index].shape}, the'
          f' network needs {tuple(shape)}')
    return self.values[index]

  def scalar(self, index: int, what: str) -> float:
    """A constant of one value, of any rank."""
    if self.values[index].size != 1:
      raise WeightsError(
          f'{self.path}: {what} has shape {self.values[index].shape}, the'
          ' network needs one value')
    return float(self.values[index].item())

  def _bias(self, convolutions, size: int, what: str) -> np.ndarray:
    """The bias, the same in every convolution listed, or zeros."""
    biases = []
    for inputs, _ in convolutions:
      if len(inputs) < 3 or inputs[2] < 0:
        biases.append(np.zeros(size))
      elif self.values[inputs[2]] is None:
        raise WeightsError(f'{self.path}: bias of {what} is not constant')
      else:
        biases.append(self.value(inputs[2], (size,), f'bias of {what}'))
    if any(not np.array_equal(b, biases[0]) for b in biases):
      raise WeightsError(f'{self.path}: the branches of {what} have different'
                         ' biases')
    return biases[0]

  def conv_bias(self, weights: int, stride: int, what: str) -> np.ndarray:
    """Bias of the VALID convolutions with these weights (after checking
    stride, padding, dilation and that no activation is fused)."""
    convolutions = [(inputs, options) for inputs, options in self.convolutions
                    if len(inputs) > 1 and inputs[1] == weights]
    if not convolutions:
      raise WeightsError(f'{self.path}: no convolution uses {what}')
    for _, o in convolutions:
      # Padding 1 is VALID in the schema; activation 0 is NONE.
      if (o.Padding(), o.StrideH(), o.StrideW(), o.DilationHFactor(),
          o.DilationWFactor(), o.FusedActivationFunction()) != (
              1, stride, stride, 1, 1, 0):
        raise WeightsError(
            f'{self.path}: {what} is used with padding {o.Padding()}, stride'
            f' {o.StrideH()}x{o.StrideW()}, dilation {o.DilationHFactor()}x'
            f'{o.DilationWFactor()}, activation'
            f' {o.FusedActivationFunction()}; the network convolves VALID'
            f' (1) with stride {stride}, no dilation and no activation')
    return self._bias(convolutions, self.shapes[weights][0], what)

  def correlation_bias(self) -> float:
    """Bias of the score convolution, the one whose filter is computed."""
    convolutions = [(inputs, options) for inputs, options in self.convolutions
                    if len(inputs) > 1 and self.values[inputs[1]] is None]
    if len(convolutions) != 1:
      raise WeightsError(f'{self.path}: {len(convolutions)} cross-'
                         'correlations of exemplar and search features, not 1')
    return float(self._bias(convolutions, 1, 'the cross-correlation')[0])


def _unit_variance(epsilon: float) -> np.float32:
  """A float32 variance v with v + epsilon == 1 in float32, so that eval
  BatchNorm's rsqrt(v + epsilon) is exactly 1."""
  eps = np.float32(epsilon)
  guess = np.float32(1) - eps
  for v in (guess, np.nextafter(guess, np.float32(2)),
            np.nextafter(guess, np.float32(0))):
    if v >= 0 and v + eps == np.float32(1):
      return v
  raise ValueError(f'no variance v >= 0 with v + {epsilon} == 1 in float32')


def import_tflite(path, template, *, score_gain: float, bn_epsilon: float):
  """Loads SiamFC's int8 TFLite export (``*.tflite``; needs ``tflite``).

  The layout is that of the export of the original colour network
  (``whole_model_full_quant_scale1.tflite``): int8 weights
  ``<scope>/conv{i}/weights`` in (out, kh, kw, in) with one scale per output
  channel; the two-group conv2, conv4 and conv5 stored as two convolutions
  ``conv{i}/b1`` (first halves of the input and output channels) and
  ``conv{i}/b2``; each BatchNorm of conv1-conv4 folded into ``conv * mul +
  add`` (``.../BatchNorm/FusedBatchNormV3_{mul_0,add}_param``); int32
  convolution biases (zero for conv1-conv4); the score head ``mul/x * (xcorr
  + bias) + detection/biases``, mul/x being 0.001. Its input is RGB pixel
  values 0..255, as here.

  Constants are dequantised as (q - zero_point) * scale. Each BatchNorm
  gets mean 0 and a variance v with v + ``bn_epsilon`` == 1 in float32, so
  that it computes exactly ``conv * mul + add``; the score gain is folded
  into conv5 as for the MatConvNet network.
  """
  path = pathlib.Path(path)
  graph = _TFLiteModel(path)
  branches = {i: [f'conv{i}'] if groups == 1 else
              [f'conv{i}/b{g}' for g in range(1, groups + 1)]
              for i, _, groups in _ALEXNET}
  folded = {'scale': 'BatchNorm/FusedBatchNormV3_mul_0_param',
            'bias': 'BatchNorm/FusedBatchNormV3_add_param'}
  names = [f'{b}/weights' for i in branches for b in branches[i]]
  names += [f'{b}/{n}' for i in range(1, 5) for b in branches[i]
            for n in folded.values()]
  found = graph.constants(names + ['detection/mul/x', 'detection/biases'])
  variance = _unit_variance(bn_epsilon)
  embedding, stats = {}, {}
  for i, stride, groups in _ALEXNET:
    k, _, inputs, outputs = np.shape(
        template['params']['embedding'][f'conv{i}']['kernel'])
    per_group = outputs // groups
    kernels, biases, bn = [], [], {'scale': [], 'bias': []}
    for branch in branches[i]:
      weights = found[f'{branch}/weights']
      kernels.append(np.transpose(graph.value(
          weights, (per_group, k, k, inputs), f'{branch}/weights'),
                                  (1, 2, 3, 0)))
      biases.append(graph.conv_bias(weights, stride, f'{branch}/weights'))
      if i < 5:
        for key, name in folded.items():
          bn[key].append(graph.value(found[f'{branch}/{name}'], (per_group,),
                                     f'{branch}/{name}'))
    # Group g of GroupedConv reads the g-th input half and writes the g-th
    # output half, as b1 and b2 do.
    embedding[f'conv{i}'] = dict(kernel=np.concatenate(kernels, -1),
                                 bias=np.concatenate(biases))
    if i < 5:
      embedding[f'bn{i}'] = {key: np.concatenate(v) for key, v in bn.items()}
      stats[f'bn{i}'] = dict(mean=np.zeros(outputs),
                             var=np.full(outputs, variance))
  gain = graph.scalar(found['detection/mul/x'], 'detection/mul/x')
  bias = graph.scalar(found['detection/biases'], 'detection/biases')
  _fold_score_gain(path, embedding, gain, score_gain)
  return _fit_network(path, template, embedding, stats,
                      bias + gain * graph.correlation_bias())

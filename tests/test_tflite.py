"""Tests of importing SiamFC's int8 TFLite export (``.tflite``).

Small TFLite files are built here in the layout of that export and the
imported network is compared with a direct evaluation of it. With the real
file in ../shared, the network is also compared with the original MatConvNet
network's features and with the file's own graph.
"""

import pathlib

import flatbuffers
import jax
import jax.numpy as jnp
import numpy as np
import PIL.Image
import pytest
import scipy.io
import tflite

from siamfc_jax import weights
from siamfc_jax import model as model_lib
from siamfc_jax import tracker
from siamfc_jax.configs import base
from siamfc_jax.configs import track_3s

REFERENCE = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
             / 'reference' / 'siamfc_2016-08-17')
TFLITE = REFERENCE / 'siamfc_3s_color_int8.tflite'
EPS = 1e-6
INT8, INT32 = tflite.TensorType.INT8, tflite.TensorType.INT32

# (layer, kernel, input channels per group, outputs, stride, groups)
LAYERS = [(1, 11, 3, 96, 2, 1), (2, 5, 48, 256, 1, 2), (3, 3, 256, 384, 1, 1),
          (4, 3, 192, 384, 1, 2), (5, 3, 192, 256, 1, 2)]
BN = 'BatchNorm/FusedBatchNormV3_{}_param'


@pytest.fixture(scope='module')
def net_and_template():
  net = model_lib.create_model(base.model_config())
  return net, model_lib.init_variables(net, jax.random.key(0))


# --- Writing TFLite files -------------------------------------------------


def _vector(builder, values, dtype):
  return builder.CreateNumpyVector(np.asarray(values, dtype))


def _tables(builder, start, offsets):
  start(builder, len(offsets))
  for offset in reversed(offsets):
    builder.PrependUOffsetTRelative(offset)
  return builder.EndVector()


def _write_tflite(path, tensors, convolutions):
  """A TFLite model of ``tensors`` and CONV_2D operators.

  tensors: dicts of name, shape, type and, for constants, ``q`` (the stored
  integers), ``scale`` (one, or one per index of axis 0). convolutions:
  (input indices, output index, stride).
  """
  b = flatbuffers.Builder(1 << 16)
  buffers, tensor_tables = [], []
  tflite.BufferStart(b)
  buffers.append(tflite.BufferEnd(b))  # Buffer 0: no data, by convention.
  for t in tensors:
    name = b.CreateString(t['name'])
    shape = _vector(b, t['shape'], np.int32)
    quant = None
    if 'scale' in t:
      scale = _vector(b, np.atleast_1d(t['scale']), np.float32)
      zero = _vector(b, np.zeros(np.size(t['scale'])), np.int64)
      tflite.QuantizationParametersStart(b)
      tflite.QuantizationParametersAddScale(b, scale)
      tflite.QuantizationParametersAddZeroPoint(b, zero)
      tflite.QuantizationParametersAddQuantizedDimension(b, 0)
      quant = tflite.QuantizationParametersEnd(b)
    buffer = 0
    if 'q' in t:
      dtype = np.int8 if t['type'] == INT8 else np.int32
      data = b.CreateByteVector(np.asarray(t['q'], dtype).tobytes())
      tflite.BufferStart(b)
      tflite.BufferAddData(b, data)
      buffers.append(tflite.BufferEnd(b))
      buffer = len(buffers) - 1
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, t['type'])
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
      tflite.TensorAddQuantization(b, quant)
    tensor_tables.append(tflite.TensorEnd(b))
  operators = []
  for inputs, output, stride in convolutions:
    tflite.Conv2DOptionsStart(b)
    tflite.Conv2DOptionsAddPadding(b, tflite.Padding.VALID)
    tflite.Conv2DOptionsAddStrideW(b, stride)
    tflite.Conv2DOptionsAddStrideH(b, stride)
    options = tflite.Conv2DOptionsEnd(b)
    inputs, outputs = (_vector(b, inputs, np.int32),
                       _vector(b, [output], np.int32))
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    tflite.OperatorAddBuiltinOptionsType(b, tflite.BuiltinOptions.Conv2DOptions)
    tflite.OperatorAddBuiltinOptions(b, options)
    operators.append(tflite.OperatorEnd(b))
  tensor_vector = _tables(b, tflite.SubGraphStartTensorsVector, tensor_tables)
  operator_vector = _tables(b, tflite.SubGraphStartOperatorsVector, operators)
  tflite.SubGraphStart(b)
  tflite.SubGraphAddTensors(b, tensor_vector)
  tflite.SubGraphAddOperators(b, operator_vector)
  subgraphs = _tables(b, tflite.ModelStartSubgraphsVector,
                      [tflite.SubGraphEnd(b)])
  tflite.OperatorCodeStart(b)
  tflite.OperatorCodeAddDeprecatedBuiltinCode(b, tflite.BuiltinOperator.CONV_2D)
  tflite.OperatorCodeAddBuiltinCode(b, tflite.BuiltinOperator.CONV_2D)
  tflite.OperatorCodeAddVersion(b, 1)
  codes = _tables(b, tflite.ModelStartOperatorCodesVector,
                  [tflite.OperatorCodeEnd(b)])
  buffer_vector = _tables(b, tflite.ModelStartBuffersVector, buffers)
  tflite.ModelStart(b)
  tflite.ModelAddVersion(b, 3)
  tflite.ModelAddOperatorCodes(b, codes)
  tflite.ModelAddSubgraphs(b, subgraphs)
  tflite.ModelAddBuffers(b, buffer_vector)
  b.Finish(tflite.ModelEnd(b), file_identifier=b'TFL3')
  path.write_bytes(b.Output())


def _quantised(values, bits=8, per_channel=False):
  """Symmetric quantisation: (q, scale) and the values q * scale."""
  values = np.asarray(values, np.float64)
  axes = tuple(range(1, values.ndim)) if per_channel else None
  peak = np.max(np.abs(values), axis=axes) if values.size else 1.0
  scale = np.maximum(peak, 1e-12) / (2 ** (bits - 1) - 1)
  per_axis = np.reshape(scale, (-1,) + (1,) * (values.ndim - 1)) if (
      per_channel) else scale
  q = np.round(values / per_axis)
  return dict(q=q, scale=np.float32(scale)), q * np.float32(per_axis)


def _siamfc_file(path, rng, *, gain=2e-3, scope='convolutional_alexnet',
                 strides=None):
  """A TFLite file in the layout of SiamFC's export, random weights.

  Returns the stored network as dequantised values: per layer the branch
  weights (out, kh, kw, in), conv bias, BN multiply and add; and the score
  head's gain, bias and cross-correlation bias.
  """
  tensors, convolutions, net = [], [], {'layers': {}}

  def add(name, shape, dtype, **stored):
    tensors.append(dict(name=f'{scope}/{name}', shape=shape, type=dtype,
                        **stored))
    return len(tensors) - 1

  activation = add('activation', (1, 8, 8, 3), INT8)
  for i, k, cin, cout, stride, groups in LAYERS:
    stride = (strides or {}).get(i, stride)
    per_group = cout // groups
    branches = [f'conv{i}'] if groups == 1 else [f'conv{i}/b1', f'conv{i}/b2']
    layer = net['layers'][i] = dict(weights=[], bias=[], mul=[], add=[])
    for branch in branches:
      stored, w = _quantised(rng.normal(0, np.sqrt(2 / (k * k * cin)),
                                        (per_group, k, k, cin)),
                             per_channel=True)
      kernel = add(f'{branch}/weights', w.shape, INT8, **stored)
      layer['weights'].append(w)
      inputs = [activation, kernel, -1]  # conv1-4: no bias.
      if i == 5:
        stored, bias = _quantised(rng.normal(0, 0.1, (1, per_group)), 32)
        stored['q'] = stored['q'][0]
        inputs[2] = add(f'{branch}/Conv2D_bias', (per_group,), INT32,
                        **stored)
        layer['bias'].append(bias[0])
      else:
        layer['bias'].append(np.zeros(per_group))
        # Multipliers that keep the features near 1, as BatchNorm does.
        mul = 0.005 if i == 1 else 0.3
        for kind, name, low, high in (('mul', 'mul_0', mul, 3 * mul),
                                      ('add', 'add', -0.5, 0.5)):
          stored, value = _quantised(rng.uniform(low, high, per_group))
          add(f'{branch}/{BN.format(name)}', (per_group,), INT8, **stored)
          layer[kind].append(value)
      convolutions.append((inputs, activation, stride))
  stored, net['gain'] = _quantised(gain)
  tensors.append(dict(name='detection/mul/x', shape=(), type=INT8, **stored))
  stored, net['bias'] = _quantised([-2.0])
  tensors.append(dict(name='detection/biases', shape=(1,), type=INT8,
                      **stored))
  stored, net['xcorr_bias'] = _quantised([300.0], 32)
  xcorr_bias = add('cross_correlation_bias', (1,), INT32, **stored)
  features = add('features', (1, 6, 6, 256), INT8)
  convolutions.append(([activation, features, xcorr_bias], activation, 1))
  _write_tflite(path, tensors, convolutions)
  return net


def _reference_embedding(images, net):
  """Each branch convolves its half of the input channels (b1 the first);
  conv1-4 then multiply, add, ReLU; max pools after conv1 and conv2."""
  x = jnp.asarray(images, jnp.float32)
  for i, _, _, _, stride, _ in LAYERS:
    layer = net['layers'][i]
    halves = jnp.split(x, len(layer['weights']), axis=-1)
    x = jnp.concatenate([jax.lax.conv_general_dilated(
        h, jnp.asarray(w, jnp.float32), (stride, stride), 'VALID',
        dimension_numbers=('NHWC', 'OHWI', 'NHWC')) + jnp.asarray(b)
                         for h, w, b in zip(halves, layer['weights'],
                                            layer['bias'])], axis=-1)
    if i < 5:
      x = jax.nn.relu(x * np.concatenate(layer['mul'])
                      + np.concatenate(layer['add']))
    if i < 3:
      x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1),
                                (1, 2, 2, 1), 'VALID')
  return x


def _import(path, template, score_gain=1e-3, bn_epsilon=EPS):
  return weights.import_tflite(path, template, score_gain=score_gain,
                                   bn_epsilon=bn_epsilon)


# --- Files built here -----------------------------------------------------


def test_scores_match_the_stored_network(tmp_path, net_and_template):
  net, template = net_and_template
  rng = np.random.default_rng(0)
  path = tmp_path / 'siamfc.tflite'
  stored = _siamfc_file(path, rng)  # Gain 2e-3: folded into our 1e-3.
  variables = _import(path, template)

  z = rng.uniform(0, 255, (1, 127, 127, 3)).astype(np.float32)
  x = rng.uniform(0, 255, (1, 255, 255, 3)).astype(np.float32)
  fz, fx = _reference_embedding(z, stored), _reference_embedding(x, stored)
  xcorr = jax.lax.conv_general_dilated(
      fx, jnp.transpose(fz, (1, 2, 3, 0)), (1, 1), 'VALID',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))[0, ..., 0]
  expected = (stored['gain'] * (xcorr + stored['xcorr_bias'][0])
              + stored['bias'][0])
  ours = net.apply(variables, z, x[:, None], train=False)[0, 0]
  np.testing.assert_allclose(ours, expected, rtol=1e-4,
                             atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize('epsilon', [1e-6, 1e-5, 1e-3, 0.1])
def test_batch_norm_is_exactly_the_stored_multiply_add(tmp_path,
                                                       net_and_template,
                                                       epsilon):
  _, template = net_and_template
  path = tmp_path / 'siamfc.tflite'
  stored = _siamfc_file(path, np.random.default_rng(1))
  variables = _import(path, template, bn_epsilon=epsilon)
  for i in range(1, 5):
    stats = variables['batch_stats']['embedding'][f'bn{i}']
    bn = variables['params']['embedding'][f'bn{i}']
    np.testing.assert_array_equal(stats['mean'], 0)
    # How BatchNormReLU computes 1/std in eval mode, in float32.
    np.testing.assert_array_equal(jax.lax.rsqrt(stats['var'] + epsilon), 1)
    np.testing.assert_array_equal(
        bn['scale'], np.concatenate(stored['layers'][i]['mul'])
        .astype(np.float32))
    np.testing.assert_array_equal(
        bn['bias'], np.concatenate(stored['layers'][i]['add'])
        .astype(np.float32))


def test_load_for_tracking_reads_tflite(tmp_path, net_and_template):
  _, template = net_and_template
  path = tmp_path / 'whole_model_full_quant_scale1.tflite'
  _siamfc_file(path, np.random.default_rng(2))
  config = track_3s.get_config()
  config.checkpoint = str(path)
  expected = _import(path, template, score_gain=config.model.score_gain,
                     bn_epsilon=config.model.bn_epsilon)
  jax.tree.map(np.testing.assert_array_equal,
               weights.load_for_tracking(config), expected)
  loaded = tracker.Tracker.from_pretrained(checkpoint=path).variables
  jax.tree.map(np.testing.assert_array_equal, loaded, expected)


def test_another_network_is_refused(tmp_path, net_and_template):
  _, template = net_and_template
  path = tmp_path / 'mobilenet.tflite'
  stored, _ = _quantised(np.ones((32, 3, 3, 3)), per_channel=True)
  _write_tflite(path, [dict(name='MobilenetV1/Conv2d_0/weights',
                            shape=(32, 3, 3, 3), type=INT8, **stored)], [])
  with pytest.raises(weights.WeightsError,
                     match=r'mobilenet.tflite: not the SiamFC network: no'
                     r' tensor conv1/weights and 21 more'):
    _import(path, template)


@pytest.mark.parametrize('change, message', [
    (dict(scope='net/extra'),
     'not the SiamFC network: no tensor conv1/weights and 19 more'),
    (dict(strides={3: 2}), 'conv3/weights is used with padding 1, stride 2x2'),
])
def test_a_different_layout_is_refused(tmp_path, net_and_template, change,
                                       message):
  _, template = net_and_template
  path = tmp_path / 'other.tflite'
  _siamfc_file(path, np.random.default_rng(3), **change)
  with pytest.raises(weights.WeightsError,
                     match=f'other.tflite: {message}'):
    _import(path, template)


def test_wrong_shapes_are_refused(tmp_path, net_and_template):
  _, template = net_and_template
  path = tmp_path / 'siamfc.tflite'
  _siamfc_file(path, np.random.default_rng(4))
  # A network whose conv3 has half the outputs of the file's.
  narrow = jax.tree.map(np.asarray, template)
  narrow['params']['embedding']['conv3']['kernel'] = np.zeros((3, 3, 256, 192))
  with pytest.raises(weights.WeightsError,
                     match=r'siamfc.tflite: conv3/weights has shape'
                     r' \(384, 3, 3, 256\), the network needs'
                     r' \(192, 3, 3, 256\)'):
    _import(path, narrow)


def test_bad_files_are_refused(tmp_path, net_and_template):
  _, template = net_and_template
  with pytest.raises(weights.WeightsError,
                     match='missing.tflite: cannot read'):
    _import(tmp_path / 'missing.tflite', template)
  garbage = tmp_path / 'garbage.tflite'
  garbage.write_bytes(b'\x00garbage\xff' * 10)
  with pytest.raises(weights.WeightsError,
                     match='garbage.tflite: not a TFLite model'):
    _import(garbage, template)
  path = tmp_path / 'siamfc.tflite'
  _siamfc_file(path, np.random.default_rng(5))
  truncated = tmp_path / 'truncated.tflite'
  truncated.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
  with pytest.raises(weights.WeightsError,
                     match='truncated.tflite: corrupt TFLite model'):
    _import(truncated, template)


# --- The real file --------------------------------------------------------

# SOURCES.md there measured, for the dequantised int8 weights in a plain
# AlexNet forward, correlation 0.9995 and an RMS difference of 3.2% of the
# features' standard deviation; int8 rounding allows no better, and the
# bounds leave that little margin so that small mistakes fail.
MIN_CORRELATION = 0.999
MAX_RMS_RATIO = 0.04


@pytest.fixture(scope='module')
def reference():
  if not TFLITE.is_file():
    pytest.skip(f'{TFLITE} not found: these tests need the reference files'
                ' in ../shared/reference/siamfc_2016-08-17')
  return REFERENCE


@pytest.fixture(scope='module')
def imported(reference, net_and_template):
  del reference
  return _import(TFLITE, net_and_template[1])


@pytest.fixture(scope='module')
def image(reference):
  """360x480 RGB pixel values 0..255, as given to the MatConvNet network."""
  with PIL.Image.open(reference / 'matconvnet_input_01.jpg') as f:
    return np.asarray(f.convert('RGB'), np.float32)


def _feature_error(features, expected):
  """(correlation, RMS difference / standard deviation of ``expected``)."""
  features, expected = np.ravel(features), np.ravel(expected)
  correlation = np.corrcoef(features, expected)[0, 1]
  rms = np.sqrt(np.mean(np.square(features - expected)))
  return float(correlation), float(rms / np.std(expected))


def _agrees(correlation, rms_ratio):
  return correlation > MIN_CORRELATION and rms_ratio < MAX_RMS_RATIO


def _matconvnet_error(reference, net, variables, image):
  mat = scipy.io.loadmat(reference / 'matconvnet_features_01.mat',
                         squeeze_me=True, struct_as_record=False)
  expected = np.asarray(mat['r'].z_features, np.float32)
  features = net.apply(variables, image[None], method=net.embed)[0]
  assert features.shape == expected.shape == (35, 50, 256)
  return _feature_error(features, expected)


@pytest.mark.shared
def test_features_match_matconvnet(reference, net_and_template, imported,
                                   image):
  correlation, rms_ratio = _matconvnet_error(
      reference, net_and_template[0], imported, image)
  assert _agrees(correlation, rms_ratio), (correlation, rms_ratio)


def _bgr(variables, image):
  conv1 = variables['params']['embedding']['conv1']
  conv1['kernel'] = conv1['kernel'][:, :, ::-1]
  return variables, image


def _conv2_groups_swapped(variables, image):
  conv2 = variables['params']['embedding']['conv2']
  conv2['kernel'] = np.roll(conv2['kernel'], 128, axis=-1)
  return variables, image


def _shifted_one_pixel(variables, image):
  return variables, np.concatenate([image[:, :1], image[:, :-1]], axis=1)


# Measured (correlation, RMS ratio): (0.912, 0.42), (0.559, 0.99) and
# (0.9975, 0.071), against (0.9995, 0.032) for the right network.
@pytest.mark.shared
@pytest.mark.parametrize('mistake', [_bgr, _conv2_groups_swapped,
                                     _shifted_one_pixel])
def test_mistakes_fail_the_matconvnet_comparison(reference, net_and_template,
                                                 imported, image, mistake):
  variables, broken = mistake(jax.tree.map(np.array, imported), image)
  correlation, rms_ratio = _matconvnet_error(
      reference, net_and_template[0], variables, broken)
  assert not _agrees(correlation, rms_ratio), (correlation, rms_ratio)


def _run_graph(path, inputs):
  """The TFLite graph in float32 on its dequantised constants, without the
  quantisation of its activations."""
  data = path.read_bytes()
  model = tflite.Model.GetRootAsModel(data, 0)
  graph = model.Subgraphs(0)
  values = {}
  for t in range(graph.TensorsLength()):
    tensor = graph.Tensors(t)
    name = tensor.Name().decode()
    if name in inputs:
      values[t] = jnp.asarray(inputs[name], jnp.float32)
      continue
    raw = model.Buffers(tensor.Buffer()).DataAsNumpy()
    if not isinstance(raw, np.ndarray):
      continue
    dtype = {INT8: np.int8, INT32: np.int32}[tensor.Type()]
    q = np.frombuffer(raw.tobytes(), dtype).reshape(tensor.ShapeAsNumpy()
                                                    if tensor.ShapeLength()
                                                    else ())
    quant = tensor.Quantization()
    if quant is None or not quant.ScaleLength():  # Split axes.
      values[t] = q
      continue
    scale, zero = quant.ScaleAsNumpy(), quant.ZeroPointAsNumpy()
    if scale.size > 1:
      shape = [1] * q.ndim
      shape[quant.QuantizedDimension()] = -1
      scale, zero = scale.reshape(shape), zero.reshape(shape)
    values[t] = jnp.asarray((q - zero) * scale, jnp.float32)
  operators = {v: k for k, v in vars(tflite.BuiltinOperator).items()
               if not k.startswith('_')}

  def options(op, kind):
    table, result = op.BuiltinOptions(), kind()
    result.Init(table.Bytes, table.Pos)
    return result

  def activate(x, function):
    assert function in (0, 1)  # NONE or RELU.
    return jax.nn.relu(x) if function == 1 else x

  for o in range(graph.OperatorsLength()):
    op = graph.Operators(o)
    code = model.OperatorCodes(op.OpcodeIndex())
    kind = operators[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
    ins = [values.get(i) for i in op.InputsAsNumpy()]
    outs = list(op.OutputsAsNumpy())
    if kind == 'QUANTIZE':
      result = [ins[0]]
    elif kind == 'RESHAPE':
      result = [ins[0].reshape(graph.Tensors(outs[0]).ShapeAsNumpy())]
    elif kind == 'CONV_2D':
      opt = options(op, tflite.Conv2DOptions)
      y = jax.lax.conv_general_dilated(
          ins[0], ins[1], (opt.StrideH(), opt.StrideW()),
          'VALID' if opt.Padding() == tflite.Padding.VALID else 'SAME',
          dimension_numbers=('NHWC', 'OHWI', 'NHWC'))
      result = [activate(y + ins[2], opt.FusedActivationFunction())]
    elif kind in ('MUL', 'ADD'):
      opt = options(op, tflite.MulOptions if kind == 'MUL'
                    else tflite.AddOptions)
      y = ins[0] * ins[1] if kind == 'MUL' else ins[0] + ins[1]
      result = [activate(y, opt.FusedActivationFunction())]
    elif kind == 'MAX_POOL_2D':
      opt = options(op, tflite.Pool2DOptions)
      assert opt.Padding() == tflite.Padding.VALID
      result = [activate(jax.lax.reduce_window(
          ins[0], -jnp.inf, jax.lax.max,
          (1, opt.FilterHeight(), opt.FilterWidth(), 1),
          (1, opt.StrideH(), opt.StrideW(), 1), 'VALID'),
                         opt.FusedActivationFunction())]
    elif kind == 'SPLIT':
      opt = options(op, tflite.SplitOptions)
      result = jnp.split(ins[1], opt.NumSplits(), axis=int(ins[0]))
    elif kind == 'CONCATENATION':
      opt = options(op, tflite.ConcatenationOptions)
      result = [activate(jnp.concatenate(ins, axis=opt.Axis()),
                         opt.FusedActivationFunction())]
    else:
      raise NotImplementedError(kind)
    values.update(zip(outs, result))
  return values[int(graph.OutputsAsNumpy()[0])]


@pytest.mark.shared
@pytest.mark.parametrize('score_gain', [1e-3, 1e-2])
def test_scores_match_the_file_graph(reference, image, score_gain):
  del reference
  config = base.model_config()
  config.score_gain = score_gain
  net = model_lib.create_model(config)
  variables = _import(TFLITE, model_lib.init_variables(net, jax.random.key(0)),
                      score_gain=score_gain)
  z, x = image[100:227, 150:277], image[50:305, 100:355]
  expected = _run_graph(TFLITE, {'template_image': z,
                                 'input_image': x[None]})[0, ..., 0]
  ours = net.apply(variables, z[None], x[None, None], train=False)[0, 0]
  np.testing.assert_allclose(ours, expected, rtol=1e-4,
                             atol=1e-4 * np.abs(expected).max())
  # The file's head: 0.001 * xcorr + a learned bias.
  np.testing.assert_allclose(variables['params']['score_bias'], -2.148,
                             atol=1e-3)


@pytest.mark.shared
def test_a_renamed_tensor_is_named(reference, tmp_path, net_and_template):
  del reference
  data = TFLITE.read_bytes()
  assert data.count(b'/conv2/b1/weights') == 1
  renamed = tmp_path / 'renamed.tflite'
  renamed.write_bytes(data.replace(b'/conv2/b1/weights', b'/conv2/b9/weights'))
  with pytest.raises(weights.WeightsError,
                     match='renamed.tflite: not the SiamFC network: no tensor'
                     ' conv2/b1/weights'):
    _import(renamed, net_and_template[1])
  truncated = tmp_path / 'truncated.tflite'
  truncated.write_bytes(data[:len(data) // 3])
  with pytest.raises(weights.WeightsError,
                     match='truncated.tflite: corrupt TFLite model'):
    _import(truncated, net_and_template[1])

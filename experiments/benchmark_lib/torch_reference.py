"""The network, tracking step and train step in PyTorch, our weights copied.

The same AlexNet of grouped convolutions with the same BatchNorm, the same
bilinear context crops padded with the frame's mean colour
(``grid_sample``), cross-correlation by ``conv2d``, bicubic upsampling of
the scores 17 -> 272, the scale penalty, the Hann window and the damped
scale update; the same SGD step on the balanced logistic loss.
experiments/benchmark_speed.py times it against ours. Each part that
repeats one of ours in torch (``TorchMove`` for tracker.move, the crops,
the box conversions) is tested equal to ours in
tests/test_benchmark_speed.py, so that a change to one without the other
fails.
"""

import collections
import functools
from typing import Callable

import jax
import ml_collections
import numpy as np
import torch
import torch.nn.functional as F

from siamfc_jax import losses
from siamfc_jax import model as model_lib
from siamfc_jax import tracker

# Tracker settings the reference has only one value of: ours by default.
_ONLY = dict(pad_color='frame_mean', crop_window='subpixel',
             crop_resample='bilinear', update_precision='float32')


class TorchSiamFC(torch.nn.Module):
  """siamfc_jax.model.SiamFC in torch (NCHW), weights copied from ours."""

  def __init__(self, model: ml_collections.ConfigDict):
    super().__init__()
    norm = functools.partial(torch.nn.BatchNorm2d, eps=model.bn_epsilon,
                             momentum=1 - model.bn_momentum)
    conv, relu = torch.nn.Conv2d, torch.nn.ReLU
    pool = functools.partial(torch.nn.MaxPool2d, 3, 2)
    self.embedding = torch.nn.Sequential(collections.OrderedDict(
        conv1=conv(3, 96, 11, stride=2), bn1=norm(96), relu1=relu(),
        pool1=pool(),
        conv2=conv(96, 256, 5, groups=2), bn2=norm(256), relu2=relu(),
        pool2=pool(),
        conv3=conv(256, 384, 3), bn3=norm(384), relu3=relu(),
        conv4=conv(384, 384, 3, groups=2), bn4=norm(384), relu4=relu(),
        conv5=conv(384, 256, 3, groups=2)))
    self.score_gain = model.score_gain
    self.score_bias = torch.nn.Parameter(torch.zeros(()))

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    return self.embedding(images)

  @torch.no_grad()
  def load_variables(self, variables) -> 'TorchSiamFC':
    """Copies ``{'params', 'batch_stats'}`` of siamfc_jax.model.SiamFC."""
    params = jax.device_get(variables['params'])
    stats = jax.device_get(variables['batch_stats'])['embedding']

    def put(tensor, array, axes=None):
      array = np.asarray(array, np.float32)
      tensor.copy_(torch.from_numpy(np.array(
          array.transpose(axes) if axes else array, order='C')))

    for name, layer in self.embedding.named_children():
      layer_params = params['embedding'].get(name)
      if name.startswith('conv'):
        put(layer.weight, layer_params['kernel'], (3, 2, 0, 1))  # HWIO->OIHW
        put(layer.bias, layer_params['bias'])
      elif name.startswith('bn'):
        put(layer.weight, layer_params['scale'])
        put(layer.bias, layer_params['bias'])
        put(layer.running_mean, stats[name]['mean'])
        put(layer.running_var, stats[name]['var'])
    put(self.score_bias, params['score_bias'])
    return self


class TorchRunner:
  """Runs TorchSiamFC as one PyTorch configuration (dtype, layout, compile).

  In bfloat16 a network in eval mode (tracking) is converted to bfloat16,
  one in train mode runs under autocast (float32 weights).

  Args:
    net: the network, on ``device``, in train or eval mode.
    entry: an entry of the speed benchmark's ``config.torch``.
    device: where tensors live.
  """

  def __init__(self, net: TorchSiamFC, entry: ml_collections.ConfigDict,
               device: torch.device):
    if entry.dtype not in ('float32', 'bfloat16'):
      raise ValueError(f'unknown dtype {entry.dtype}')
    bfloat16 = entry.dtype == 'bfloat16'
    self.autocast = bfloat16 and net.training
    self.input_dtype = (torch.bfloat16 if bfloat16 and not net.training
                        else torch.float32)
    self.memory_format = (torch.channels_last if entry.channels_last
                          else torch.contiguous_format)
    self.net = net.to(dtype=self.input_dtype,
                      memory_format=self.memory_format)
    self.device = device
    self.embedding = torch.compile(net) if entry.compile else net
    self.compile = entry.compile

  def embed(self, images: torch.Tensor) -> torch.Tensor:
    """(N, 3, h, w) float pixels -> float32 features."""
    images = images.to(self.input_dtype).contiguous(
        memory_format=self.memory_format)
    with torch.autocast(self.device.type, dtype=torch.bfloat16,
                        enabled=self.autocast):
      return self.embedding(images).float()

  def maybe_compile(self, fn: Callable) -> Callable:
    return torch.compile(fn) if self.compile else fn

  def sync(self) -> None:
    if self.device.type == 'cuda':
      torch.cuda.synchronize()


def xywh_to_center_size(box: torch.Tensor):
  """siamfc_jax.boxes.xywh_to_center_size of one (4,) box."""
  x, y, w, h = box
  return (torch.stack([y - 1 + (h - 1) / 2, x - 1 + (w - 1) / 2]),
          torch.stack([h, w]))


def center_size_to_xywh(center: torch.Tensor,
                        size: torch.Tensor) -> torch.Tensor:
  """siamfc_jax.boxes.center_size_to_xywh of one centre and size."""
  return torch.stack([center[1] + 1 - (size[1] - 1) / 2,
                      center[0] + 1 - (size[0] - 1) / 2, size[1], size[0]])


def context_side(size: torch.Tensor, context: float) -> torch.Tensor:
  """siamfc_jax.crops.exemplar_size_in_frame of one (h, w) size."""
  return torch.sqrt(torch.prod(size + context * size.sum()))


def crops(frame: torch.Tensor, center: torch.Tensor, sides: torch.Tensor,
          out_size: int) -> torch.Tensor:
  """Bilinear square crops of a (3, H, W) frame padded with its mean colour.

  Returns (S, 3, out_size, out_size) for S ``sides``; sampling positions
  are those of siamfc_jax.crops.crop_pyramid (subpixel, bilinear).
  """
  height, width = frame.shape[1:]
  pad = frame.mean(dim=(1, 2))[:, None, None]
  # align_corners=True: -1 and +1 are the centres of the first and last
  # pixels, and output pixel i samples -1 + 2 i / (out_size - 1) under the
  # identity; zero padding of (frame - pad) gives the pad colour outside.
  extent = sides * ((out_size - 1) / out_size)
  theta = torch.zeros(sides.shape[0], 2, 3, device=frame.device)
  theta[:, 0, 0] = extent / (width - 1)
  theta[:, 1, 1] = extent / (height - 1)
  theta[:, 0, 2] = center[1] * (2 / (width - 1)) - 1
  theta[:, 1, 2] = center[0] * (2 / (height - 1)) - 1
  grid = F.affine_grid(theta, [sides.shape[0], 3, out_size, out_size],
                       align_corners=True)
  shifted = (frame - pad)[None].expand(sides.shape[0], -1, -1, -1)
  return F.grid_sample(shifted, grid, mode='bilinear', padding_mode='zeros',
                       align_corners=True) + pad


def upsampling_matrix(in_size: int, out_size: int,
                      method: str = 'cubic') -> np.ndarray:
  """(out_size, in_size) weights of tracker.upsample_scores' ``method``.

  Cubic kernels at half-pixel centres: 'cubic' is Keys' a = -0.5, the
  weights of each output renormalised where taps fall outside the input
  (``jax.image.resize(..., 'cubic')``); 'cubic_cv2' is a = -0.75 with the
  border replicated (``'cubic-pytorch'``, torch's own bicubic).
  """
  a, replicate = {'cubic': (-0.5, False), 'cubic_cv2': (-0.75, True)}[method]
  samples = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
  taps = np.arange(-2, in_size + 2) if replicate else np.arange(in_size)
  x = np.abs(samples[:, None] - taps[None])
  weights = np.where(
      x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
      np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0))
  if replicate:  # A tap beyond the border reads the edge value.
    folded = np.zeros((in_size, out_size))
    np.add.at(folded, np.clip(taps, 0, in_size - 1), weights.T)
    weights = folded.T
  return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


class TorchMove:
  """siamfc_jax.tracker.move in torch: the target update from the scores.

  Args:
    settings: the tracker settings (``check_settings``).
    interpolate: upsample with ``F.interpolate(mode='bicubic')`` (torch's
      own kernel, a = -0.75 and the border replicated: ours only with
      ``upsample_method='cubic_cv2'``) rather than by two products with
      ``upsampling_matrix`` (ours exactly, for either method).
    device: where tensors live.
  """

  def __init__(self, settings: tracker.Settings, interpolate: bool,
               device: torch.device):
    self.settings = settings
    self.interpolate = interpolate
    self.upsampling = torch.from_numpy(upsampling_matrix(
        settings.response_size, settings.upsampled_size,
        settings.upsample_method)).to(device)
    self.factors = torch.from_numpy(settings.scale_factors).to(device)
    middle = torch.arange(settings.num_scales) == settings.num_scales // 2
    self.penalties = torch.where(middle, 1.0, settings.scale_penalty).to(
        device)
    self.window = torch.from_numpy(
        tracker.hann_window(settings.upsampled_size)).to(device)

  def __call__(self, center: torch.Tensor, size: torch.Tensor,
               initial_size: torch.Tensor, side: torch.Tensor,
               scores: torch.Tensor, frame_shape):
    """Moves the target to the peak of the (S, 17, 17) ``scores``.

    Args:
      center, size, initial_size: the target's (cy, cx), (h, w), (h, w).
      side: the middle scale's search side in frame pixels.
      scores: the scale pyramid's scores.
      frame_shape: (H, W).

    Returns:
      (new centre, new size, (1,) index of the chosen scale).
    """
    s = self.settings
    up = s.upsampled_size
    if self.interpolate:
      upsampled = F.interpolate(scores[None], size=(up, up), mode='bicubic',
                                align_corners=False)[0]
    else:
      upsampled = self.upsampling @ scores @ self.upsampling.T
    upsampled = upsampled * self.penalties[:, None, None]
    # index_select rather than [best]: no host sync, no torch.compile break.
    best = torch.argmax(upsampled.amax(dim=(1, 2)))[None]
    factor = self.factors.index_select(0, best)[0]
    response = upsampled.index_select(0, best)[0]
    response = response - response.min()
    response = response / response.sum().clamp_min(1e-16)
    response = ((1 - s.window_influence) * response
                + s.window_influence * self.window)
    flat = torch.argmax(response)
    peak = torch.stack([flat // up, flat % up]).float()
    offset = ((peak - (up - 1) / 2) * (s.total_stride / s.response_upsample)
              * side * factor / s.instance_size)
    center = center + offset
    if s.clip_center:
      limits = torch.tensor(tuple(frame_shape), dtype=torch.float32,
                            device=center.device) - 1
      center = torch.minimum(torch.clamp(center, min=0), limits)
    size = size * (1 - s.scale_lr + s.scale_lr * factor)
    if s.clamp_size:
      size = torch.minimum(torch.maximum(size, s.min_scale * initial_size),
                           s.max_scale * initial_size)
    return center, size, best


def check_settings(settings: tracker.Settings) -> None:
  """Raises ValueError for tracker options the reference does not have."""
  for name, value in _ONLY.items():
    if getattr(settings, name) != value:
      raise ValueError(f'the torch reference tracks with {name}={value!r}'
                       f' only, not {getattr(settings, name)!r}')


class TorchTracker:
  """The tracking step of siamfc_jax.tracker in torch, frame by frame.

  The scores are upsampled as ``entry.upsampling`` says: 'matrix', two
  products with ``upsampling_matrix`` (our upsampling exactly, so the
  boxes match ours), or 'interpolate', ``F.interpolate(mode='bicubic')``
  (a = -0.75 and replicated borders: with our default 'cubic' the peaks,
  hence the boxes, drift from ours by pixels).
  """

  def __init__(self, runner: TorchRunner, entry: ml_collections.ConfigDict,
               settings: tracker.Settings):
    check_settings(settings)
    if entry.upsampling not in ('matrix', 'interpolate'):
      raise ValueError(f'unknown upsampling {entry.upsampling}')
    self.runner = runner
    self.settings = settings
    device = runner.device
    self.move = TorchMove(settings, entry.upsampling == 'interpolate',
                          device)
    self.factors = self.move.factors
    self._init = runner.maybe_compile(self._init_state)
    self._step = runner.maybe_compile(self._step_state)
    self._state = None

  def _frame(self, image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).to(self.runner.device).permute(2, 0, 1)

  def _init_state(self, frame, box):
    s = self.settings
    frame = frame.float()
    center, size = xywh_to_center_size(box)
    side = context_side(size, s.context)[None]
    exemplar = self.runner.embed(crops(frame, center, side, s.exemplar_size))
    # A copy: aliased inputs would make torch.compile compile the step twice.
    return center, size, size.clone(), exemplar

  def _step_state(self, state, frame):
    s = self.settings
    center, size, initial_size, exemplar = state
    frame = frame.float()
    side = (context_side(size, s.context) * s.instance_size
            / s.exemplar_size)
    search = self.runner.embed(
        crops(frame, center, side * self.factors, s.instance_size))
    scores = self.runner.net.score_gain * F.conv2d(search, exemplar)[:, 0]
    if s.use_score_bias:
      scores = scores + self.runner.net.score_bias
    center, size, best = self.move(center, size, initial_size, side, scores,
                                   frame.shape[1:])
    return ((center, size, initial_size, exemplar),
            center_size_to_xywh(center, size),
            scores.index_select(0, best).max())

  @torch.inference_mode()
  def init(self, image: np.ndarray, box) -> None:
    box = torch.as_tensor(np.asarray(box, np.float32),
                          device=self.runner.device)
    self._state = self._init(self._frame(image), box)
    self.runner.sync()

  @torch.inference_mode()
  def update(self, image: np.ndarray) -> np.ndarray:
    """Tracks one more frame and returns its 1-based (x, y, w, h) box."""
    self._state, box, _ = self._step(self._state, self._frame(image))
    return box.cpu().numpy().astype(np.float64)


def torch_train_step(runner: TorchRunner, train: ml_collections.ConfigDict):
  """The SGD step of siamfc_jax.train_lib.train_step, for TorchSiamFC.

  Returns:
    step(exemplar, search) taking (B, h, w, 3) uint8 tensors and returning
    the loss (a tensor).
  """
  net = runner.net.train()
  decay_all = train.weight_decay_on == 'all'
  decayed = [p for n, p in net.named_parameters()
             if decay_all or (n.startswith('embedding.conv')
                              and n.endswith('weight'))]
  others = [p for p in net.parameters()
            if all(p is not q for q in decayed)]
  optimizer = torch.optim.SGD(
      [dict(params=decayed, weight_decay=train.weight_decay),
       dict(params=others, weight_decay=0.0)],
      lr=train.lr_start, momentum=train.momentum)
  response_size = model_lib.response_size(train.exemplar_size,
                                          train.instance_size)
  labels, weights = (torch.from_numpy(a).to(runner.device)
                     for a in losses.label_map(
                         response_size, train.total_stride,
                         train.positive_radius, train.negative_radius))

  def step(exemplar: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    z = runner.embed(exemplar.permute(0, 3, 1, 2).float())
    x = runner.embed(search.permute(0, 3, 1, 2).float())
    batch = z.shape[0]
    response = F.conv2d(x.reshape(1, -1, *x.shape[2:]), z, groups=batch)[0]
    scores = net.score_gain * response + net.score_bias
    loss = (weights * F.softplus(-labels * scores)).sum(dim=(1, 2)).mean()
    loss.backward()
    # The global gradient norm, which our step reports too.
    torch.linalg.vector_norm(torch.stack(
        [torch.linalg.vector_norm(p.grad) for p in net.parameters()]))
    optimizer.step()
    return loss.detach()

  return step

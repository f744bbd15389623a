"""Each convolution of the network, ours against PyTorch's, and our
convolution algorithms against the direct one, on one machine.

Command (needs torch, see requirements-test.txt; a few minutes on 2 CPU
cores):
  python -m experiments.benchmark_convolutions

Times, layer by layer, the forward pass, the weight (and bias) gradient and
the input gradient of our convolutions (model.GroupedConv, XLA with the
flags of siamfc_jax/xla.py) and of torch's (channels_last, oneDNN on the
CPU), on the exemplar and search batches of a train step and on the search
pyramid of a 3-scale tracking step, in turns over several rounds. Prints
median milliseconds, totals and PyTorch's time over ours (> 1: ours
faster), and writes a JSON record. This is where the gap of the train step
in experiments.benchmark_speed comes from, and what to rerun when a new
jaxlib comes out.

Each algorithm of ``conv_algorithms`` (config.model.conv_algorithm
values, siamfc_jax/conv_algorithms.py) is timed too, in the same turns, on
the layers it computes other than directly ('space_to_depth': conv1,
'winograd': conv3-5), and printed as the direct convolution's time over
its own, per layer and pass, median of the per-round ratios (lowest-
highest; > 1: the algorithm faster). Expected on an AMD EPYC (2 cores,
AVX2 only; shared with other jobs), as run on 2026-12-02 with
--config.rounds=3 (4 minutes), medians over the three batches:
space_to_depth conv1 forward 0.91-1.17x, weight gradient 0.95-2.28x;
winograd forward conv3 0.87-1.21x, conv4 0.74-1.16x, conv5 0.68-0.76x,
its gradients (the direct ones) 0.85-1.22x: the machine's noise.

Expected on a 2-core x86-64 CPU with AMX (jax 0.10.2, torch 2.13), as run
on 2026-11-30, torch over ours (> 1: ours faster): 3-scale pyramid forward
0.77x (62 against 48 ms over the five layers); train step's search batch
forward 0.74x, weight gradients 0.73x, input gradients 0.67x (174, 217 and
154 ms against 129, 159 and 103); conv1's weight gradient on the search
batch 62 against 31 ms. Ours and torch's results agree to float32 rounding
(tested).
"""

import ml_collections

from siamfc_jax.configs import base


def get_config() -> ml_collections.ConfigDict:
  tracker = base.tracker_config()
  config = ml_collections.ConfigDict()
  config.exemplar_size = tracker.exemplar_size
  config.search_size = tracker.instance_size
  # Batches: name -> (images, side); 'exemplar' and 'search' feed a train
  # step at batch 8, 'pyramid' is one 3-scale tracking step.
  config.batches = ml_collections.ConfigDict(dict(
      exemplar=(8, config.exemplar_size),
      search=(8, config.search_size),
      pyramid=(3, config.search_size),
  ))
  # Timed beside the direct convolution on the layers they rewrite.
  config.conv_algorithms = ('space_to_depth', 'winograd')
  config.rounds = 5  # Every measurement is timed once per round, in turns.
  config.repeats = 2  # Calls timed per measurement and round.
  config.seed = 0
  config.output = 'runs/benchmark_convolutions.json'
  return config

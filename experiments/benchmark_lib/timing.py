"""Timing calls, in turns, and the statistics of the samples.

Entries compared with each other are timed in turns, one chunk of each per
round, so that all of them see the machine in nearly the same state; a
ratio of two entries is taken round by round, where the machine's state is
shared, and summarised by its median and range.
"""

import time
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy as np
import tqdm

T = TypeVar('T')

# A timer runs one chunk of a measurement and returns its samples, seconds.
Timer = Callable[[], list[float]]


def seconds(fn: Callable[[], Any]) -> float:
  """Wall time of one call of ``fn``."""
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def repeat(fn: Callable[[], Any], count: int) -> list[float]:
  """Wall times of ``count`` calls of ``fn``."""
  return [seconds(fn) for _ in range(count)]


def median_ms(samples: Sequence[float]) -> float:
  """The median of samples in seconds, in milliseconds to 3 decimals."""
  return round(1e3 * float(np.median(samples)), 3)


def in_turns(items: Sequence[T], rounds: int,
             desc: str = 'timing') -> Iterator[tuple[int, T]]:
  """(round index, item): every item once per round, with a progress bar.

  Every other round runs in reverse order, so that no item always runs
  first or right after the same neighbour.
  """
  with tqdm.tqdm(total=rounds * len(items), desc=desc,
                 unit='chunk') as progress:
    for round_index in range(rounds):
      for item in items[::-1] if round_index % 2 else items:
        yield round_index, item
        progress.update()


def paired_ratios(numerators: Sequence[float],
                  denominators: Sequence[float]) -> dict[str, float]:
  """{'median', 'low', 'high'} of the per-round ratios, to 3 decimals."""
  per_round = np.divide(numerators, denominators)
  return {'median': round(float(np.median(per_round)), 3),
          'low': round(float(per_round.min()), 3),
          'high': round(float(per_round.max()), 3)}

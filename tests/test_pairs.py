"""Tests of the grain pair loader and its augmentations."""

from absl import flags
import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from data_prep import augment
from data_prep import builders
from data_prep import dataset
from data_prep import pairs
from siamfc_jax import crops
from siamfc_jax.configs import data

# Frames of video 'red' are reddish, of 'blue' bluish, so a crop tells its
# video.
TINTS = {'blue': (-80, -40, 90), 'red': (90, -40, -80)}
FRAMES = 5


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  """A built dataset of two five-frame sequences."""
  root = tmp_path_factory.mktemp('sequences')
  y, x = np.mgrid[:80, :100].astype(np.float32)
  for name, tint in TINTS.items():
    (root / name / 'img').mkdir(parents=True)
    for i in range(FRAMES):
      image = np.stack([128 + 50 * np.sin(x / (4 + c) + y / 7 + i) + tint[c]
                        for c in range(3)], -1)
      iio.imwrite(root / name / 'img' / f'{i + 1:08d}.jpg',
                  np.clip(image, 0, 255).astype(np.uint8), quality=95)
    (root / name / 'groundtruth.txt').write_text(
        ''.join(f'{30 + 2 * i},20,30,35\n' for i in range(FRAMES)))
  out = tmp_path_factory.mktemp('tfds')
  builders.build('sequences', root=root, out=out,
                 config=data.data_config().curation)
  return out


def take(iterator, count):
  batches = [next(iterator) for _ in range(count)]
  iterator.close()
  return batches


def assert_same(a, b):
  for x, y in zip(a, b, strict=True):
    assert x.keys() == y.keys()
    for key in x:
      np.testing.assert_array_equal(x[key], y[key])


def test_batches_shapes_and_determinism(data_dir):
  config = data.data_config()
  make = lambda **kw: pairs.make_pair_iterator(  # noqa: E731
      config, data_dir=data_dir, batch_size=3, **kw)
  batches = take(make(seed=7), 4)
  assert batches[0]['exemplar'].shape == (3, 127, 127, 3)
  assert batches[0]['search'].shape == (3, 255, 255, 3)
  assert batches[0]['exemplar'].dtype == np.uint8
  assert_same(batches, take(make(seed=7), 4))
  # A run resumed at step 2 sees the batches it would have seen.
  assert_same(batches[2:], take(make(seed=7, start_step=2), 2))
  other_seed = take(make(seed=8), 1)[0]
  assert not np.array_equal(other_seed['search'], batches[0]['search'])
  other_shard = take(make(seed=7, shard_index=1, shard_count=2), 1)[0]
  assert not np.array_equal(other_shard['search'], batches[0]['search'])


@pytest.mark.slow
def test_workers_give_the_same_batches(data_dir):
  # grain reads an absl flag in mp_prefetch, which fails while flags are
  # unparsed as under pytest (google/grain#1355).
  flags.FLAGS.mark_as_parsed()
  config = data.data_config()
  make = lambda workers: pairs.make_pair_iterator(  # noqa: E731
      config, data_dir=data_dir, seed=3, batch_size=2, start_step=5,
      worker_count=workers)
  assert_same(take(make(0), 3), take(make(2), 3))


def test_without_augmentation_views_are_the_stored_crop(data_dir):
  config = data.data_config()
  config.pairs.update(stretch=0.0, search_translation=0.0, max_frame_gap=0)
  batch = take(pairs.make_pair_iterator(
      config, data_dir=data_dir, seed=0, batch_size=4), 1)[0]
  stored = {r['image'].tobytes()
            for r in dataset.data_source(dataset.find(data_dir)[0])}
  for exemplar, search in zip(batch['exemplar'], batch['search']):
    assert search.tobytes() in stored
    np.testing.assert_array_equal(exemplar, search[64:191, 64:191])


def test_video_names_restrict_the_tracks(data_dir):
  config = data.data_config()
  for name, tint in TINTS.items():
    batch = take(pairs.make_pair_iterator(
        config, data_dir=data_dir, seed=1, batch_size=4, video_names=[name]),
                 1)[0]
    colour = batch['exemplar'].astype(float).mean(axis=(0, 1, 2))
    assert np.argmax(colour) == np.argmax(tint)
  with pytest.raises(dataset.DatasetError, match='unknown videos'):
    pairs.make_pair_iterator(config, data_dir=data_dir, seed=1, batch_size=4,
                             video_names=['green'])


def test_grayscale(data_dir):
  config = data.data_config()
  config.pairs.grayscale_rate = 1.0
  batch = take(pairs.make_pair_iterator(
      config, data_dir=data_dir, seed=0, batch_size=2), 1)[0]
  for images in batch.values():
    assert np.all(images[..., 0] == images[..., 1])
    assert np.all(images[..., 1] == images[..., 2])


def test_frames_are_at_most_the_gap_apart():
  rng = np.random.default_rng(0)
  frames = np.array([0, 1, 2, 5, 50, 51])
  for _ in range(200):
    exemplar, search = pairs.choose_frames(rng, frames, max_frame_gap=3)
    assert exemplar != search
    assert abs(frames[exemplar] - frames[search]) <= 3
  # With no other frame near enough, both images come from one frame.
  exemplar, search = pairs.choose_frames(rng, np.array([0, 9]),
                                         max_frame_gap=3)
  assert exemplar == search


@pytest.mark.parametrize('scale,shift,out_size', [
    ((1.0, 1.0), (0.0, 0.0), 127),
    ((1.04, 0.97), (2.5, -3.0), 255),
    ((0.95, 1.05), (-4.0, 4.0), 127),
])
def test_cut_follows_the_crops_convention(scale, shift, out_size):
  """Checked per axis on images that vary along that axis only."""
  pattern = 128 + 60 * np.sin(np.arange(255) / 6)
  inner = slice(12, -12)  # Borders differ in how padding is blended.
  for axis in (0, 1):
    shape = (255, 1) if axis == 0 else (1, 255)
    image = np.broadcast_to(pattern.reshape(shape + (1,)), (255, 255, 3))
    image = np.ascontiguousarray(image).astype(np.uint8)
    view = augment.cut(Image.fromarray(image),
                       augment.View(scale=scale, shift=shift), out_size)
    expected = crops.crop(image, (127 + shift[0], 127 + shift[1]),
                          scale[axis] * out_size, out_size,
                          crops.mean_color(image))
    error = np.abs(np.asarray(view, np.float32) - np.asarray(expected))
    assert error[inner, inner].max() <= 1.01

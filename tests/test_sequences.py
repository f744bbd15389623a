"""Tests of sequence, frame and box-file reading."""

import os
import re
import warnings

import imageio.v3 as iio
import jax
import numpy as np
import pytest
from PIL import Image

from siamfc_jax import boxes
from siamfc_jax import sequences
from siamfc_jax.sequences import SequenceError

HEIGHT, WIDTH = 24, 32


def write_frames(folder, count, *, shape=(HEIGHT, WIDTH, 3), suffix='.jpg',
                 seed=0):
  folder.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  paths = []
  for index in range(1, count + 1):
    path = folder / f'{index:08d}{suffix}'
    iio.imwrite(path, rng.integers(0, 256, shape, np.uint8))
    paths.append(path)
  return paths


def make_sequence(root, count=3, groundtruth=None, name='groundtruth.txt'):
  """A folder with ``img/0000000k.jpg`` frames and an optional box file."""
  root.mkdir(parents=True, exist_ok=True)
  write_frames(root / 'img', count)
  if groundtruth is not None:
    (root / name).write_text(groundtruth)
  return root


def test_load_folder_comma_groundtruth(tmp_path):
  folder = make_sequence(tmp_path / 'Walk', groundtruth=(
      '1,2,10,12\n3.5,4.5,11,13\n5,6,12,14\n'))
  sequence = sequences.load_folder(folder)
  assert sequence.name == 'Walk'
  assert sequence.num_frames == 3
  np.testing.assert_array_equal(sequence.groundtruth, [
      [1, 2, 10, 12], [3.5, 4.5, 11, 13], [5, 6, 12, 14]])
  frames = list(sequence)
  assert len(frames) == 3
  for frame in frames:
    assert frame.shape == (HEIGHT, WIDTH, 3)
    assert frame.dtype == np.uint8
  # The frames can be read again.
  assert len(list(sequence)) == 3


def test_frames_are_read_in_order(tmp_path):
  folder = tmp_path / 'seq'
  (folder / 'img').mkdir(parents=True)
  # Lossless PNG frames of constant value k, written out of order.
  for index in (3, 1, 2):
    iio.imwrite(folder / 'img' / f'{index:08d}.png',
                np.full((4, 5, 3), index, np.uint8))
  values = [int(frame[0, 0, 0]) for frame in sequences.load_folder(folder)]
  assert values == [1, 2, 3]


@pytest.mark.parametrize('separator', [',', '\t', ' ', ', ', '  \t'])
def test_read_boxes_separators(tmp_path, separator):
  path = tmp_path / 'groundtruth.txt'
  rows = [[1, 2, 3, 4], [5.5, 6.25, 7, 8]]
  path.write_text(''.join(separator.join(str(v) for v in row) + '\n'
                          for row in rows))
  np.testing.assert_array_equal(sequences.read_boxes(path), rows)


def test_read_boxes_nan_blank_and_polygon_lines(tmp_path):
  path = tmp_path / 'groundtruth.txt'
  path.write_text('1,2,3,4\n'
                  'nan,nan,nan,nan\n'
                  '\n'
                  # VOT polygon, 0-based corners: x in 9.5..29.5, y in 4..19.
                  '10.5,4,29.5,6,28,19,9.5,17\n'
                  'NaN\tNaN\tNaN\tNaN\n')
  got = sequences.read_boxes(path)
  assert got.shape == (4, 4)
  np.testing.assert_array_equal(got[0], [1, 2, 3, 4])
  assert np.all(np.isnan(got[1]))
  np.testing.assert_allclose(got[2], [10.5, 5.0, 20.0, 15.0])
  assert np.all(np.isnan(got[3]))


def test_load_folder_otb_groundtruth_rect(tmp_path):
  folder = make_sequence(tmp_path / 'Coke', count=2,
                         name='groundtruth_rect.txt',
                         groundtruth='1\t2\t3\t4\n5\t6\t7\t8\n')
  sequence = sequences.load_folder(folder)
  np.testing.assert_array_equal(sequence.groundtruth, [[1, 2, 3, 4],
                                                       [5, 6, 7, 8]])


def test_load_folder_frames_directly_in_folder(tmp_path):
  folder = tmp_path / 'flat'
  write_frames(folder, 4, suffix='.png')
  (folder / 'groundtruth.txt').write_text('1,1,5,5\n' * 4)
  (folder / 'notes.md').write_text('not a frame')
  sequence = sequences.load_folder(folder)
  assert sequence.num_frames == 4
  assert sequence.groundtruth.shape == (4, 4)
  assert [f.shape for f in sequence] == [(HEIGHT, WIDTH, 3)] * 4


def test_load_folder_without_groundtruth(tmp_path):
  sequence = sequences.load_folder(make_sequence(tmp_path / 'bare', count=2))
  assert sequence.groundtruth is None
  assert sequence.num_frames == 2


def test_missing_folder_raises(tmp_path):
  with pytest.raises(SequenceError, match='no such sequence folder'):
    sequences.load_folder(tmp_path / 'absent')


def test_empty_folder_raises(tmp_path):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(SequenceError, match='no frames') as info:
    sequences.load_folder(tmp_path / 'empty')
  assert 'empty' in str(info.value)


def test_empty_img_folder_raises(tmp_path):
  (tmp_path / 'seq' / 'img').mkdir(parents=True)
  (tmp_path / 'seq' / 'groundtruth.txt').write_text('1,1,2,2\n')
  with pytest.raises(SequenceError, match=r'img: no frames'):
    sequences.load_folder(tmp_path / 'seq')


def test_corrupt_jpg_raises_naming_the_file(tmp_path):
  folder = make_sequence(tmp_path / 'seq', count=3)
  (folder / 'img' / '00000002.jpg').write_bytes(b'\x00garbage' * 50)
  sequence = sequences.load_folder(folder)
  frames = iter(sequence)
  assert next(frames).shape == (HEIGHT, WIDTH, 3)
  with pytest.raises(SequenceError, match='00000002.jpg: cannot read image'):
    next(frames)


@pytest.mark.parametrize('text,line,reason', [
    ('1,2,3,4\n1,2,x,4\n1,2,3,4\n', 2, 'expected numbers'),
    ('1,2,3,4\n1,2,3,4\n1,2,3,4,5\n', 3, 'expected 4 numbers'),
    ('1,2,3\n1,2,3,4\n1,2,3,4\n', 1, 'got 3'),
    ('1,2,3,4\n1;2;3;4\n1,2,3,4\n', 2, 'expected numbers'),
])
def test_bad_groundtruth_line_raises_with_line_number(tmp_path, text, line,
                                                      reason):
  folder = make_sequence(tmp_path / 'seq', groundtruth=text)
  with pytest.raises(SequenceError) as info:
    sequences.load_folder(folder)
  message = str(info.value)
  assert f'groundtruth.txt:{line}:' in message
  assert reason in message


@pytest.mark.parametrize('lines', [2, 4])
def test_groundtruth_count_mismatch_raises(tmp_path, lines):
  folder = make_sequence(tmp_path / 'seq', count=3,
                         groundtruth='1,2,3,4\n' * lines)
  message = f'{lines} boxes for 3 frames'
  with pytest.raises(SequenceError, match=message) as info:
    sequences.load_folder(folder)
  assert 'groundtruth.txt' in str(info.value)


def test_empty_groundtruth_raises(tmp_path):
  folder = make_sequence(tmp_path / 'seq', groundtruth='\n\n')
  with pytest.raises(SequenceError, match='groundtruth.txt: no boxes'):
    sequences.load_folder(folder)


def test_frame_of_different_size_raises_naming_the_file(tmp_path):
  folder = make_sequence(tmp_path / 'seq', count=2)
  iio.imwrite(folder / 'img' / '00000003.jpg',
              np.zeros((HEIGHT, WIDTH + 8, 3), np.uint8))
  frames = iter(sequences.load_folder(folder))
  next(frames)
  next(frames)
  with pytest.raises(SequenceError, match='00000003.jpg') as info:
    next(frames)
  assert 'differs from the first frame' in str(info.value)


def test_grayscale_jpeg_frames_become_rgb(tmp_path):
  folder = tmp_path / 'gray'
  write_frames(folder / 'img', 2, shape=(HEIGHT, WIDTH))
  frames = list(sequences.load_folder(folder))
  for frame in frames:
    assert frame.shape == (HEIGHT, WIDTH, 3)
    assert frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[..., 0], frame[..., 1])
    np.testing.assert_array_equal(frame[..., 0], frame[..., 2])


def test_rgba_png_drops_alpha(tmp_path):
  rgba = np.random.default_rng(1).integers(0, 256, (6, 7, 4), np.uint8)
  iio.imwrite(tmp_path / 'frame.png', rgba)
  got = sequences.read_image(tmp_path / 'frame.png')
  assert got.shape == (6, 7, 3)
  np.testing.assert_array_equal(got, rgba[..., :3])


def test_read_image_png_is_exact(tmp_path):
  rgb = np.random.default_rng(2).integers(0, 256, (5, 9, 3), np.uint8)
  iio.imwrite(tmp_path / 'frame.png', rgb)
  np.testing.assert_array_equal(sequences.read_image(tmp_path / 'frame.png'),
                                rgb)


def test_read_image_jpeg_close_to_written(tmp_path):
  rgb = np.zeros((16, 16, 3), np.uint8)
  rgb[..., 0] = 200
  rgb[..., 2] = 40
  iio.imwrite(tmp_path / 'frame.jpg', rgb)
  got = sequences.read_image(tmp_path / 'frame.jpg')
  assert got.shape == (16, 16, 3)
  np.testing.assert_allclose(got.astype(float), rgb, atol=4)


def test_read_image_cmyk_jpeg_gives_rgb(tmp_path):
  rgb = np.zeros((16, 16, 3), np.uint8)
  rgb[..., 0] = 255
  Image.fromarray(rgb).convert('CMYK').save(tmp_path / 'frame.jpg')
  got = sequences.read_image(tmp_path / 'frame.jpg')
  assert got.shape == (16, 16, 3)
  np.testing.assert_allclose(got.astype(float), rgb, atol=8)


def test_read_image_gray_alpha_and_16_bit(tmp_path):
  Image.new('LA', (5, 4), (100, 50)).save(tmp_path / 'la.png')
  np.testing.assert_array_equal(sequences.read_image(tmp_path / 'la.png'),
                                np.full((4, 5, 3), 100, np.uint8))
  deep = np.full((4, 5), 65535, np.uint16)
  deep[0, 0] = 257
  iio.imwrite(tmp_path / 'deep.png', deep)
  got = sequences.read_image(tmp_path / 'deep.png')
  assert got.shape == (4, 5, 3)
  np.testing.assert_allclose(got[1, 1], 255.0)
  np.testing.assert_allclose(got[0, 0], 1.0)


def test_read_image_missing_or_corrupt_raises(tmp_path):
  with pytest.raises(SequenceError, match='absent.jpg: cannot read image'):
    sequences.read_image(tmp_path / 'absent.jpg')
  (tmp_path / 'bad.png').write_bytes(b'not a png at all')
  with pytest.raises(SequenceError, match='bad.png: cannot read image'):
    sequences.read_image(tmp_path / 'bad.png')


@pytest.mark.parametrize('data,reason', [
    (b'not a jpeg at all', 'not an image, or its header is corrupt'),
    (b'', 'empty file, 0 bytes'),
])
def test_a_bad_frame_says_why_in_words(tmp_path, data, reason):
  (tmp_path / 'bad.jpg').write_bytes(data)
  with pytest.raises(SequenceError) as info:
    sequences.read_image(tmp_path / 'bad.jpg')
  assert str(info.value) == f'{tmp_path / "bad.jpg"}: cannot read image' \
      f' ({reason})'


@pytest.mark.parametrize('bad', ['garbage', 'empty', 'size'])
def test_checked_folder_finds_a_bad_frame_before_reading(tmp_path, bad):
  folder = make_sequence(tmp_path / 'seq', count=4, groundtruth='1,1,2,2\n' * 4)
  last = folder / 'img' / '00000004.jpg'
  if bad == 'size':
    iio.imwrite(last, np.zeros((HEIGHT + 2, WIDTH, 3), np.uint8))
  else:
    last.write_bytes(b'garbage' if bad == 'garbage' else b'')
  sequences.load_folder(folder)  # Frames are read lazily...
  with pytest.raises(SequenceError, match='00000004.jpg: ') as info:
    sequences.load_folder(folder, check=True)  # ...or checked at once.
  if bad == 'size':
    assert 'differs from the first frame (24, 32) (00000001.jpg)' in str(
        info.value)


def test_checked_folder_reads_headers_only(tmp_path):
  folder = make_sequence(tmp_path / 'seq', count=3)
  data = (folder / 'img' / '00000003.jpg').read_bytes()
  # Truncated pixel data: the header is intact, decoding fails.
  (folder / 'img' / '00000003.jpg').write_bytes(data[:-100])
  sequence = sequences.load_folder(folder, check=True)
  with pytest.raises(SequenceError, match='00000003.jpg: cannot read image'):
    list(sequence)


def test_ground_truth_file_is_known(tmp_path):
  folder = make_sequence(tmp_path / 'seq', groundtruth='1,1,2,2\n' * 3)
  sequence = sequences.truncate(sequences.load_folder(folder), 2)
  assert sequence.groundtruth_file == folder / 'groundtruth.txt'
  assert sequences.load_folder(make_sequence(
      tmp_path / 'plain')).groundtruth_file is None


@pytest.mark.parametrize('image', [
    np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 255.0),
    np.zeros((4, 4, 3)), np.arange(48).reshape(4, 4, 3),
])
def test_check_pixels_takes_0_to_255(image):
  sequences.check_pixels(image)


@pytest.mark.parametrize('image,message', [
    (np.full((4, 4, 3), 0.5), r'from 0.5 to 0.5, as if scaled to \[0, 1\]'),
    (np.full((4, 4, 3), 300, np.int32), 'from 300 to 300; expected'),
    (np.full((4, 4, 3), np.inf), 'infinite'),
    (np.array([['a']]), 'dtype <U1'),
])
def test_check_pixels_names_the_mistake(image, message):
  with pytest.raises(SequenceError, match=message):
    sequences.check_pixels(image, where='frame 3')


def test_to_rgb_shapes():
  gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
  np.testing.assert_array_equal(sequences.to_rgb(gray),
                                np.stack([gray] * 3, -1))
  np.testing.assert_array_equal(sequences.to_rgb(gray[..., None]),
                                np.stack([gray] * 3, -1))
  wide = sequences.to_rgb(np.zeros((3, 4), np.uint16))
  assert wide.shape == (3, 4, 3) and wide.dtype == np.float32
  for bad in (np.zeros((3, 4, 2)), np.zeros((0, 4, 3)), np.zeros(5),
              np.zeros((2, 3, 4, 3))):
    with pytest.raises(SequenceError, match='got shape'):
      sequences.to_rgb(bad)


@pytest.mark.parametrize('text,want', [
    ('1,2,3,4', [1, 2, 3, 4]),
    ('10.5,-2,30,40.25', [10.5, -2, 30, 40.25]),
    (' 1, 2 ,3,4 ', [1, 2, 3, 4]),
])
def test_parse_box_good(text, want):
  got = sequences.parse_box(text)
  assert got.shape == (4,)
  np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('text', ['', '1,2,3', '1,2,3,4,5', 'a,b,c,d',
                                  '1 2 3 4', '1,,3,4'])
def test_parse_box_bad(text):
  with pytest.raises(SequenceError, match=re.escape(repr(text))):
    sequences.parse_box(text)


def test_write_then_read_boxes_round_trip(tmp_path):
  rows = np.array([[1, 2, 3, 4], [10.25, 20.5, 30.75, 40.125],
                   [np.nan] * 4, [-3.333, 0.001, 5, 6]])
  path = tmp_path / 'results' / 'deep' / 'seq.txt'
  sequences.write_boxes(path, rows)
  got = sequences.read_boxes(path)
  # Two decimals on disk.
  np.testing.assert_allclose(got, rows, atol=0.005 + 1e-12)
  assert np.isnan(got[2]).all()
  assert path.read_text().splitlines()[1] == '10.25,20.50,30.75,40.12'
  # No temporary file is left beside the result.
  assert [p.name for p in path.parent.iterdir()] == ['seq.txt']


def test_read_boxes_missing_file_raises(tmp_path):
  with pytest.raises(SequenceError, match='cannot read box file'):
    sequences.read_boxes(tmp_path / 'absent.txt')


def write_video(path, count=5, height=48, width=64):
  frames = np.random.default_rng(3).integers(
      0, 256, (count, height, width, 3), np.uint8)
  iio.imwrite(path, frames, fps=10)
  return frames


def test_load_video(tmp_path):
  write_video(tmp_path / 'clip.mp4')
  (tmp_path / 'clip.txt').write_text('1,2,3,4\n' * 5)
  sequence = sequences.load_video(tmp_path / 'clip.mp4',
                                  groundtruth=tmp_path / 'clip.txt')
  assert sequence.name == 'clip'
  assert sequence.num_frames is None
  assert sequence.groundtruth.shape == (5, 4)
  frames = list(sequence)
  assert len(frames) == 5
  for frame in frames:
    assert frame.shape == (48, 64, 3)
    assert frame.dtype == np.uint8
  assert len(list(sequence)) == 5


def test_load_video_without_groundtruth(tmp_path):
  write_video(tmp_path / 'clip.mp4', count=2)
  sequence = sequences.load_video(tmp_path / 'clip.mp4')
  assert sequence.groundtruth is None
  assert len(list(sequence)) == 2


def test_missing_video_raises(tmp_path):
  with pytest.raises(SequenceError, match='absent.mp4: no such video file'):
    sequences.load_video(tmp_path / 'absent.mp4')


def test_corrupt_video_raises_on_reading(tmp_path):
  (tmp_path / 'bad.mp4').write_bytes(b'garbage' * 20)
  sequence = sequences.load_video(tmp_path / 'bad.mp4')
  with pytest.raises(SequenceError, match='bad.mp4: cannot decode video'):
    list(sequence)


@pytest.mark.parametrize('suffix,shape', [('.mp4', (5, 48, 64, 3)),
                                          ('.mp4', (4, 38, 50, 3)),
                                          ('.gif', (3, 24, 32, 3))])
def test_video_frames_are_the_ones_imageio_reads(tmp_path, suffix, shape):
  path = tmp_path / f'clip{suffix}'
  frames = np.random.default_rng(5).integers(0, 256, shape, np.uint8)
  if suffix == '.gif':
    iio.imwrite(path, frames, loop=0)
  else:
    iio.imwrite(path, frames, fps=10, macro_block_size=1)
  with warnings.catch_warnings():
    # imageio's FFmpeg plugin forks (no JAX threads run here yet).
    warnings.simplefilter('ignore')
    expected = [sequences.to_rgb(f) for f in iio.imiter(path)]
  got = list(sequences.load_video(path))
  assert len(got) == len(expected) == len(frames)
  for mine, theirs in zip(got, expected):
    assert mine.dtype == np.uint8
    np.testing.assert_array_equal(mine, theirs)


def test_reading_video_with_jax_running_does_not_fork(tmp_path):
  write_video(tmp_path / 'clip.mp4', count=3)
  jax.numpy.ones(3).block_until_ready()  # JAX's threads run from here on.
  before = dict(os.environ)
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    frames = list(sequences.load_video(tmp_path / 'clip.mp4'))
  assert len(frames) == 3
  assert not [w for w in caught if 'os.fork()' in str(w.message)]
  assert dict(os.environ) == before


class LiveSource:
  """A camera: each read starts where the last one stopped."""

  def __init__(self):
    self.reads = 0
    self.count = 0

  def read_frames(self):
    self.reads += 1
    while True:
      self.count += 1
      yield np.full((4, 4, 3), self.count, np.uint8)


def test_read_first_continues_the_same_reading():
  camera = LiveSource()
  sequence = sequences.truncate(sequences.Sequence(
      'live', None, camera.read_frames), 4)
  first, sequence = sequences.read_first(sequence)
  assert first[0, 0, 0] == 1
  assert [f[0, 0, 0] for f in sequence] == [1, 2, 3, 4]
  assert camera.reads == 1
  # Read again, it starts again from the source.
  assert [f[0, 0, 0] for f in sequence] == [5, 6, 7, 8]
  assert camera.reads == 2
  empty = sequences.Sequence('empty', 0, lambda: iter([]))
  assert sequences.read_first(empty)[0] is None


@pytest.mark.shared
def test_real_sequences_frame_count_matches_groundtruth(shared_sequences):
  folders = sorted(p for p in shared_sequences.iterdir() if p.is_dir())
  assert folders, f'no sequence in {shared_sequences}'
  for folder in folders:
    sequence = sequences.load_folder(folder)
    assert sequence.groundtruth is not None, folder
    assert sequence.num_frames == len(sequence.groundtruth), folder
    first = next(iter(sequence))
    assert first.ndim == 3 and first.shape[2] == 3, folder
    boxes.check_box(sequence.groundtruth[0], first.shape, where=folder.name)

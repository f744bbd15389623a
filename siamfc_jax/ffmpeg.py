"""Reading and writing frames through FFmpeg (imageio-ffmpeg's executable).

FFmpeg is started without Python code between fork and exec (vfork or
posix_spawn only), which is safe while JAX's threads run: imageio-ffmpeg
runs ``os.setpgrp`` in a forked child, which JAX reports with "os.fork()
was called" and which can deadlock, and avoiding that through imageio
means setting an environment variable, which a library must not do. FFmpeg
runs in a process group of its own, as imageio-ffmpeg's does, so that
Ctrl-C reaches only Python, which then stops it; a render being written
survives a Ctrl-C that ends tracking cleanly.
"""

import pathlib
import subprocess
import tempfile
from typing import Iterator, Sequence

import imageio_ffmpeg
import numpy as np


class FFmpegError(RuntimeError):
  """FFmpeg failed; the message is the last line it logged."""


def _start(args: Sequence[str], *, stdin, stdout, log) -> subprocess.Popen:
  # process_group is set in C by the child, between vfork and exec.
  return subprocess.Popen(
      [imageio_ffmpeg.get_ffmpeg_exe(), '-nostdin', '-hide_banner', *args],
      stdin=stdin, stdout=stdout, stderr=log, process_group=0)


def _last_line(log) -> str:
  log.seek(0)
  lines = [line.strip() for line in log.read().decode(errors='replace')
           .splitlines() if line.strip()]
  return lines[-1] if lines else 'no message'


def _stop(process: subprocess.Popen) -> None:
  if process.poll() is None:
    process.kill()
  process.wait()


def _read_ppm(stream) -> np.ndarray | None:
  """One frame of FFmpeg's PPM stream ("P6\\nW H\\n255\\n" + RGB bytes)."""
  magic = stream.readline()
  if not magic:
    return None
  size, depth = stream.readline().split(), stream.readline().strip()
  if magic.strip() != b'P6' or len(size) != 2 or depth != b'255':
    raise FFmpegError(f'unexpected frame header {magic + b" ".join(size)!r}')
  width, height = int(size[0]), int(size[1])
  data = stream.read(width * height * 3)
  if len(data) != width * height * 3:
    raise FFmpegError('the stream ended inside a frame')
  return np.frombuffer(data, np.uint8).reshape(height, width, 3).copy()


def read_frames(source: str, *, input_args: Sequence[str] = ()
                ) -> Iterator[np.ndarray]:
  """Yields the frames of ``source`` (a file or a device) as uint8 RGB.

  The same FFmpeg command and pixel conversion as imageio's FFmpeg plugin
  (``-pix_fmt rgb24``), so the frames are the same; each frame comes as a
  PPM image, whose header gives its size.

  Args:
    source: what FFmpeg's ``-i`` opens.
    input_args: FFmpeg options for the input, e.g. ``['-f', 'v4l2']``.

  Raises:
    FFmpegError: FFmpeg could not open or decode ``source``.
  """
  with tempfile.TemporaryFile() as log:
    process = _start([*input_args, '-i', str(source), '-pix_fmt', 'rgb24',
                      '-vcodec', 'ppm', '-f', 'image2pipe', '-'],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     log=log)
    try:
      while (frame := _read_ppm(process.stdout)) is not None:
        yield frame
      if process.wait() != 0:
        raise FFmpegError(_last_line(log))
    finally:
      process.stdout.close()
      _stop(process)


# Output options by file type: H.264 at imageio's default quality (crf
# 25); GIF with a palette made for each frame, which needs no other frame.
_OUTPUT_ARGS = {
    '.mp4': ['-vcodec', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '25'],
    '.gif': ['-vf', 'split[a][b];[a]palettegen=stats_mode=single[p];'
             '[b][p]paletteuse=new=1', '-loop', '0'],
}
SUFFIXES = tuple(_OUTPUT_ARGS)


class Writer:
  """Writes frames to an .mp4 or .gif file as they come, one at a time.

  FFmpeg starts with the first frame, whose size every frame must have.
  Use as a context manager: leaving it normally finishes the file; leaving
  it by an exception stops FFmpeg (the file is then incomplete).
  """

  def __init__(self, path, *, fps: float):
    self.path = pathlib.Path(path)
    self._args = _OUTPUT_ARGS.get(self.path.suffix.lower())
    if self._args is None:
      raise ValueError(f'{self.path}: write a {" or ".join(SUFFIXES)} file')
    self._fps = fps
    self._log = tempfile.TemporaryFile()
    self._process = None
    self._shape = None

  def write(self, frame: np.ndarray) -> None:
    frame = np.ascontiguousarray(frame, np.uint8)
    if self._process is None:
      self._shape = frame.shape
      height, width = frame.shape[:2]
      self._process = _start(
          ['-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s',
           f'{width}x{height}', '-r', f'{self._fps:g}', '-i', '-', '-an',
           *self._args, '-v', 'error', str(self.path)],
          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, log=self._log)
    if frame.shape != self._shape:
      raise ValueError(f'{self.path}: frame of shape {frame.shape} after'
                       f' frames of {self._shape}')
    try:
      self._process.stdin.write(frame.tobytes())
    except BrokenPipeError:
      self._process.wait()
      raise FFmpegError(f'{self.path}: {_last_line(self._log)}') from None

  def close(self) -> None:
    """Finishes the file (an empty one if no frame came)."""
    try:
      if self._process is None:
        raise FFmpegError(f'{self.path}: no frames to write')
      self._process.stdin.close()
      if self._process.wait() != 0:
        raise FFmpegError(f'{self.path}: {_last_line(self._log)}')
    finally:
      self._log.close()

  def abort(self) -> None:
    if self._process is not None:
      self._process.stdin.close()
      _stop(self._process)
    self._log.close()

  def __enter__(self):
    return self

  def __exit__(self, kind, value, traceback):
    if kind is None:
      self.close()
    else:
      self.abort()

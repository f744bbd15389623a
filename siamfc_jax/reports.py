"""Tables, plots and Markdown/HTML reports of an evaluation summary.

A summary is what siamfc_jax.evaluation.summarize returns. Plots follow the
papers and toolkits: one line per tracker, labelled with its score (OTB:
success AUC and precision at 20 px; GOT-10k: AO; VOT: EAO), best first.
Figures are drawn without pyplot, so PNGs are rendered by matplotlib's Agg
backend whatever the default backend is; no display is needed.
"""

import html
import io
import pathlib

import matplotlib.figure
import numpy as np

from siamfc_jax import files
from siamfc_jax import metrics

BENCHMARK_TITLES = {
    'otb': 'OTB one-pass evaluation (OPE)',
    'got10k': 'GOT-10k',
    'vot': 'VOT reset-based (supervised) evaluation',
}

DEFINITIONS = {
    'otb': ('Success AUC: mean over sequences of the success curve (fraction'
            ' of frames with IoU > t, 21 thresholds t in [0, 1]), averaged'
            ' over t; precision: fraction of frames with centre error'
            ' <= 20 px, averaged over sequences (the OTB toolkit).'),
    'got10k': ('AO: mean IoU over all frames of all sequences but the first'
               ' of each and those where the target is not visible; SR0.5'
               ' and SR0.75: fraction of those frames with IoU > 0.5 and'
               ' > 0.75; toolkit speed: mean of 1 / seconds over frames'
               ' (the GOT-10k toolkit).'),
    'vot': ('Reset-based run: failure when the box no longer overlaps the'
            ' ground truth, re-initialised {skip_frames} frames later.'
            ' Accuracy: mean IoU over tracked frames past the {burnin}-frame'
            ' burn-in after each initialisation; robustness: 100 x failures'
            ' / frames; EAO: expected average overlap over sequence lengths'
            ' {eao_low} to {eao_high} (pysot\'s definitions, axis-aligned'
            ' boxes).'),
}

FPS_NOTE = ('FPS: frames per second after the first two frames of each'
            ' sequence (initialisation and, for SiamFC, compilation).')


def _number(value, digits: int = 3) -> str:
  if value is None or not np.isfinite(value):
    return 'n/a'
  return f'{value:.{digits}f}'


def overall_table(summary: dict) -> tuple[list[str], list[list[str]]]:
  """(header, rows) of the overall numbers, one row per tracker."""
  benchmark = summary['benchmark']
  rows = []
  for name, result in summary['trackers'].items():
    overall = result['overall']
    if benchmark == 'otb':
      values = [overall['success_auc'], overall['precision_20px']]
    elif benchmark == 'got10k':
      values = [overall.get('ao'), overall.get('sr50'), overall.get('sr75'),
                overall['speed_fps']]
    else:
      values = [overall['accuracy'], overall['robustness'], overall['lost'],
                overall['eao']]
    rows.append([name, *map(_number, values),
                 _number(overall['fps'], digits=1)])
  header = {
      'otb': ['Tracker', 'Success AUC', 'Precision@20px'],
      'got10k': ['Tracker', 'AO', 'SR0.5', 'SR0.75', 'Toolkit speed'],
      'vot': ['Tracker', 'Accuracy', 'Robustness', 'Lost', 'EAO'],
  }[benchmark]
  return [*header, 'FPS'], rows


def sequence_table(summary: dict) -> tuple[list[str], list[list[str]]]:
  """(header, rows) per sequence, one column per tracker."""
  benchmark = summary['benchmark']
  keys, label = {
      'otb': (('success_auc', 'precision_20px'), 'AUC / P@20'),
      'got10k': (('ao', 'sr50'), 'AO / SR0.5'),
      'vot': (('accuracy', 'lost'), 'Acc / lost'),
  }[benchmark]
  trackers = summary['trackers']
  header = ['Sequence', 'Frames', *(f'{n} {label}' for n in trackers)]
  rows = []
  for sequence in summary['sequences']:
    frames = next(iter(trackers.values()))['sequences'][sequence]['frames']
    cells = [' / '.join(_number(result['sequences'][sequence].get(k))
                        for k in keys) for result in trackers.values()]
    rows.append([sequence, str(frames), *cells])
  return header, rows


def markdown_table(header, rows) -> str:
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + '|'.join('---' for _ in header) + '|']
  lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
  return '\n'.join(lines)


def overall_text(summary: dict, report_path) -> str:
  """What the evaluation jobs print: the overall table, then the report."""
  return (markdown_table(*overall_table(summary))
          + f'\nreport: {report_path}')


def _html_table(header, rows) -> str:
  cells = lambda tag, row: ''.join(  # noqa: E731
      f'<{tag}>{html.escape(c)}</{tag}>' for c in row)
  body = ''.join(f'<tr>{cells("td", row)}</tr>' for row in rows)
  return f'<table><tr>{cells("th", header)}</tr>{body}</table>'


def _plot(path: pathlib.Path, x, lines, *, title: str, xlabel: str,
          ylabel: str, dpi: int, span=None) -> None:
  """Writes a PNG of ``lines`` [(label, score, y)], best score first."""
  figure = matplotlib.figure.Figure(figsize=(6, 4.5))
  axes = figure.subplots()
  if span is not None:
    axes.axvspan(*span, color='0.9')
  for label, _, y in sorted(lines, key=lambda line: -np.nan_to_num(line[1])):
    axes.plot(x, y, label=label, linewidth=1.5)
  axes.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]),
           ylim=(0, 1))
  axes.grid(True, alpha=0.4)
  axes.legend(loc='best', fontsize='small')
  buffer = io.BytesIO()
  figure.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight')
  files.write_bytes(path, buffer.getvalue())


def write_plots(summary: dict, folder, *, dpi: int,
                eao_range=None) -> list[str]:
  """Writes the benchmark's plots into ``folder``; returns their names."""
  folder = pathlib.Path(folder)
  trackers = summary['trackers']
  benchmark = summary['benchmark']
  if not trackers:
    return []
  overall = {n: r['overall'] for n, r in trackers.items()}
  if benchmark == 'otb':
    _plot(folder / 'success_plot.png', metrics.SUCCESS_THRESHOLDS,
          [(f'{n} [{o["success_auc"]:.3f}]', o['success_auc'],
            o['success_curve']) for n, o in overall.items()],
          title='Success plots of OPE', xlabel='Overlap threshold',
          ylabel='Success rate', dpi=dpi)
    _plot(folder / 'precision_plot.png', metrics.PRECISION_THRESHOLDS,
          [(f'{n} [{o["precision_20px"]:.3f}]', o['precision_20px'],
            o['precision_curve']) for n, o in overall.items()],
          title='Precision plots of OPE',
          xlabel='Location error threshold (pixels)', ylabel='Precision',
          dpi=dpi)
    return ['success_plot.png', 'precision_plot.png']
  if benchmark == 'got10k':
    if not all('ao' in o for o in overall.values()):
      return []
    _plot(folder / 'success_plot.png', metrics.GOT10K_THRESHOLDS,
          [(f'{n}: [{o["ao"]:.3f}]', o['ao'], o['success_curve'])
           for n, o in overall.items()],
          title='Success plots on GOT-10k', xlabel='Overlap threshold',
          ylabel='Success rate', dpi=dpi)
    return ['success_plot.png']
  length = max(len(o['eao_curve']) for o in overall.values())
  _plot(folder / 'eao_curve.png', np.arange(1, length + 1),
        [(f'{n} [{_number(o["eao"])}]', o['eao'],
          np.pad(o['eao_curve'], (0, length - len(o['eao_curve'])),
                 constant_values=np.nan)) for n, o in overall.items()],
        title='Expected overlap', xlabel='Sequence length (frames)',
        ylabel='Expected average overlap', dpi=dpi, span=eao_range)
  return ['eao_curve.png']


def write_report(summary: dict, folder, *, details: dict, html_too: bool,
                 dpi: int, vot=None) -> pathlib.Path:
  """Writes summary plots, ``report.md`` and optionally ``report.html``.

  Args:
    summary: from siamfc_jax.evaluation.summarize.
    folder: the results folder.
    details: name -> value lines shown under the title (root, weights...).
    html_too: also write report.html.
    dpi: plot resolution.
    vot: the config's VOT settings (for benchmark 'vot').

  Returns:
    The path of report.md.
  """
  folder = pathlib.Path(folder)
  benchmark = summary['benchmark']
  eao_range = (vot.eao_low, vot.eao_high) if vot else None
  images = write_plots(summary, folder, dpi=dpi, eao_range=eao_range)
  blocks = [('h1', f'Evaluation: {BENCHMARK_TITLES[benchmark]}')]
  blocks += [('p', f'{key}: {value}') for key, value in details.items()]
  definitions = DEFINITIONS[benchmark].format(**(vot or {}))
  blocks.append(('p', f'{definitions} {FPS_NOTE}'))
  if summary['trackers']:
    blocks += [('h2', 'Overall'), ('table', *overall_table(summary))]
    blocks += [('img', name) for name in images]
    blocks += [('h2', 'Per sequence'), ('table', *sequence_table(summary))]
  if summary['incomplete']:
    blocks.append(('h2', 'Incomplete (left out)'))
    blocks += [('p', f'{name}: {done} of {len(summary["sequences"])}'
                     ' sequences done') for name, done in
               summary['incomplete'].items()]

  markdown, body = [], []
  for kind, *content in blocks:
    if kind == 'table':
      markdown.append(markdown_table(*content))
      body.append(_html_table(*content))
    elif kind == 'img':
      markdown.append(f'![{content[0]}]({content[0]})')
      body.append(f'<img src="{html.escape(content[0])}" alt="">')
    else:
      prefix = {'h1': '# ', 'h2': '## ', 'p': ''}[kind]
      markdown.append(prefix + content[0])
      body.append(f'<{kind}>{html.escape(content[0])}</{kind}>')
  path = folder / 'report.md'
  files.write_text(path, '\n\n'.join(markdown) + '\n')
  if html_too:
    files.write_text(
        folder / 'report.html',
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f'{html.escape(BENCHMARK_TITLES[benchmark])}</title><style>'
        'table{border-collapse:collapse}td,th{border:1px solid #999;'
        'padding:2px 6px}</style></head><body>' + ''.join(body)
        + '</body></html>\n')
  return path

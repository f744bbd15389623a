"""Tables, plots and Markdown/HTML reports of an evaluation summary.

A summary is what siamfc_jax.evaluation.summarize returns. What a report
shows of it (title, metric definitions, table columns, plots) comes from
the benchmark object (siamfc_jax.evaluation.base.Benchmark): nothing here
depends on which benchmark it is. Plots follow the papers and toolkits: one
line per tracker, labelled with its score, best first. Figures are drawn
without pyplot, so PNGs are rendered by matplotlib's Agg backend whatever
the default backend is; no display is needed.
"""

import html
import io
import pathlib

import matplotlib.figure
import numpy as np

from siamfc_jax import files
from siamfc_jax import metrics

FPS_NOTE = ('FPS: frames per second after the first two frames of each'
            ' sequence (initialisation and, for SiamFC, compilation).')


def number(value, digits: int = 3) -> str:
  """``value`` to ``digits`` decimals; 'n/a' if missing or not finite."""
  if value is None or not np.isfinite(value):
    return 'n/a'
  return f'{value:.{digits}f}'


def overall_table(summary: dict,
                  benchmark) -> tuple[list[str], list[list[str]]]:
  """(header, rows) of the overall numbers, one row per tracker."""
  keys = [key for key, _ in benchmark.overall_columns]
  rows = [[name, *(number(result['overall'].get(k)) for k in keys),
           number(result['overall'].get('fps'), digits=1)]
          for name, result in summary['trackers'].items()]
  return ['Tracker', *(h for _, h in benchmark.overall_columns), 'FPS'], rows


def sequence_table(summary: dict,
                   benchmark) -> tuple[list[str], list[list[str]]]:
  """(header, rows) per sequence, one column per tracker."""
  keys = [key for key, _ in benchmark.sequence_columns]
  label = ' / '.join(header for _, header in benchmark.sequence_columns)
  trackers = summary['trackers']
  header = ['Sequence', 'Frames', *(f'{n} {label}' for n in trackers)]
  rows = []
  for sequence in summary['sequences']:
    frames = next(iter(trackers.values()))['sequences'][sequence]['frames']
    cells = [' / '.join(number(result['sequences'][sequence].get(k))
                        for k in keys) for result in trackers.values()]
    rows.append([sequence, str(frames), *cells])
  return header, rows


def markdown_table(header, rows) -> str:
  lines = ['| ' + ' | '.join(header) + ' |',
           '|' + '|'.join('---' for _ in header) + '|']
  lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
  return '\n'.join(lines)


def overall_text(summary: dict, report_path, benchmark) -> str:
  """What the evaluation jobs print: the overall table, then the report."""
  return (markdown_table(*overall_table(summary, benchmark))
          + f'\nreport: {report_path}')


def _html_table(header, rows) -> str:
  cells = lambda tag, row: ''.join(  # noqa: E731
      f'<{tag}>{html.escape(c)}</{tag}>' for c in row)
  body = ''.join(f'<tr>{cells("td", row)}</tr>' for row in rows)
  return f'<table><tr>{cells("th", header)}</tr>{body}</table>'


def plot(path: pathlib.Path, x, lines, *, title: str, xlabel: str,
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


def ope_plots(summary: dict, folder, *, dpi: int) -> list[str]:
  """OTB-style success and precision plots; returns their file names.

  Drawn from each tracker's overall 'success_curve' and 'precision_curve'
  (siamfc_jax.evaluation.ope.summarize).
  """
  folder = pathlib.Path(folder)
  overall = {n: r['overall'] for n, r in summary['trackers'].items()}
  if not overall:
    return []
  plot(folder / 'success_plot.png', metrics.SUCCESS_THRESHOLDS,
       [(f'{n} [{o["success_auc"]:.3f}]', o['success_auc'],
         o['success_curve']) for n, o in overall.items()],
       title='Success plots of OPE', xlabel='Overlap threshold',
       ylabel='Success rate', dpi=dpi)
  plot(folder / 'precision_plot.png', metrics.PRECISION_THRESHOLDS,
       [(f'{n} [{o["precision_20px"]:.3f}]', o['precision_20px'],
         o['precision_curve']) for n, o in overall.items()],
       title='Precision plots of OPE',
       xlabel='Location error threshold (pixels)', ylabel='Precision',
       dpi=dpi)
  return ['success_plot.png', 'precision_plot.png']


def write_report(summary: dict, folder, *, benchmark, config,
                 details: dict, html_too: bool, dpi: int) -> pathlib.Path:
  """Writes summary plots, ``report.md`` and optionally ``report.html``.

  Args:
    summary: from siamfc_jax.evaluation.summarize.
    folder: the results folder.
    benchmark: the summary's siamfc_jax.evaluation.base.Benchmark: its
      title, definitions (formatted with ``config``), columns and plots.
    config: the evaluation config.
    details: name -> value lines shown under the title (root, weights...).
    html_too: also write report.html.
    dpi: plot resolution.

  Returns:
    The path of report.md.
  """
  folder = pathlib.Path(folder)
  images = (benchmark.plots(summary, folder, dpi=dpi, config=config)
            if summary['trackers'] else [])
  blocks = [('h1', f'Evaluation: {benchmark.title}')]
  blocks += [('p', f'{key}: {value}') for key, value in details.items()]
  definitions = benchmark.definitions.format_map(config)
  blocks.append(('p', f'{definitions} {FPS_NOTE}'))
  if summary['trackers']:
    blocks += [('h2', 'Overall'),
               ('table', *overall_table(summary, benchmark))]
    blocks += [('img', name) for name in images]
    blocks += [('h2', 'Per sequence'),
               ('table', *sequence_table(summary, benchmark))]
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
        f'{html.escape(benchmark.title)}</title><style>'
        'table{border-collapse:collapse}td,th{border:1px solid #999;'
        'padding:2px 6px}</style></head><body>' + ''.join(body)
        + '</body></html>\n')
  return path

/**
 * Bar charts on Chart.js (canvas: nothing inline for the CSP to refuse), in the theme's colours,
 * with axes, tooltips and an empty state. Each chart also holds its data as a table inside the
 * canvas, for screen readers and tests.
 */
import { useEffect, useState } from 'react';
import { BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, Tooltip, type ChartOptions } from 'chart.js';
import { Bar } from 'react-chartjs-2';

ChartJS.register(BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export interface BarDatum {
  label: string;
  value: number;
  /** the tooltip's lines; default `label: value unit` */
  tooltip?: string[];
}

interface Palette {
  bar: string;
  text: string;
  grid: string;
  panel: string;
  border: string;
}

function readPalette(): Palette {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { bar: v('--accent'), text: v('--muted'), grid: v('--border'), panel: v('--panel'), border: v('--border') };
}

/** The theme's colours, read again when the theme (html data-theme) changes. */
function usePalette(): Palette {
  const [palette, setPalette] = useState(readPalette);
  useEffect(() => {
    const observer = new MutationObserver(() => setPalette(readPalette()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => observer.disconnect();
  }, []);
  return palette;
}

/** Long category names are cut on the axis; the tooltip has them whole. */
function shortLabel(text: string, max = 28): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A bar chart. `horizontal` puts the categories on the y axis, one readable line each (process
 * names); otherwise they run along the x axis (hours). With `showZero` a zero still has a sliver
 * of a bar, so a 0.0 s run is visible; no bars at all (or only zeros, with `emptyWhenZero`)
 * shows `empty`.
 */
export function BarChart({
  data,
  title,
  unit = '',
  valueTitle,
  categoryTitle,
  horizontal = false,
  empty,
  emptyWhenZero = false,
  showZero = false,
  testId,
}: {
  data: BarDatum[];
  title: string;
  unit?: string;
  valueTitle: string;
  categoryTitle: string;
  horizontal?: boolean;
  empty: string;
  emptyWhenZero?: boolean;
  showZero?: boolean;
  testId?: string;
}) {
  const palette = usePalette();
  const isEmpty = data.length === 0 || (emptyWhenZero && data.every((d) => d.value === 0));
  const valueAxis = horizontal ? 'x' : 'y';
  const categoryAxis = horizontal ? 'y' : 'x';
  const options: ChartOptions<'bar'> = {
    indexAxis: horizontal ? 'y' : 'x',
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: false },
      tooltip: {
        backgroundColor: palette.panel,
        titleColor: palette.text,
        bodyColor: palette.text,
        borderColor: palette.border,
        borderWidth: 1,
        callbacks: {
          title: (items) => data[items[0]?.dataIndex ?? 0]?.label ?? '',
          label: (item) => data[item.dataIndex]?.tooltip ?? [`${item.formattedValue}${unit}`],
        },
      },
    },
    scales: {
      [valueAxis]: {
        beginAtZero: true,
        grid: { color: palette.grid },
        border: { color: palette.grid },
        ticks: { color: palette.text, precision: unit ? undefined : 0, callback: (value: string | number) => `${value}${unit}` },
        title: { display: true, text: valueTitle, color: palette.text },
      },
      [categoryAxis]: {
        grid: { display: false },
        border: { color: palette.grid },
        ticks: {
          color: palette.text,
          autoSkip: !horizontal,
          maxRotation: 0,
          callback(this: { getLabelForValue(v: number): string }, value: string | number) {
            return shortLabel(this.getLabelForValue(Number(value)));
          },
        },
        title: { display: true, text: categoryTitle, color: palette.text },
      },
    },
  };
  // One line per category when horizontal, so names never overlap.
  const height = horizontal ? Math.max(140, 56 + data.length * 30) : 220;
  return (
    <figure className="chart" data-testid={testId} data-empty={isEmpty ? 'true' : 'false'}>
      <figcaption>{title}</figcaption>
      {isEmpty ? (
        <p className="chart-empty" data-testid={testId ? `${testId}-empty` : undefined}>
          {empty}
        </p>
      ) : (
        <div className="chart-box" style={{ height }}>
          <Bar
            aria-label={title}
            role="img"
            options={options}
            data={{
              labels: data.map((d) => d.label),
              datasets: [{ data: data.map((d) => d.value), backgroundColor: palette.bar, borderRadius: 3, ...(showZero ? { minBarLength: 3 } : {}), maxBarThickness: 48 }],
            }}
            fallbackContent={
              <table>
                <tbody>
                  {data.map((d, i) => (
                    <tr key={`${d.label}${i}`}>
                      <th>{d.label}</th>
                      <td>
                        {d.value}
                        {unit}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            }
          />
        </div>
      )}
    </figure>
  );
}

export interface Series {
  label: string;
  /** a CSS custom property of the theme, e.g. --failed */
  colorVar: string;
  values: number[];
}

/**
 * Bars per category (hours), one coloured series each, stacked when `stacked` (runs by outcome)
 * or side by side; a legend names the series. No data at all (every value 0) shows `empty`.
 */
export function SeriesChart({ labels, series, title, valueTitle, categoryTitle, empty, stacked = false, testId }: { labels: string[]; series: Series[]; title: string; valueTitle: string; categoryTitle: string; empty: string; stacked?: boolean; testId?: string }) {
  const palette = usePalette();
  const css = getComputedStyle(document.documentElement);
  const isEmpty = labels.length === 0 || series.every((s) => s.values.every((v) => v === 0));
  const axis = (titleText: string, extra: object) => ({
    stacked,
    grid: { color: palette.grid },
    border: { color: palette.grid },
    ticks: { color: palette.text, ...extra },
    title: { display: true, text: titleText, color: palette.text },
  });
  const options: ChartOptions<'bar'> = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: true, labels: { color: palette.text, boxWidth: 12 } },
      tooltip: { backgroundColor: palette.panel, titleColor: palette.text, bodyColor: palette.text, borderColor: palette.border, borderWidth: 1 },
    },
    scales: { y: { ...axis(valueTitle, { precision: 0 }), beginAtZero: true }, x: { ...axis(categoryTitle, { autoSkip: true, maxRotation: 0 }), grid: { display: false } } },
  };
  return (
    <figure className="chart" data-testid={testId} data-empty={isEmpty ? 'true' : 'false'}>
      <figcaption>{title}</figcaption>
      {isEmpty ? (
        <p className="chart-empty" data-testid={testId ? `${testId}-empty` : undefined}>
          {empty}
        </p>
      ) : (
        <div className="chart-box" style={{ height: 240 }}>
          <Bar
            aria-label={title}
            role="img"
            options={options}
            data={{ labels, datasets: series.map((s) => ({ label: s.label, data: s.values, backgroundColor: css.getPropertyValue(s.colorVar).trim() || palette.bar, borderRadius: 2, maxBarThickness: 28 })) }}
            fallbackContent={
              <table>
                <tbody>
                  {labels.map((l, i) => (
                    <tr key={`${l}${i}`}>
                      <th>{l}</th>
                      {series.map((s) => (
                        <td key={s.label}>
                          {s.label} {s.values[i]}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            }
          />
        </div>
      )}
    </figure>
  );
}

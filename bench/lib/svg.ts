/** A small SVG bar chart of the ratios: one bar per row, green when its target is met. */
import type { Row } from './common.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderSvg(rows: Row[], title: string): string {
  const barH = 16;
  const labelW = 430;
  const chartW = 360;
  const top = 40;
  const height = top + rows.length * (barH + 4) + 30;
  const max = Math.max(2, ...rows.map((r) => r.ratio));
  const x = (ratio: number) => labelW + (Math.min(ratio, max) / max) * chartW;
  const bars = rows.map((r, i) => {
    const y = top + i * (barH + 4);
    const color = r.met === null ? '#9ca3af' : r.met ? '#16a34a' : '#dc2626';
    const label = `${r.bench} · ${r.dialect} · ${r.size} · ${r.metric}`;
    return [
      `<text x="${labelW - 6}" y="${y + barH - 4}" text-anchor="end">${esc(label)}</text>`,
      `<rect x="${labelW}" y="${y}" width="${Math.max(1, x(r.ratio) - labelW).toFixed(1)}" height="${barH}" fill="${color}"/>`,
      `<text x="${(x(r.ratio) + 4).toFixed(1)}" y="${y + barH - 4}">${r.ratio.toFixed(2)}x</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + chartW + 60}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<text x="8" y="32" fill="#555">ratio = ours / baseline (times) or ours / baseline (rates); green: target met, red: missed, grey: no target</text>`,
    `<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${height - 24}" stroke="#111" stroke-dasharray="3,3"/>`,
    `<text x="${x(1)}" y="${height - 10}" text-anchor="middle">1x</text>`,
    ...bars,
    '</svg>',
  ].join('\n');
}

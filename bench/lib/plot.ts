// ratios.svg: a horizontal bar chart of twinsan/tgt and twinsan/limit per row, with the line
// at 1.0 (parity). Plain SVG, no dependency.
import type { BenchResult } from "./schema.ts";

const BAR_HEIGHT = 12;
const ROW_GAP = 10;
const LABEL_WIDTH = 270;
const CHART_WIDTH = 460;
const MARGIN = 16;
const TOP = 48;
const COLORS = { peer: "#3b7dd8", limit: "#e08a2c" } as const;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) =>
    ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

export function ratioChartSvg(result: BenchResult): string {
  const rows = result.rows;
  const values = rows.flatMap((r) =>
    [r.ratios.twinsanOverPeer ?? 0, r.ratios.twinsanOverLimit ?? 0]);
  const maxRatio = Math.max(1.25, Math.ceil(Math.max(...values, 0) * 4) / 4);
  const x = (ratio: number) => LABEL_WIDTH + (ratio / maxRatio) * CHART_WIDTH;
  const rowHeight = BAR_HEIGHT * 2 + ROW_GAP;
  const height = TOP + rows.length * rowHeight + 40;
  const width = LABEL_WIDTH + CHART_WIDTH + MARGIN * 2 + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN}" y="20" font-size="14" font-weight="bold">twinsan throughput ratios ` +
      `(${escapeXml(result.profile)}, ${escapeXml(result.host.hostname)}, ` +
      `${escapeXml(result.startedAt.slice(0, 10))})</text>`,
    legend(MARGIN, 36),
  ];
  for (let tick = 0; tick <= maxRatio + 1e-9; tick += 0.25) {
    const tx = x(tick);
    const major = Math.abs(tick - 1) < 1e-9;
    parts.push(`<line x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${height - 30}" ` +
      `stroke="${major ? "#222" : "#ddd"}" stroke-width="${major ? 1.5 : 1}"/>`);
    parts.push(`<text x="${tx}" y="${height - 16}" text-anchor="middle">${tick.toFixed(2)}</text>`);
  }
  rows.forEach((row, index) => {
    const y = TOP + index * rowHeight;
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT + 4}" text-anchor="end">` +
      `${escapeXml(`${row.label} (${row.client})`)}</text>`);
    parts.push(bar(x, y, row.ratios.twinsanOverPeer, COLORS.peer));
    parts.push(bar(x, y + BAR_HEIGHT, row.ratios.twinsanOverLimit, COLORS.limit));
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function bar(x: (ratio: number) => number, y: number, ratio: number | null, color: string) {
  if (ratio === null) return "";
  const shown = Math.max(0, ratio);
  return `<rect x="${x(0)}" y="${y}" width="${x(shown) - x(0)}" height="${BAR_HEIGHT - 2}" ` +
    `fill="${color}"/><text x="${x(shown) + 4}" y="${y + BAR_HEIGHT - 3}">` +
    `${ratio.toFixed(2)}</text>`;
}

function legend(left: number, y: number): string {
  return `<rect x="${left}" y="${y - 9}" width="10" height="10" fill="${COLORS.peer}"/>` +
    `<text x="${left + 14}" y="${y}">twinsan / tgt</text>` +
    `<rect x="${left + 110}" y="${y - 9}" width="10" height="10" fill="${COLORS.limit}"/>` +
    `<text x="${left + 124}" y="${y}">twinsan / limit (fio on the file)</text>`;
}

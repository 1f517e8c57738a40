// The bench's chart: fan-out latency (p50 and p99) against subscribers, for
// evcomet and the reference, as a self-contained SVG.

interface Point { server: string; subscribers: number; p50: number; p99: number }

export function latencyChart(rows: readonly Point[]): string {
  const width = 640;
  const height = 400;
  const pad = { left: 60, right: 160, top: 30, bottom: 50 };
  const xs = [...new Set(rows.map((r) => r.subscribers))].sort((a, b) => a - b);
  const yMax = niceCeiling(Math.max(1, ...rows.map((r) => r.p99)));
  const x = (n: number) => pad.left + ((n - xs[0]!) / Math.max(1, xs.at(-1)! - xs[0]!)) * (width - pad.left - pad.right);
  const y = (ms: number) => height - pad.bottom - (ms / yMax) * (height - pad.top - pad.bottom);
  const series = [
    { server: 'evcomet', key: 'p50' as const, color: '#1f77b4', dash: '' },
    { server: 'evcomet', key: 'p99' as const, color: '#1f77b4', dash: '6 4' },
    { server: 'reference', key: 'p50' as const, color: '#d62728', dash: '' },
    { server: 'reference', key: 'p99' as const, color: '#d62728', dash: '6 4' },
  ];
  const parts: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const ms = (yMax * i) / 5;
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(ms)}" y2="${y(ms)}" stroke="#eee"/>`,
      `<text x="${pad.left - 8}" y="${y(ms) + 4}" text-anchor="end">${round(ms)}</text>`);
  }
  for (const n of xs) parts.push(`<text x="${x(n)}" y="${height - pad.bottom + 18}" text-anchor="middle">${n}</text>`);
  series.forEach((s, i) => {
    const points = rows.filter((r) => r.server === s.server).sort((a, b) => a.subscribers - b.subscribers);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}" points="${points.map((p) => `${x(p.subscribers)},${y(p[s.key])}`).join(' ')}"/>`);
    for (const p of points) parts.push(`<circle cx="${x(p.subscribers)}" cy="${y(p[s.key])}" r="3" fill="${s.color}"/>`);
    const ly = pad.top + 10 + i * 20;
    parts.push(`<line x1="${width - pad.right + 15}" x2="${width - pad.right + 45}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`,
      `<text x="${width - pad.right + 52}" y="${ly + 4}">${s.server} ${s.key}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.left}" y="18" font-size="14">Fan-out latency (ms) against SSE subscribers</text>
<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${height - pad.bottom}" stroke="#333"/>
<line x1="${pad.left}" x2="${width - pad.right}" y1="${height - pad.bottom}" y2="${height - pad.bottom}" stroke="#333"/>
<text x="${(pad.left + width - pad.right) / 2}" y="${height - 12}" text-anchor="middle">subscribers</text>
${parts.join('\n')}
</svg>
`;
}

function niceCeiling(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / step) * step;
}

const round = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(1));

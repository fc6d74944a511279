/** A small SVG line chart of recent values (0..max), newest on the right. */
export function Sparkline({
  values,
  max,
  label,
  capacity = 60,
  height = 48,
}: {
  values: number[];
  max: number;
  label: string;
  capacity?: number;
  height?: number;
}) {
  const width = 240;
  const top = Math.max(max, ...values, 1);
  const step = width / Math.max(1, capacity - 1);
  const offset = (capacity - values.length) * step;
  const points = values.map((v, i) => `${(offset + i * step).toFixed(1)},${(height - (v / top) * (height - 2) - 1).toFixed(1)}`);
  const area = points.length > 1 ? `M${points[0]} L${points.slice(1).join(' L')} L${width},${height} L${offset},${height} Z` : '';
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={label}>
      {area && <path d={area} className="sparkline-area" />}
      {points.length > 1 && <polyline points={points.join(' ')} className="sparkline-line" fill="none" />}
    </svg>
  );
}

import { useEffect, useState } from 'react';

/** Filter text and page of a paginated list; the filter reaches `query` after a short pause
 * (so typing does not fire a request per key) and sends the list back to page 1. */
export function useListQuery(debounceMs = 250) {
  const [filter, setFilter] = useState('');
  const [query, setQuery] = useState('');
  const [page, setPage] = useState(1);
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(filter.trim());
      setPage(1);
    }, debounceMs);
    return () => clearTimeout(t);
  }, [filter, debounceMs]);
  return { filter, setFilter, query, page, setPage };
}

export function SearchBox({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  return (
    <div className="toolbar">
      <label className="search">
        <span className="sr-only">{label}</span>
        <input type="search" placeholder="Filter by name…" value={value} onChange={(e) => onChange(e.target.value)} />
      </label>
    </div>
  );
}

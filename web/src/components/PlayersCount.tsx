import type { Players } from '../api';

/** "3 / 12" for a game that answered its query, "—" otherwise. */
export function playersCount(players: Players | null | undefined): string {
  return players ? `${players.online} / ${players.max}` : '—';
}

/** Most player names listed; the rest are counted. */
const MAX_NAMES = 16;

/** The players card of the server view: counts, map, version and names. */
export function PlayersCard({ players }: { players: Players | null | undefined }) {
  const names = players?.names ?? [];
  const more = names.length - MAX_NAMES;
  return (
    <div className="card stat">
      <div className="stat-label">Players</div>
      <div className="stat-value" data-testid="stat-players">
        {playersCount(players)}
      </div>
      {players && (players.map || players.version) && (
        <div className="muted" data-testid="stat-map">
          {[players.map && `Map ${players.map}`, players.version].filter(Boolean).join(' · ')}
        </div>
      )}
      {names.length > 0 && (
        <div className="muted" data-testid="stat-player-names">
          {names.slice(0, MAX_NAMES).join(', ')}
          {more > 0 && ` and ${more} more`}
        </div>
      )}
    </div>
  );
}

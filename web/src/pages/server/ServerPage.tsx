import { NavLink, Navigate, Route, Routes, useParams } from 'react-router';
import { api, normalizeStats, type Server } from '../../api';
import { ErrorMessage } from '../../components/ErrorMessage';
import { PlayersCard } from '../../components/PlayersCount';
import { PowerButtons } from '../../components/PowerButtons';
import { Sparkline } from '../../components/Sparkline';
import { Spinner } from '../../components/Spinner';
import { StateBadge } from '../../components/StateBadge';
import { serverAccess, type ServerTab } from '../../lib/access';
import { formatBytes, formatPercent, formatUptime } from '../../lib/format';
import { useApi } from '../../lib/useApi';
import { useServerLive, STATS_POINTS, type ServerLive } from '../../lib/useServerLive';
import { BackupsTab } from './BackupsTab';
import { ConsoleTab } from './ConsoleTab';
import { DatabasesTab } from './DatabasesTab';
import { FilesTab } from './FilesTab';
import { NetworkTab } from './NetworkTab';
import { SchedulesTab } from './SchedulesTab';
import { SettingsTab } from './SettingsTab';
import { SftpDetails } from './SftpDetails';
import { StartupTab } from './StartupTab';
import { SubusersTab } from './SubusersTab';

const TAB_LABELS: Record<ServerTab, string> = {
  console: 'Console',
  files: 'Files',
  backups: 'Backups',
  startup: 'Startup',
  network: 'Network',
  schedules: 'Schedules',
  databases: 'Databases',
  subusers: 'Subusers',
  settings: 'Settings',
};

function StatsRow({ server, live }: { server: Server; live: ServerLive }) {
  const s = live.stats ?? normalizeStats(server.stats);
  const memLimit = s?.memoryLimitBytes || server.limits.memoryMb * 1024 * 1024;
  const cpuMax = server.limits.cpuPercent > 0 ? server.limits.cpuPercent : 100;
  return (
    <div className="stats-row" aria-label="Resource use">
      <div className="card stat">
        <div className="stat-label">CPU</div>
        <div className="stat-value" data-testid="stat-cpu">
          {formatPercent(s?.cpuPercent)}
          <span className="muted"> / {server.limits.cpuPercent > 0 ? `${server.limits.cpuPercent}%` : '∞'}</span>
        </div>
        <Sparkline values={live.cpu} max={cpuMax} capacity={STATS_POINTS} label="CPU use over the last minute" />
      </div>
      <div className="card stat">
        <div className="stat-label">Memory</div>
        <div className="stat-value" data-testid="stat-memory">
          {formatBytes(s?.memoryBytes)}
          <span className="muted"> / {memLimit ? formatBytes(memLimit) : '∞'}</span>
        </div>
        <Sparkline values={live.memory} max={memLimit} capacity={STATS_POINTS} label="Memory use over the last minute" />
      </div>
      <div className="card stat">
        <div className="stat-label">Disk</div>
        <div className="stat-value">
          {formatBytes(s?.diskBytes)}
          <span className="muted"> / {server.limits.diskMb ? formatBytes(server.limits.diskMb * 1048576) : '∞'}</span>
        </div>
        <div className="stat-label" style={{ marginTop: 10 }}>
          Uptime
        </div>
        <div className="stat-value">{formatUptime(s?.uptimeSecs)}</div>
      </div>
      {s?.players && <PlayersCard players={s.players} />}
    </div>
  );
}

/** What went wrong, for a server that crashed or failed to install. */
function StateReason({ server, state }: { server: Server; state: Server['state'] }) {
  if (state !== 'crashed' && state !== 'install_failed') return null;
  const failedInstall = state === 'install_failed';
  // The REST view may lag the live state by a poll; only its own failure is explained.
  const known = server.state === state;
  return (
    <div className="alert alert-error" role="status" data-testid="state-reason">
      <div className="alert-body">
        <strong>{failedInstall ? 'The installation failed' : 'The server crashed'}</strong>
        {known && server.stateMessage && <span>: {server.stateMessage}</span>}
        {known && server.exitCode != null && <span className="muted"> (exit code {server.exitCode})</span>}
        {failedInstall && <span> Reinstall it (Settings) before starting it.</span>}
      </div>
    </div>
  );
}

export function ServerPage() {
  const { id = '' } = useParams();
  const server = useApi(() => api.servers.get(id), [id], 5000);
  const data = server.data;
  const access = data ? serverAccess(data) : null;
  const live = useServerLive(id, !!access?.tabs.includes('console'));

  if (server.loading && !data) return <Spinner label="Loading server" />;
  if (!data || !access) return <ErrorMessage error={server.error} />;

  const state = live.state ?? data.state;
  const current = { ...data, state };
  const first = access.tabs[0];

  return (
    <section className="page">
      <div className="server-head">
        <h1>{data.name}</h1>
        <StateBadge state={state} />
        <div style={{ marginLeft: 'auto' }}>
          <PowerButtons server={current} onDone={() => void server.reload()} />
        </div>
      </div>
      <div className="server-meta">
        <span>
          Address <code>{data.allocation ? `${data.allocation.ip}:${data.allocation.port}` : '—'}</code>
        </span>
        <span>Node {data.node?.name ?? '—'}</span>
        <span>Template {data.alt.name}</span>
        <span>Owner {data.owner.username}</span>
        {data.runsAs && (
          <span data-testid="runs-as">
            Runs as <code>{data.runsAs}</code>
          </span>
        )}
      </div>
      <ErrorMessage error={server.error} />
      <StateReason server={data} state={state} />
      <StatsRow server={data} live={live} />
      {access.sftp && <SftpDetails serverId={id} />}
      <nav className="tabs" aria-label="Server sections">
        {access.tabs.map((t) => (
          <NavLink key={t} to={t === 'console' ? `/servers/${id}` : `/servers/${id}/${t}`} end>
            {TAB_LABELS[t]}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route
          index
          element={
            access.tabs.includes('console') ? (
              <ConsoleTab live={live} canSend={access.sendCommand} />
            ) : first ? (
              <Navigate to={first} replace />
            ) : (
              <p className="muted">You can see this server's status, but nothing more.</p>
            )
          }
        />
        {access.tabs.includes('files') && <Route path="files" element={<FilesTab serverId={id} access={access} />} />}
        {access.tabs.includes('backups') && <Route path="backups" element={<BackupsTab serverId={id} access={access} />} />}
        {access.tabs.includes('startup') && (
          <Route
            path="startup"
            element={<StartupTab server={data} editable={access.editStartup} onChanged={() => void server.reload()} />}
          />
        )}
        {access.tabs.includes('network') && (
          <Route path="network" element={<NetworkTab serverId={id} canManage={access.manageNetwork} />} />
        )}
        {access.tabs.includes('schedules') && <Route path="schedules" element={<SchedulesTab serverId={id} />} />}
        {access.tabs.includes('databases') && (
          <Route
            path="databases"
            element={<DatabasesTab serverId={id} rights={{ create: access.createDatabases, remove: access.deleteDatabases }} />}
          />
        )}
        {access.tabs.includes('subusers') && <Route path="subusers" element={<SubusersTab serverId={id} />} />}
        {access.tabs.includes('settings') && (
          <Route path="settings" element={<SettingsTab server={data} access={access} onSaved={server.setData} />} />
        )}
        <Route path="*" element={<p className="muted">This section is not available to you.</p>} />
      </Routes>
    </section>
  );
}

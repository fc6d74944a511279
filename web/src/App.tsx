import { lazy, Suspense, type ComponentType } from 'react';
import { Route, Routes } from 'react-router';
import { AuthProvider } from './auth/AuthContext';
import { RequireAuth, RequirePermission } from './auth/RequireAuth';
import { Layout } from './components/Layout';
import { Spinner } from './components/Spinner';
import { DashboardPage } from './pages/DashboardPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';

// Heavier pages load on demand so signing in stays fast.
const ServerPage = lazy(() => import('./pages/server/ServerPage').then((m) => ({ default: m.ServerPage })));
const AccountPage = lazy(() => import('./pages/AccountPage').then((m) => ({ default: m.AccountPage })));
const Admin = {
  Servers: lazy(() => import('./pages/admin/AdminServersPage').then((m) => ({ default: m.AdminServersPage }))),
  CreateServer: lazy(() => import('./pages/admin/CreateServerPage').then((m) => ({ default: m.CreateServerPage }))),
  Nodes: lazy(() => import('./pages/admin/NodesPage').then((m) => ({ default: m.NodesPage }))),
  Templates: lazy(() => import('./pages/admin/TemplatesPage').then((m) => ({ default: m.TemplatesPage }))),
  Users: lazy(() => import('./pages/admin/UsersPage').then((m) => ({ default: m.UsersPage }))),
  UserDetail: lazy(() => import('./pages/admin/UserDetailPage').then((m) => ({ default: m.UserDetailPage }))),
  Monitoring: lazy(() => import('./pages/admin/MonitoringPage').then((m) => ({ default: m.MonitoringPage }))),
  Audit: lazy(() => import('./pages/admin/AuditPage').then((m) => ({ default: m.AuditPage }))),
  DatabaseHosts: lazy(() => import('./pages/admin/DatabaseHostsPage').then((m) => ({ default: m.DatabaseHostsPage }))),
  Backups: lazy(() => import('./pages/admin/BackupSettingsPage').then((m) => ({ default: m.BackupSettingsPage }))),
};

const ADMIN_ROUTES: { path: string; permission: string; Page: ComponentType }[] = [
  { path: 'admin/servers', permission: 'server:create', Page: Admin.Servers },
  { path: 'admin/servers/new', permission: 'server:create', Page: Admin.CreateServer },
  { path: 'admin/nodes', permission: 'admin:nodes', Page: Admin.Nodes },
  { path: 'admin/templates', permission: 'admin:templates', Page: Admin.Templates },
  { path: 'admin/users', permission: 'user:view', Page: Admin.Users },
  { path: 'admin/users/:id', permission: 'user:view', Page: Admin.UserDetail },
  { path: 'admin/monitoring', permission: 'monitoring:view', Page: Admin.Monitoring },
  { path: 'admin/audit', permission: 'admin:audit', Page: Admin.Audit },
  { path: 'admin/database-hosts', permission: 'admin:settings', Page: Admin.DatabaseHosts },
  { path: 'admin/backups', permission: 'admin:settings', Page: Admin.Backups },
];

export function App() {
  return (
    <AuthProvider>
      <Suspense fallback={<Spinner />}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route
            element={
              <RequireAuth>
                <Layout />
              </RequireAuth>
            }
          >
            <Route index element={<DashboardPage />} />
            <Route path="servers/:id/*" element={<ServerPage />} />
            <Route path="account" element={<AccountPage />} />
            {ADMIN_ROUTES.map(({ path, permission, Page }) => (
              <Route
                key={path}
                path={path}
                element={
                  <RequirePermission permission={permission}>
                    <Page />
                  </RequirePermission>
                }
              />
            ))}
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </Suspense>
    </AuthProvider>
  );
}

import { useEffect, useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { adminLinks } from '../lib/access';

/** The signed-in frame: top bar, navigation (admin links only with permission), content. */
export function Layout() {
  const { session, logout } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  const admin = adminLinks(session);
  const close = () => setMenuOpen(false);
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [menuOpen]);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="btn-icon menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="sidenav"
          aria-label="Menu"
          onClick={() => setMenuOpen((o) => !o)}
        >
          ☰
        </button>
        <NavLink to="/" className="brand" onClick={close}>
          <span className="brand-mark" aria-hidden="true">
            ▶
          </span>
          Ctrl-Alt-Play
        </NavLink>
        <div className="topbar-user">
          <NavLink to="/account" className="user-link" onClick={close}>
            {session?.user.username}
            <span className="tag">{session?.user.role}</span>
          </NavLink>
          <button type="button" className="btn btn-small" onClick={() => void logout()}>
            Sign out
          </button>
        </div>
      </header>
      <nav id="sidenav" className={menuOpen ? 'sidenav open' : 'sidenav'} aria-label="Main">
        <ul>
          <li>
            <NavLink to="/" end onClick={close}>
              Servers
            </NavLink>
          </li>
          <li>
            <NavLink to="/account" onClick={close}>
              Account
            </NavLink>
          </li>
        </ul>
        {admin.length > 0 && (
          <>
            <h2 className="nav-heading">Administration</h2>
            <ul data-testid="admin-nav">
              {admin.map((l) => (
                <li key={l.to}>
                  <NavLink to={l.to} onClick={close}>
                    {l.label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </>
        )}
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}

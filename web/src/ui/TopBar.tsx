import type { ComponentChildren } from 'preact'
import { useValue } from '../lib/signal'
import { api, navigate, session } from './app'

export function TopBar({ children }: { children?: ComponentChildren }) {
  const s = useValue(session)
  const link = (to: string, label: string) => (
    <a href={to} onClick={(e) => { e.preventDefault(); navigate(to) }} aria-current={location.pathname === to ? 'page' : undefined}>{label}</a>
  )
  return (
    <header class="topbar">
      <a class="brand" href="/" onClick={(e) => { e.preventDefault(); navigate('/') }}><span class="logo" aria-hidden="true">▲</span> VibeCode</a>
      <nav aria-label="Main">
        {link('/', 'Workspaces')}
        {link('/settings', 'Settings')}
      </nav>
      <div class="topbar-fill">{children}</div>
      {s && (
        <div class="user">
          <span class="user-name" title={s.user.email}>{s.user.name}</span>
          <button type="button" class="ghost" onClick={async () => { await api.logout(); navigate('/login') }}>Log out</button>
        </div>
      )}
    </header>
  )
}

// Small inline SVG icons (no icon font, no emoji: they render the same everywhere).
const P: Record<string, string> = {
  files: 'M4 3h7l2 2h7v14H4z M4 8h16',
  search: 'M10.5 4a6.5 6.5 0 1 1 0 13a6.5 6.5 0 0 1 0-13z M15.5 15.5 21 21',
  spark: 'M12 3l2 6 6 2-6 2-2 6-2-6-6-2 6-2z',
  newFile: 'M6 3h8l4 4v14H6z M14 3v4h4 M12 11v6 M9 14h6',
  newFolder: 'M3 6h7l2 2h9v11H3z M12 11v5 M9.5 13.5h5',
  refresh: 'M20 12a8 8 0 1 1-2.3-5.7 M20 4v5h-5',
  collapse: 'M4 4h16v16H4z M8 12h8',
  theme: 'M12 3a9 9 0 1 0 0 18z M12 3a9 9 0 0 1 0 18',
  terminal: 'M3 5h18v14H3z M7 9l3 3-3 3 M12 15h5',
  close: 'M6 6l12 12 M18 6 6 18',
  plus: 'M12 5v14 M5 12h14',
  gear: 'M12 8.5a3.5 3.5 0 1 1 0 7a3.5 3.5 0 0 1 0-7z M12 2v3 M12 19v3 M2 12h3 M19 12h3 M4.9 4.9l2.1 2.1 M17 17l2.1 2.1 M4.9 19.1 7 17 M17 7l2.1-2.1',
}

export type IconName = keyof typeof P

export function Icon({ name, size = 18 }: { name: IconName; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
      <path d={P[name]} />
    </svg>
  )
}

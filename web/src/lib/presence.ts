// Pure helpers of live collaboration: colours per user, the CSS that labels remote cursors,
// and the agent's document name for a file.

const COLORS = ['#e5484d', '#30a46c', '#0090ff', '#f76b15', '#8e4ec6', '#d6409f', '#12a594', '#ffb224', '#3e63dd', '#a18072']

/** A stable colour for a user id. */
export function colorFor(id: string): string {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return COLORS[h % COLORS.length]
}

/** A CSS string literal for `content:` (names are user input: quotes, backslashes and line breaks escaped). */
export function cssString(s: string): string {
  return '"' + s.replace(/[\\"]/g, '\\$&').replace(/[\n\r\f]/g, ' ').replace(/[<>]/g, '') + '"'
}

/** Only #rrggbb colours from other clients' awareness reach the style sheet. */
export function safeColor(c: unknown, fallbackId: string): string {
  return typeof c === 'string' && /^#[0-9a-f]{6}$/i.test(c) ? c : colorFor(fallbackId)
}

/** The rules that colour and label one remote client's cursor and selection (y-monaco classes). */
export function cursorCSS(clientId: number, name: string, color: string): string {
  const id = Math.trunc(clientId)
  return `.yRemoteSelection-${id}{background-color:${color}}.yRemoteSelectionHead-${id}{border-color:${color}}.yRemoteSelectionHead-${id}::after{content:${cssString(name)};background-color:${color}}`
}

/** The document name on the agent for a file: its path, each segment URL-escaped. */
export function roomFor(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

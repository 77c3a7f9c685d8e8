package terminal

import (
	"bytes"
	"strconv"
)

// This file holds the terminal-output scanner. xterm.js answers some escape sequences
// ("queries": cursor position ESC[6n, device attributes ESC[c, colour queries OSC 11;? …) by
// typing the answer into the terminal. Replaying recorded output that still contains them
// makes a reconnecting browser answer them again, long after the program that asked has gone,
// and the answers land at the shell prompt as garbage (Coder's known issue). Live, two
// attached browsers would both answer, and the second answer is garbage too.
//
// The scanner therefore produces two streams from the PTY output: full (everything) for the
// one client allowed to answer, and filtered (queries removed) for the scrollback ring and every
// other client. Both streams hold back an escape sequence until it is complete, so they are
// always at the same position and a client can switch from one to the other between chunks.
// It also tracks the few terminal modes a replay must restore (alternate screen, application
// cursor keys, mouse reporting, bracketed paste, cursor visibility, keypad mode).

type vtState uint8

const (
	stGround   vtState = iota
	stC2               // ground, after 0xC2: maybe the UTF-8 form of a C1 control
	stEsc              // after ESC
	stEscInter         // ESC and intermediate bytes
	stCSI              // control sequence: parameters, intermediates, final byte
	stOSC              // operating system command string
	stDCS              // device control string
	stString           // SOS, PM or APC string: never a query, passed through
)

// Caps on how much of a sequence is held back. Queries are short; anything longer (a big
// OSC 52 clipboard write, a sixel image) is passed through as it arrives.
const (
	maxHeldCSI    = 256
	maxHeldString = 512
)

// modeSet holds the tracked modes, one bit each (see trackedModes).
type modeSet uint32

// trackedModes are the DEC private modes a replay restores, with their power-on values. The
// alternate screen (47, 1047, 1049) is one bit, replayed as 1049. The last bit is the keypad
// application mode (ESC = / ESC >), which has no DEC private mode number.
var trackedModes = []struct {
	mode int
	def  bool
}{
	{1, false},    // application cursor keys (DECCKM)
	{25, true},    // cursor visible (DECTCEM)
	{1049, false}, // alternate screen
	{1000, false}, // mouse: button presses
	{1002, false}, // mouse: drags
	{1003, false}, // mouse: all motion
	{1004, false}, // focus events
	{1005, false}, // mouse: UTF-8 encoding
	{1006, false}, // mouse: SGR encoding
	{1015, false}, // mouse: urxvt encoding
	{2004, false}, // bracketed paste
	{-1, false},   // keypad application mode
}

const keypadBit = 11

// defaultModes are the power-on values of trackedModes.
var defaultModes = func() modeSet {
	var m modeSet
	for i, t := range trackedModes {
		if t.def {
			m |= 1 << i
		}
	}
	return m
}()

func modeBit(mode int) int {
	switch mode {
	case 47, 1047, 1049:
		return 2
	}
	for i, t := range trackedModes {
		if t.mode == mode {
			return i
		}
	}
	return -1
}

func (m modeSet) get(bit int) bool { return m&(1<<bit) != 0 }

func (m *modeSet) set(bit int, v bool) {
	if v {
		*m |= 1 << bit
	} else {
		*m &^= 1 << bit
	}
}

// appendModes appends the sequences that take a terminal whose modes are from to modes to.
func appendModes(dst []byte, from, to modeSet) []byte {
	for i, t := range trackedModes {
		if from.get(i) == to.get(i) {
			continue
		}
		if i == keypadBit {
			if to.get(i) {
				dst = append(dst, "\x1b="...)
			} else {
				dst = append(dst, "\x1b>"...)
			}
			continue
		}
		dst = append(dst, "\x1b[?"...)
		dst = strconv.AppendInt(dst, int64(t.mode), 10)
		if to.get(i) {
			dst = append(dst, 'h')
		} else {
			dst = append(dst, 'l')
		}
	}
	return dst
}

// vtFilter is the streaming scanner. It is not safe for concurrent use; each session's output
// pump owns one.
type vtFilter struct {
	st   vtState
	hold bool   // seq is held back, not yet emitted
	seq  []byte // the current sequence's bytes while held
	// stringDropped: the string just ended by an ESC was a dropped query, so a following
	// "\" (completing its ESC \ terminator) is dropped with it.
	stringDropped bool
	sawC2         bool // in a string: the previous byte was 0xC2 (maybe the start of C1 ST)

	modes modeSet
	// seen and first record, per mode, whether the mode has been set or reset and to what it
	// was set first; replay uses them to work out the modes in force where a replay starts.
	seen, first modeSet

	full, filt []byte // output buffers, reused between Feed calls
}

func newVTFilter() *vtFilter {
	return &vtFilter{modes: defaultModes}
}

// special reports the bytes that can start something the filter must look at in ground state.
func special(p []byte) int {
	i := bytes.IndexByte(p, 0x1b)
	j := bytes.IndexByte(p, 0xc2)
	switch {
	case i < 0:
		return j
	case j < 0 || i < j:
		return i
	default:
		return j
	}
}

// Feed scans the next chunk of output and returns the full and the filtered stream for it.
// Both may alias p or the filter's buffers and are valid only until the next Feed.
func (f *vtFilter) Feed(p []byte) (full, filt []byte) {
	if f.st == stGround && special(p) < 0 {
		return p, p
	}
	f.full, f.filt = f.full[:0], f.filt[:0]
	for i := 0; i < len(p); i++ {
		if f.st == stGround {
			j := special(p[i:])
			if j < 0 {
				f.emit(p[i:])
				break
			}
			f.emit(p[i : i+j])
			i += j
			if p[i] == 0x1b {
				f.begin(stEsc, 0x1b)
			} else {
				f.begin(stC2, 0xc2)
			}
			continue
		}
		if f.step(p[i]) {
			i-- // the byte ended a sequence without belonging to it: rescan it in ground
		}
	}
	return f.full, f.filt
}

// Flush returns (and forgets) a held-back incomplete sequence, for the end of a replay.
func (f *vtFilter) Flush() []byte {
	if !f.hold {
		return nil
	}
	out := append([]byte(nil), f.seq...)
	f.seq, f.hold, f.st = f.seq[:0], false, stGround
	return out
}

func (f *vtFilter) emit(b []byte) {
	f.full = append(f.full, b...)
	f.filt = append(f.filt, b...)
}

func (f *vtFilter) begin(st vtState, b ...byte) {
	f.st, f.hold = st, true
	f.seq = append(f.seq[:0], b...)
	f.sawC2 = false
}

// add appends b to the current sequence, releasing it once it outgrows its hold cap.
func (f *vtFilter) add(b byte, max int) {
	if !f.hold {
		f.full = append(f.full, b)
		f.filt = append(f.filt, b)
		return
	}
	f.seq = append(f.seq, b)
	if len(f.seq) > max {
		f.emit(f.seq)
		f.seq, f.hold = f.seq[:0], false
	}
}

// finish ends the current sequence: a query goes to the full stream only.
func (f *vtFilter) finish(query bool) {
	if f.hold {
		if query {
			f.full = append(f.full, f.seq...)
		} else {
			f.emit(f.seq)
		}
	}
	f.seq, f.hold, f.st = f.seq[:0], false, stGround
}

// abort ends the current sequence as not-a-query (it was cut short).
func (f *vtFilter) abort() { f.finish(false) }

// step advances a non-ground state by one byte. It reports true when b must be rescanned in
// ground state.
func (f *vtFilter) step(b byte) (rescan bool) {
	switch f.st {
	case stC2:
		switch b {
		case 0x9b: // CSI
			f.seq = append(f.seq, b)
			f.st = stCSI
		case 0x9d: // OSC
			f.seq = append(f.seq, b)
			f.st = stOSC
		case 0x90: // DCS
			f.seq = append(f.seq, b)
			f.st = stDCS
		case 0x98, 0x9e, 0x9f: // SOS, PM, APC
			f.seq = append(f.seq, b)
			f.emit(f.seq)
			f.seq, f.hold, f.st = f.seq[:0], false, stString
		default: // a plain character (or a C1 control we do not care about)
			f.abort()
			return true
		}
	case stEsc:
		return f.stepEsc(b)
	case stEscInter:
		switch {
		case b >= 0x20 && b <= 0x2f:
			f.add(b, maxHeldCSI)
		case b >= 0x30 && b <= 0x7e:
			f.add(b, maxHeldCSI)
			f.finish(false)
		default:
			return f.interrupt(b)
		}
	case stCSI:
		switch {
		case b >= 0x20 && b <= 0x3f, b == 0x7f:
			f.add(b, maxHeldCSI)
		case b >= 0x40 && b <= 0x7e:
			if !f.hold {
				f.add(b, maxHeldCSI)
				f.finish(false)
				return false
			}
			f.seq = append(f.seq, b)
			f.finish(f.dispatchCSI(f.seq[2:]))
		default:
			return f.interrupt(b)
		}
	case stOSC, stDCS, stString:
		f.stepString(b)
	}
	return false
}

// interrupt handles a byte that cuts an ESC or CSI sequence short.
func (f *vtFilter) interrupt(b byte) (rescan bool) {
	switch {
	case b == 0x1b:
		f.abort()
		f.begin(stEsc, 0x1b)
	case b == 0x18 || b == 0x1a: // CAN, SUB: cancel
		f.add(b, maxHeldCSI)
		f.abort()
	case b < 0x20: // other C0 controls execute in the middle of a sequence
		f.add(b, maxHeldCSI)
	default: // 0x80 and above: not part of a sequence
		f.abort()
		return true
	}
	return false
}

func (f *vtFilter) stepEsc(b byte) (rescan bool) {
	dropST := f.stringDropped
	f.stringDropped = false
	switch {
	case b == '[':
		f.seq = append(f.seq, b)
		f.st = stCSI
	case b == ']':
		f.seq = append(f.seq, b)
		f.st = stOSC
		f.sawC2 = false
	case b == 'P':
		f.seq = append(f.seq, b)
		f.st = stDCS
		f.sawC2 = false
	case b == 'X' || b == '^' || b == '_':
		f.seq = append(f.seq, b)
		f.emit(f.seq)
		f.seq, f.hold, f.st, f.sawC2 = f.seq[:0], false, stString, false
	case b == '\\': // ST, the end of a string already dispatched
		f.seq = append(f.seq, b)
		f.finish(dropST)
	case b == 'Z': // DECID: identify terminal, answered like DA
		f.seq = append(f.seq, b)
		f.finish(true)
	case b == 'c': // RIS: full reset
		f.seq = append(f.seq, b)
		f.reset()
		f.finish(false)
	case b == '=' || b == '>':
		f.seq = append(f.seq, b)
		f.observe(keypadBit, b == '=')
		f.finish(false)
	case b >= 0x20 && b <= 0x2f:
		f.seq = append(f.seq, b)
		f.st = stEscInter
	case b >= 0x30 && b <= 0x7e:
		f.seq = append(f.seq, b)
		f.finish(false)
	default:
		return f.interrupt(b)
	}
	return false
}

// stepString advances OSC, DCS and SOS/PM/APC strings. They end with BEL (OSC only), ESC \,
// the C1 ST (0xC2 0x9C in UTF-8), or ESC followed by anything (which also starts a new
// sequence); CAN and SUB cancel them.
func (f *vtFilter) stepString(b byte) {
	switch {
	case b == 0x07 && f.st == stOSC:
		query := f.hold && oscQuery(f.seq[2:])
		f.add(b, 1<<30)
		f.finish(query)
	case b == 0x1b:
		query := f.hold && f.stringQuery(f.seq[2:])
		f.finish(query)
		f.begin(stEsc, 0x1b)
		f.stringDropped = query
	case b == 0x18 || b == 0x1a:
		f.add(b, 1<<30)
		f.abort()
	case b == 0x9c && f.sawC2:
		query := f.hold && f.stringQuery(f.seq[2:len(f.seq)-1])
		f.add(b, 1<<30)
		f.finish(query)
	default:
		f.sawC2 = b == 0xc2
		if f.st == stString {
			f.add(b, 0)
		} else {
			f.add(b, maxHeldString)
		}
	}
}

func (f *vtFilter) stringQuery(body []byte) bool {
	switch f.st {
	case stOSC:
		return oscQuery(body)
	case stDCS:
		return dcsQuery(body)
	}
	return false
}

// oscQuery reports OSC strings that make xterm answer: any field after the command number
// that is exactly "?" (OSC 4;n;? palette, 10/11/12;? colours, 52;c;? clipboard read, …).
func oscQuery(body []byte) bool {
	fields := bytes.Split(body, []byte{';'})
	for _, fl := range fields[1:] {
		if len(fl) == 1 && fl[0] == '?' {
			return true
		}
	}
	return false
}

// dcsQuery reports DECRQSS (DCS $ q) and XTGETTCAP (DCS + q).
func dcsQuery(body []byte) bool {
	i := 0
	for i < len(body) && body[i] >= 0x30 && body[i] <= 0x3f {
		i++
	}
	j := i
	for j < len(body) && body[j] >= 0x20 && body[j] <= 0x2f {
		j++
	}
	if j >= len(body) || body[j] != 'q' {
		return false
	}
	inter := string(body[i:j])
	return inter == "$" || inter == "+"
}

// dispatchCSI handles a complete control sequence (body: parameters, intermediates and the
// final byte): it records mode changes and reports whether the sequence is a query.
func (f *vtFilter) dispatchCSI(body []byte) (query bool) {
	final := body[len(body)-1]
	body = body[:len(body)-1]
	var marker byte
	if len(body) > 0 && body[0] >= '<' && body[0] <= '?' {
		marker, body = body[0], body[1:]
	}
	k := len(body)
	for k > 0 && body[k-1] >= 0x20 && body[k-1] <= 0x2f {
		k--
	}
	params, inter := body[:k], string(body[k:])
	switch final {
	case 'h', 'l':
		if marker == '?' && inter == "" {
			for _, p := range bytes.Split(params, []byte{';'}) {
				if n, err := strconv.Atoi(string(p)); err == nil {
					if bit := modeBit(n); bit >= 0 {
						f.observe(bit, final == 'h')
					}
				}
			}
		}
		return false
	case 'p':
		if marker == 0 && inter == "!" { // DECSTR soft reset
			f.observe(0, false)
			f.observe(1, true)
			f.observe(keypadBit, false)
			return false
		}
		return inter == "$" // DECRQM: request mode (ANSI or DEC private)
	case 'n': // DSR and DECDSR; "CSI > Ps n" is a key-modifier setting, not a query
		return marker != '>'
	case 'c': // DA1, DA2, DA3
		return inter == ""
	case 'x': // DECREQTPARM
		return marker == 0 && inter == ""
	case 'w': // DECRQPSR
		return inter == "$"
	case 'y': // DECRQCRA
		return inter == "*"
	case 't': // window reports (XTWINOPS 11, 13–16, 18–21); 22/23 push and pop titles
		if marker != 0 || inter != "" {
			return false
		}
		first, _, _ := bytes.Cut(params, []byte{';'})
		switch string(first) {
		case "11", "13", "14", "15", "16", "18", "19", "20", "21":
			return true
		}
		return false
	case 'q': // XTVERSION (CSI > q); CSI Ps SP q sets the cursor style
		return marker == '>' && inter == ""
	case 'u': // kitty keyboard protocol flags query
		return marker == '?' && inter == ""
	case 'S': // XTSMGRAPHICS always answers
		return marker == '?' && inter == ""
	case 'm': // XTQMODKEYS
		return marker == '?' && inter == ""
	}
	return false
}

func (f *vtFilter) observe(bit int, v bool) {
	f.modes.set(bit, v)
	if !f.seen.get(bit) {
		f.seen.set(bit, true)
		f.first.set(bit, v)
	}
}

// reset handles RIS: every mode returns to its power-on value. For the replay's bookkeeping a
// mode first met at a reset counts as having been at its default before (what came before a
// reset no longer shows).
func (f *vtFilter) reset() {
	for i := range trackedModes {
		if !f.seen.get(i) {
			f.seen.set(i, true)
			f.first.set(i, !defaultModes.get(i))
		}
	}
	f.modes = defaultModes
}

// safeStart returns where a replay of a ring that has lost its beginning may start: after the
// first line feed, unless something that ends or starts an escape sequence comes first (a BEL
// or ST ends a string the ring may have started inside; an ESC starts a new sequence). Without
// any of them it skips UTF-8 continuation bytes, so the replay starts on a character.
func safeStart(b []byte) int {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\n', 0x07:
			return i + 1
		case 0x1b:
			if i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
			return i
		case 0xc2:
			if i+1 < len(b) && b[i+1] == 0x9c {
				return i + 2
			}
		}
	}
	i := 0
	for i < len(b) && i < 3 && b[i]&0xc0 == 0x80 {
		i++
	}
	return i
}

// buildReplay turns a scrollback snapshot into the bytes a (re)connecting client is sent:
// queries removed (again: restored scrollback may predate the filter), started at a safe
// boundary when the ring has wrapped, preceded by the sequences that restore the modes in
// force at that point (worked out from the first change of each mode inside the replay; modes
// the replay never changes are as they are now, cur). An unfinished sequence at the end stays:
// live output continues it.
func buildReplay(snapshot []byte, wrapped bool, cur modeSet) []byte {
	if wrapped {
		snapshot = snapshot[safeStart(snapshot):]
	}
	f := newVTFilter()
	_, filt := f.Feed(snapshot)
	out := make([]byte, 0, len(filt)+64)
	if wrapped {
		start := (cur &^ f.seen) | (^f.first & f.seen)
		out = appendModes(out, defaultModes, start)
	}
	out = append(out, filt...)
	return append(out, f.Flush()...)
}

// restoreSuffix is appended to scrollback restored into a fresh shell: it cancels any
// unfinished sequence, resets colours and the modes the old program left on (a fresh shell
// is not in vim's alternate screen), and starts a new line for the new prompt.
func restoreSuffix(modes modeSet) []byte {
	out := []byte("\x18\x1b[0m")
	out = appendModes(out, modes, defaultModes)
	return append(out, "\r\n"...)
}

package yjs

import "unicode/utf8"

// Yjs measures text in UTF-16 code units because JavaScript strings are
// UTF-16; Go strings are UTF-8. The document keeps string content as UTF-16
// code units so that lengths, clocks and split offsets match yjs exactly, and
// converts at the edges.

func isHighSurrogate(u uint16) bool { return u >= 0xd800 && u <= 0xdbff }
func isLowSurrogate(u uint16) bool  { return u >= 0xdc00 && u <= 0xdfff }

// utf16FromString converts UTF-8 to UTF-16 code units. Invalid UTF-8 bytes
// become U+FFFD, one per byte, as in a Go range loop.
func utf16FromString(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, uint16(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
		} else {
			out = append(out, uint16(r))
		}
	}
	return out
}

// utf16FromValidUTF8 is utf16FromString for bytes already checked to be valid.
func utf16FromValidUTF8(b []byte) []uint16 {
	out := make([]uint16, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, uint16(c))
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
		} else {
			out = append(out, uint16(r))
		}
	}
	return out
}

// utf8LenOfUTF16 returns the UTF-8 length of UTF-16 code units, counting each
// lone surrogate as U+FFFD (3 bytes).
func utf8LenOfUTF16(s []uint16) int {
	n := 0
	for i := 0; i < len(s); i++ {
		u := s[i]
		switch {
		case u < 0x80:
			n++
		case u < 0x800:
			n += 2
		case isHighSurrogate(u) && i+1 < len(s) && isLowSurrogate(s[i+1]):
			n += 4
			i++
		default:
			n += 3
		}
	}
	return n
}

// appendUTF8FromUTF16 appends the UTF-8 form of UTF-16 code units; lone
// surrogates become U+FFFD like TextEncoder does.
func appendUTF8FromUTF16(dst []byte, s []uint16) []byte {
	for i := 0; i < len(s); i++ {
		u := s[i]
		switch {
		case u < 0x80:
			dst = append(dst, byte(u))
		case isHighSurrogate(u) && i+1 < len(s) && isLowSurrogate(s[i+1]):
			r := (rune(u)-0xd800)<<10 + (rune(s[i+1]) - 0xdc00) + 0x10000
			dst = utf8.AppendRune(dst, r)
			i++
		case u >= 0xd800 && u <= 0xdfff:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		default:
			dst = utf8.AppendRune(dst, rune(u))
		}
	}
	return dst
}

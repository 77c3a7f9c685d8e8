package localembed

// stem reduces an English word or identifier part to a crude stem, so that the inflected
// words of a query ("reads", "copies", "buffered") meet the bare words code is written in
// ("Read", "copy", "buffer"). It is a light, Porter-like suffix stripper, not a linguist:
// it only has to map the forms of one word to the same string, and a few unrelated words
// landing together costs little next to the hits it brings. Words of up to three letters
// are left alone (they are mostly abbreviations: "err", "buf", "len").
func stem(w string) string {
	if len(w) <= 3 || !isASCIILower(w) {
		return w
	}
	// Plurals and third-person -s.
	switch {
	case hasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case hasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case hasSuffix(w, "ches"), hasSuffix(w, "shes"), hasSuffix(w, "xes"), hasSuffix(w, "zes"):
		w = w[:len(w)-2]
	case hasSuffix(w, "ss"), hasSuffix(w, "us"), hasSuffix(w, "is"):
	case hasSuffix(w, "s"):
		w = w[:len(w)-1]
	}
	// One derivational or verbal suffix: -ing, -ed, -er, -ly.
	for _, suf := range [...]string{"ing", "ed", "er", "ly"} {
		if hasSuffix(w, suf) {
			base := w[:len(w)-len(suf)]
			if (len(base) >= 3 || len(base) == 2 && (suf == "ed" || suf == "ing")) && hasVowel(base) {
				w = undouble(base)
			}
			break
		}
	}
	// A trailing e is dropped everywhere, so "write", "writes" and "writing" (→ "writ")
	// agree without having to guess where to put it back.
	if len(w) > 3 && w[len(w)-1] == 'e' {
		w = w[:len(w)-1]
	}
	if len(w) > 3 && w[len(w)-1] == 'y' {
		w = w[:len(w)-1] + "i"
	}
	return w
}

// undouble removes a doubled final consonant left by -ing/-ed ("stopped" → "stop"), except
// the l, s and z that English keeps doubled ("called" → "call", "passed" → "pass").
func undouble(w string) string {
	n := len(w)
	if n >= 2 && w[n-1] == w[n-2] && !isVowel(w[n-1]) {
		switch w[n-1] {
		case 'l', 's', 'z':
			return w
		}
		return w[:n-1]
	}
	return w
}

func hasSuffix(s, suf string) bool {
	return len(s) >= len(suf) && s[len(s)-len(suf):] == suf
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func hasVowel(s string) bool {
	for i := 0; i < len(s); i++ {
		if isVowel(s[i]) {
			return true
		}
	}
	return false
}

func isASCIILower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

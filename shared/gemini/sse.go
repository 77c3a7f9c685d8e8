package gemini

// maxEventBytes bounds one SSE line and one event's data. Gemini's events are a few kilobytes at most; anything near this is a broken or hostile upstream.
const maxEventBytes = 1 << 20

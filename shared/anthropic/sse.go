package anthropic

// maxEventBytes bounds one SSE line and one event's data. Anthropic's events are a few hundred bytes; anything near this is a broken or hostile upstream.
const maxEventBytes = 1 << 20

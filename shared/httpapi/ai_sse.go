package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/domain"
)

// aiDoneEvent is the final event of an AI stream: how the request went, and for workspace chat
// the citations and the sources they map to. Its cost_usd is the X-AI-Cost-USD a JSON
// answer carries as a header: a stream's headers are gone by the time the cost is known.
type aiDoneEvent struct {
	aigateway.Result
	Citations []aigateway.Citation `json:"citations,omitempty"`
	Sources   []aigateway.Source   `json:"sources,omitempty"`
}

type aiDeltaEvent struct {
	Delta string `json:"delta"`
}

// sseWriter writes Server-Sent Events, flushing each one so tokens reach the client as they
// arrive (through the middleware's writer wrappers, by http.ResponseController).
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte
}

// startSSE sends the headers of an event stream for s: the answering provider and model are
// known (the first token is in), the cost is not, so it is announced as a trailer and sent
// in the final event.
func startSSE(w http.ResponseWriter, s *aigateway.Stream) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-AI-Provider", s.Provider())
	h.Set("X-AI-Model", s.Model())
	h.Set("X-AI-Cached", strconv.FormatBool(s.Cached()))
	h.Set("Trailer", "X-AI-Cost-USD")
	w.WriteHeader(http.StatusOK)
	e := &sseWriter{w: w, rc: http.NewResponseController(w)}
	_ = e.rc.Flush()
	return e
}

// event writes one event and flushes it; an error means the client is gone.
func (e *sseWriter) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.buf = append(e.buf[:0], "event: "...)
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, "\ndata: "...)
	e.buf = append(e.buf, data...)
	e.buf = append(e.buf, "\n\n"...)
	if _, err := e.w.Write(e.buf); err != nil {
		return err
	}
	return e.rc.Flush()
}

// pump streams s to the client: a delta event per token batch, then the final "done" event
// (finish.. extended by final, when given), or an "error" event if the stream fails after it
// started. A client that goes away ends the loop; closing s then cancels the upstream request
// and records the request as cancelled.
func (a *AIAPI) pump(w http.ResponseWriter, r *http.Request, s *aigateway.Stream, final func(*aiDoneEvent)) error {
	defer s.Close()
	out := startSSE(w, s)
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if r.Context().Err() != nil {
				return nil // the client is gone; there is no one to tell
			}
			code := domain.ErrorCode(err)
			if statusOf(code) >= 500 {
				a.log.WarnContext(r.Context(), "ai stream failed", "path", r.URL.Path, "err", err)
			}
			_ = out.event("error", errorBody{Error: errorDetail{Code: code, Message: domain.ErrorMessage(err)}})
			return nil
		}
		if ev.Delta != "" {
			if out.event("delta", aiDeltaEvent{Delta: ev.Delta}) != nil {
				return nil
			}
		}
		if ev.FinishReason != "" {
			done := aiDoneEvent{Result: s.Result()}
			if final != nil {
				final(&done)
			}
			w.Header().Set("X-AI-Cost-USD", formatCost(done.CostUSD))
			if out.event("done", done) != nil {
				return nil
			}
		}
	}
}

// setResultHeaders sets the headers of a JSON AI answer.
func setResultHeaders(h http.Header, res aigateway.Result) {
	h.Set("X-AI-Provider", res.Provider)
	h.Set("X-AI-Model", res.Model)
	h.Set("X-AI-Cached", strconv.FormatBool(res.Cached))
	h.Set("X-AI-Cost-USD", formatCost(res.CostUSD))
}

func formatCost(v float64) string { return strconv.FormatFloat(v, 'f', 8, 64) }

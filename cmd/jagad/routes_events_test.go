package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// eventsCases checks GET /api/events through the daemon: it needs a
// session, answers an event stream, and starts with the progress of the
// running jobs (a JSON array).
func eventsCases() []routeCase {
	return []routeCase{
		{"GET /api/events", func(t *testing.T, w *routeWorld) {
			if code, _, b := w.send(t, "GET", "/api/events", "", nil); code != http.StatusUnauthorized {
				t.Fatalf("without a session: %d %s", code, b)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", w.base+"/api/events", nil)
			req.Header.Set("Authorization", "Bearer "+w.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("GET /api/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var jobs []map[string]any
					if err := json.Unmarshal([]byte(data), &jobs); err != nil {
						t.Fatalf("first event's data %q: %v", data, err)
					}
					return
				}
			}
			t.Fatalf("stream ended without an event: %v", sc.Err())
		}},
	}
}

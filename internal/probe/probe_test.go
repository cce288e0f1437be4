package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/duration"
)

func TestRunner(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Host != "shop.example.com" {
				w.WriteHeader(http.StatusMisdirectedRequest)
				return
			}
			_, _ = w.Write([]byte("status: ok"))
		case "/flaky":
			if calls.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok"))
		case "/slow":
			time.Sleep(50 * time.Millisecond)
			_, _ = w.Write([]byte("ok"))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	r := Runner{RetryDelay: time.Millisecond}
	res := r.Run(context.Background(), []Probe{
		{Name: "host", URL: srv.URL + "/ok", Host: "shop.example.com", ExpectStatus: 200, BodyContains: "ok"},
		{Name: "flaky", URL: srv.URL + "/flaky", ExpectStatus: 200, Retries: 3},
		{Name: "down", URL: srv.URL + "/down", ExpectStatus: 200, Retries: 1},
		{Name: "body", URL: srv.URL + "/ok", Host: "shop.example.com", ExpectStatus: 200, BodyContains: "healthy"},
		{Name: "slow", URL: srv.URL + "/slow", ExpectStatus: 200, MaxLatency: duration.Duration(time.Millisecond)},
	})
	want := []struct {
		passed   bool
		attempts int
		msg      string
	}{
		{true, 1, ": 200 in"},
		{true, 3, ": 200 in"},
		{false, 2, "status 503, want 200"},
		{false, 1, `body does not contain "healthy"`},
		{false, 1, "more than 1ms"},
	}
	for i, w := range want {
		got := res[i]
		if got.Passed != w.passed || got.Attempts != w.attempts || !strings.Contains(got.Message, w.msg) {
			t.Errorf("probe %s = %+v, want passed=%v attempts=%d message containing %q", got.Name, got, w.passed, w.attempts, w.msg)
		}
	}
}

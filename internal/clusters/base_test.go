package clusters

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestNewBaseCompletesTheSettings(t *testing.T) {
	built := 0
	factory := func(cfg *rest.Config) (string, error) { built++; return cfg.Host, nil }
	defaults := DefaultSettings(factory, 5*time.Second)
	if defaults.ClientTTL != DefaultClientTTL || defaults.Logger == nil || defaults.Now == nil {
		t.Fatalf("defaults %+v", defaults)
	}
	logger := slog.New(slog.DiscardHandler)
	// What options may leave behind: a nil factory and clock, no poll.
	s := Settings[string]{ClientTTL: time.Minute, Logger: logger}
	r := &countingResolver{}
	b := NewBase("kube", "clients", r, &s, defaults)
	if s.Factory == nil || s.Now == nil || s.Poll != 5*time.Second || s.ClientTTL != time.Minute || s.Logger != logger {
		t.Fatalf("settings not completed: %+v", s)
	}
	ref := Ref{Name: "green", Region: "eu-west-1"}
	for i := 0; i < 2; i++ {
		c, cfg, err := b.Clients(context.Background(), ref)
		if err != nil || c != "https://green" || cfg == nil {
			t.Fatalf("Clients = %q, %v, %v", c, cfg, err)
		}
	}
	if built != 1 || r.count(ref) != 1 {
		t.Fatalf("built %d clients, resolved %d times; want 1 and 1 (cached for the TTL)", built, r.count(ref))
	}
	if got := b.Log(context.Background()); got != activitylog.Logger(logger) {
		t.Errorf("Log outside an activity = %v, want the settings' logger", got)
	}
	none := NewBase("argocd", "client", nil, &Settings[string]{}, defaults)
	if _, _, err := none.Clients(context.Background(), ref); !failures.Is(err, failures.NotImplemented) {
		t.Errorf("without a resolver: %v, want NotImplemented", err)
	}
}

package fakeworld

import (
	"context"
	"sync"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The fake world's record is a weighted pair unless SetPlainRecord made it
// a simple record; ConvertToWeighted and ConvertToSimple switch between the
// two and remember where the simple record points.
var (
	plainMu sync.Mutex
	plain   = map[*World]*plainRecord{}
)

type plainRecord struct {
	simple bool
	at     string // "blue" or "green"
}

// SetPlainRecord makes blue's record a simple record (pointing at blue).
func (w *World) SetPlainRecord() {
	plainMu.Lock()
	defer plainMu.Unlock()
	plain[w] = &plainRecord{simple: true, at: "blue"}
}

// PlainRecordAt says where the simple record points ("" while the record
// is a weighted pair).
func (w *World) PlainRecordAt() string {
	plainMu.Lock()
	defer plainMu.Unlock()
	if p := plain[w]; p != nil && p.simple {
		return p.at
	}
	return ""
}

// ConvertToWeighted implements the traffic activity.
func (a *Activities) ConvertToWeighted(_ context.Context, t traffic.Target) (traffic.ConvertResult, error) {
	if err := a.w.record("ConvertToWeighted", t); err != nil {
		return traffic.ConvertResult{}, err
	}
	plainMu.Lock()
	defer plainMu.Unlock()
	p := plain[a.w]
	if t.Provider != traffic.ProviderRoute53 || p == nil || !p.simple {
		return traffic.ConvertResult{AlreadyWeighted: true}, nil
	}
	p.simple = false
	a.w.mu.Lock()
	a.w.weights = traffic.Weights{Blue: 100}
	delete(a.w.byRecord, t.Route53.RecordName)
	a.w.mu.Unlock()
	return traffic.ConvertResult{Converted: true, Original: &traffic.PlainRecord{TTL: 300, Values: []string{"blue-lb.example.com"}},
		Change: traffic.Change{Provider: traffic.ProviderRoute53, ID: "/change/C-PLAIN", Weights: traffic.Weights{Blue: 100}}}, nil
}

// ConvertToSimple implements the traffic activity.
func (a *Activities) ConvertToSimple(_ context.Context, in traffic.ToSimpleInput) (traffic.Change, error) {
	if err := a.w.record("ConvertToSimple", in); err != nil {
		return traffic.Change{}, err
	}
	if in.To != "blue" && in.To != "green" {
		return traffic.Change{}, failures.New(failures.InvalidParameter, "convert to simple: to must be blue or green, got %q", in.To)
	}
	plainMu.Lock()
	defer plainMu.Unlock()
	p := plain[a.w]
	if p == nil {
		p = &plainRecord{}
		plain[a.w] = p
	}
	if p.simple {
		return traffic.Change{Provider: traffic.ProviderRoute53, Noop: true}, nil
	}
	p.simple, p.at = true, in.To
	w := traffic.Weights{Blue: 100}
	if in.To == "green" {
		w = traffic.Weights{Green: 100}
	}
	return traffic.Change{Provider: traffic.ProviderRoute53, ID: "/change/C-SIMPLE", Weights: w}, nil
}

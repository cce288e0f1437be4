package fakeworld

import (
	"context"
	"slices"
	"sync"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/finding"
)

// The traffic prerequisites of the fake world: everything the spec's
// traffic section names exists, whatever the spec says, unless a test
// sets the findings CheckTrafficPrerequisites reports.

var (
	trafficCheckMu  sync.Mutex
	trafficFindings = map[*World][]finding.Finding{}
)

// SetTrafficFindings makes CheckTrafficPrerequisites report fs (nil: none).
func (w *World) SetTrafficFindings(fs []finding.Finding) {
	trafficCheckMu.Lock()
	defer trafficCheckMu.Unlock()
	if fs == nil {
		delete(trafficFindings, w)
		return
	}
	trafficFindings[w] = slices.Clone(fs)
}

// CheckTrafficPrerequisites implements the traffic activity: the findings
// set with SetTrafficFindings, none by default.
func (a *Activities) CheckTrafficPrerequisites(_ context.Context, in traffic.CheckInput) (traffic.CheckResult, error) {
	if err := a.w.record("CheckTrafficPrerequisites", in); err != nil {
		return traffic.CheckResult{}, err
	}
	trafficCheckMu.Lock()
	defer trafficCheckMu.Unlock()
	return traffic.CheckResult{Findings: slices.Clone(trafficFindings[a.w])}, nil
}

package activitylog

import (
	"context"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

type progress struct {
	Step  string `json:"step"`
	Polls int    `json:"polls"`
}

// resumed is what an activity read back with Resume.
type resumed struct {
	Progress progress
	OK       bool
	List     []string
	ListOK   bool
}

func runResume(t *testing.T, details any) resumed {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	if details != nil {
		env.SetHeartbeatDetails(details)
	}
	env.RegisterActivityWithOptions(func(ctx context.Context) (resumed, error) {
		var r resumed
		r.Progress, r.OK = Resume[progress](ctx)
		r.List, r.ListOK = Resume[[]string](ctx)
		return r, nil
	}, activity.RegisterOptions{Name: "Resumes"})
	v, err := env.ExecuteActivity("Resumes")
	if err != nil {
		t.Fatal(err)
	}
	var r resumed
	if err := v.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResume(t *testing.T) {
	if p, ok := Resume[progress](context.Background()); ok || p != (progress{}) {
		t.Errorf("outside an activity: %+v, %v; want nothing", p, ok)
	}
	if r := runResume(t, nil); r.OK || r.ListOK {
		t.Errorf("first attempt: %+v; want nothing", r)
	}
	r := runResume(t, progress{Step: "wait", Polls: 41})
	if !r.OK || r.Progress != (progress{Step: "wait", Polls: 41}) {
		t.Errorf("resumed %+v, %v; want the recorded progress", r.Progress, r.OK)
	}
	if r.ListOK || r.List != nil {
		t.Errorf("details of another shape read as %v, %v; want nothing", r.List, r.ListOK)
	}
	r = runResume(t, []string{"slack"})
	if r.OK || r.Progress != (progress{}) || !r.ListOK || len(r.List) != 1 {
		t.Errorf("a list recorded: %+v; want only the list", r)
	}
}

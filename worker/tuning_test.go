package worker

import (
	"strings"
	"testing"

	sdkworker "go.temporal.io/sdk/worker"
)

func TestApplyTuning(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		want    sdkworker.Options
		wantErr string
	}{
		{name: "unset keeps the SDK defaults", env: map[string]string{}},
		{name: "pollers and slots", env: map[string]string{
			EnvWorkflowTaskPollers: "8", EnvActivityTaskPollers: "8", EnvMaxConcurrentActivities: "2000", EnvMaxConcurrentWorkflowTasks: "200",
		}, want: sdkworker.Options{MaxConcurrentWorkflowTaskPollers: 8, MaxConcurrentActivityTaskPollers: 8, MaxConcurrentActivityExecutionSize: 2000, MaxConcurrentWorkflowTaskExecutionSize: 200}},
		{name: "one workflow-task poller is refused", env: map[string]string{EnvWorkflowTaskPollers: "1"}, wantErr: EnvWorkflowTaskPollers + `="1": want a whole number from 2 to 256`},
		{name: "not a number", env: map[string]string{EnvActivityTaskPollers: "eight"}, wantErr: EnvActivityTaskPollers + `="eight"`},
		{name: "zero slots", env: map[string]string{EnvMaxConcurrentActivities: "0"}, wantErr: EnvMaxConcurrentActivities},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o sdkworker.Options
			err := applyTuning(&o, func(k string) string { return c.env[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.MaxConcurrentWorkflowTaskPollers != c.want.MaxConcurrentWorkflowTaskPollers || o.MaxConcurrentActivityTaskPollers != c.want.MaxConcurrentActivityTaskPollers ||
				o.MaxConcurrentActivityExecutionSize != c.want.MaxConcurrentActivityExecutionSize || o.MaxConcurrentWorkflowTaskExecutionSize != c.want.MaxConcurrentWorkflowTaskExecutionSize {
				t.Errorf("options %+v, want %+v", o, c.want)
			}
		})
	}
}

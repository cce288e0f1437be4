package finding

import (
	"slices"
	"testing"
)

func TestPolicyBlocking(t *testing.T) {
	fs := []Finding{
		{Check: "removed-api", Severity: Error},
		{Check: "workload-without-pdb", Severity: Warning},
		{Check: "pod-failed", Severity: Info},
		{Check: "mystery", Severity: "fatal"}, // unknown severities count as errors
	}
	checks := func(out []Finding) []string {
		var c []string
		for _, f := range out {
			c = append(c, f.Check)
		}
		return c
	}
	for _, tt := range []struct {
		policy Policy
		want   []string
	}{
		{Policy{BlockOn: "error"}, []string{"removed-api", "mystery"}},
		{Policy{BlockOn: "warning"}, []string{"removed-api", "workload-without-pdb", "mystery"}},
		{Policy{BlockOn: "none"}, nil},
		{Policy{BlockOn: "error", IgnoreChecks: []string{"removed-api"}}, []string{"mystery"}},
	} {
		if got := checks(tt.policy.Blocking(fs)); !slices.Equal(got, tt.want) {
			t.Errorf("%+v: blocking %v, want %v", tt.policy, got, tt.want)
		}
	}
}

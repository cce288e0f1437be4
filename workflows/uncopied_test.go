package workflows

import (
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
)

func TestUncopiedFindings(t *testing.T) {
	if fs := uncopiedFindings(eks.ClusterDescription{Name: "blue"}); len(fs) != 0 {
		t.Fatalf("findings without Fargate profiles: %+v", fs)
	}
	fs := uncopiedFindings(eks.ClusterDescription{Name: "blue", FargateProfiles: []string{"batch", "system"}})
	if len(fs) != 2 || fs[0].Check != CheckFargateNotCopied || fs[0].Object != "Fargate profile batch" || fs[1].Cluster != "blue" {
		t.Fatalf("findings %+v", fs)
	}
}

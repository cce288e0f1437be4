package workflows

import (
	"slices"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/spec"
)

func TestRollbackPlan(t *testing.T) {
	keep := spec.MigrationSpec{Rollback: spec.RollbackSpec{Green: spec.FateKeep}}
	del := spec.MigrationSpec{Rollback: spec.RollbackSpec{Green: spec.FateDelete}}
	tests := []struct {
		name   string
		done   changes
		spec   spec.MigrationSpec
		steps  []rollbackStep
		rollOK bool
	}{
		{"nothing changed: nothing to undo", changes{}, del, nil, false},
		{"only Argo CD (cannot happen before green): nothing", changes{ArgoRetargeted: true}, del, nil, false},
		{"green created, kept", changes{GreenCreated: true}, keep, nil, true},
		{"green created, deleted", changes{GreenCreated: true}, del, []rollbackStep{stepDeleteGreen}, true},
		{"green and Argo CD", changes{GreenCreated: true, ArgoRetargeted: true}, keep, []rollbackStep{stepRevertArgoCD}, true},
		{"traffic moved: traffic first", changes{GreenCreated: true, ArgoRetargeted: true, TrafficMoved: true}, del,
			[]rollbackStep{stepTrafficToBlue, stepRevertArgoCD, stepDeleteGreen}, true},
		{"traffic moved, green kept", changes{GreenCreated: true, TrafficMoved: true}, keep, []rollbackStep{stepTrafficToBlue}, true},
		{"IRSA statements added: removed before green is deleted", changes{GreenCreated: true, TrafficMoved: true, IRSAStatements: []eks.IRSATrustChange{{RoleName: "r", Sid: "s"}}}, del,
			[]rollbackStep{stepTrafficToBlue, stepRevertIRSA, stepDeleteGreen}, true},
		{"green's OIDC provider created: removed", changes{GreenCreated: true, GreenOIDCProvider: "arn:aws:iam::1:oidc-provider/x"}, keep, []rollbackStep{stepRevertIRSA}, true},
		{"Pod Identity associations created, green kept: deleted", changes{GreenCreated: true, PodIdentity: []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", AssociationID: "a-1"}}}, keep,
			[]rollbackStep{stepDeletePodIdentity}, true},
		{"everything: traffic, Argo CD, Pod Identity, IRSA, green", changes{GreenCreated: true, ArgoRetargeted: true, TrafficMoved: true,
			PodIdentity: []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker"}}, IRSAStatements: []eks.IRSATrustChange{{RoleName: "r", Sid: "s"}}}, del,
			[]rollbackStep{stepTrafficToBlue, stepRevertArgoCD, stepDeletePodIdentity, stepRevertIRSA, stepDeleteGreen}, true},
		{"Karpenter discovery tags added: removed before green is deleted", changes{GreenCreated: true, KarpenterValue: "green",
			KarpenterTags: []eks.TaggedResource{{ID: "subnet-1", Kind: "subnet", Value: "green"}}}, del,
			[]rollbackStep{stepRemoveKarpenter, stepDeleteGreen}, true},
		{"Karpenter tags removed even when green is kept", changes{GreenCreated: true, KarpenterTags: []eks.TaggedResource{{ID: "sg-1", Kind: "security-group"}}}, keep,
			[]rollbackStep{stepRemoveKarpenter}, true},
		{"launch-template versions: deleted after green", changes{GreenCreated: true,
			LaunchTemplateVersions: []eks.LaunchTemplateVersion{{NodeGroup: "custom", LaunchTemplateID: "lt-1", Version: "2", Created: true}}}, del,
			[]rollbackStep{stepDeleteGreen, stepDeleteLTVersions}, true},
		{"launch-template versions stay while green (their user) is kept", changes{GreenCreated: true,
			LaunchTemplateVersions: []eks.LaunchTemplateVersion{{NodeGroup: "custom", LaunchTemplateID: "lt-1", Version: "2", Created: true}}}, keep, nil, true},
		{"Pod Identity associations only adopted: nothing to delete", changes{GreenCreated: true, PodIdentity: nil}, keep, nil, true},
		{"blue being retired: nothing to go back to", changes{GreenCreated: true, TrafficMoved: true, BlueRetiring: true}, del, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, ok := rollbackPlan(tt.done, tt.spec)
			if ok != tt.rollOK || !slices.Equal(steps, tt.steps) {
				t.Fatalf("rollbackPlan(%+v) = %v, %v; want %v, %v", tt.done, steps, ok, tt.steps, tt.rollOK)
			}
		})
	}
}

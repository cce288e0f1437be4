package sandbox_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSeedPodIdentity: blue has the Pod Identity association of
// payments/worker and the CI role's access entry, as cutover reads them.
func TestSeedPodIdentity(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	s, err := sandbox.SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	p := s.PodIdentity
	if p.RoleARN != "arn:aws:iam::"+s.AccountID+":role/"+sandbox.PodIdentityRoleName || p.AssociationID == "" ||
		p.CIRoleARN != "arn:aws:iam::"+s.AccountID+":role/"+sandbox.CIRoleName {
		t.Fatalf("Pod Identity seed %+v", p)
	}
	d, err := eks.NewFromAWS(m.AWS(), nil).DescribeEKSCluster(ctx, eks.DescribeInput{Cluster: clusters.Ref{Name: sandbox.BlueCluster, Region: s.Region}})
	if err != nil {
		t.Fatal(err)
	}
	want := []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: p.RoleARN, AssociationID: p.AssociationID}}
	if !reflect.DeepEqual(d.PodIdentityAssociations, want) {
		t.Errorf("blue's Pod Identity associations = %+v, want %+v", d.PodIdentityAssociations, want)
	}
	if d.Access.AuthenticationMode != "API_AND_CONFIG_MAP" {
		t.Errorf("blue's authentication mode = %q", d.Access.AuthenticationMode)
	}
	var ci *eks.AccessEntry
	for i, e := range d.AccessEntries {
		if e.PrincipalARN == p.CIRoleARN {
			ci = &d.AccessEntries[i]
		}
	}
	wantPolicies := []eks.AccessPolicy{{PolicyARN: sandbox.CIAccessPolicy, ScopeType: "namespace", Namespaces: []string{"payments", "shop"}}}
	if ci == nil || !reflect.DeepEqual(ci.KubernetesGroups, []string{sandbox.CIGroup}) || !reflect.DeepEqual(ci.Policies, wantPolicies) {
		t.Errorf("CI access entry = %+v (entries %+v)", ci, d.AccessEntries)
	}
}

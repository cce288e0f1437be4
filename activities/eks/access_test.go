package eks

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

const (
	admins  = "arn:aws:iam::123456789012:role/admins"
	viewers = "arn:aws:iam::123456789012:role/viewers"
	nodes   = "arn:aws:iam::123456789012:role/nodes"
	worker  = "arn:aws:iam::123456789012:role/cutover-worker"
	ci      = "arn:aws:iam::123456789012:role/ci"

	viewPolicy  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	adminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
	clusterAdm  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
)

func TestEnsureAccessEntries(t *testing.T) {
	f := newFakeEKS()
	// Green already has the worker's creator entry (EKS made it) ...
	f.entries["green/"+worker] = &ekstypes.AccessEntry{PrincipalArn: aws.String(worker), Type: aws.String("STANDARD")}
	f.policies["green/"+worker] = []ekstypes.AssociatedAccessPolicy{{PolicyArn: aws.String(clusterAdm), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}}}
	// ... and the viewers entry an earlier attempt created, with one of its two policies.
	f.entries["green/"+viewers] = &ekstypes.AccessEntry{PrincipalArn: aws.String(viewers), Tags: map[string]string{TagManagedBy: "cutover"}}
	f.policies["green/"+viewers] = []ekstypes.AssociatedAccessPolicy{{PolicyArn: aws.String(viewPolicy), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"shop"}}}}

	entries := []AccessEntry{
		{PrincipalARN: worker, Type: "STANDARD", Policies: []AccessPolicy{{PolicyARN: viewPolicy, ScopeType: "cluster"}}},
		{PrincipalARN: viewers, Type: "STANDARD", Policies: []AccessPolicy{
			{PolicyARN: viewPolicy, ScopeType: "namespace", Namespaces: []string{"shop"}},
			{PolicyARN: viewPolicy, ScopeType: "namespace", Namespaces: []string{"billing"}},
		}},
		{PrincipalARN: nodes, Type: "EC2_LINUX", Username: "system:node:{{EC2PrivateDNSName}}", KubernetesGroups: []string{"system:nodes"}},
		{PrincipalARN: admins, Type: "STANDARD", Username: "admin", KubernetesGroups: []string{"ops"}, Policies: []AccessPolicy{
			{PolicyARN: adminPolicy, ScopeType: "namespace", Namespaces: []string{"shop", "billing"}},
			{PolicyARN: viewPolicy},
		}},
		{PrincipalARN: ci, Type: "STANDARD", Policies: []AccessPolicy{{PolicyARN: clusterAdm, ScopeType: "cluster"}}},
	}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	res, err := run[EnsureAccessEntriesResult](t, env, a.EnsureAccessEntries, EnsureAccessEntriesInput{
		Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, Entries: entries, SkipPrincipals: []string{ci}, RequestToken: "wf/run",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRes := EnsureAccessEntriesResult{
		Principals: []string{admins, worker, nodes, viewers},
		Created:    []string{admins, nodes, viewers},
		Existing:   []string{worker},
		Skipped:    []string{ci},
	}
	if !reflect.DeepEqual(res, wantRes) {
		t.Fatalf("result = %+v\nwant %+v", res, wantRes)
	}
	// Creates: admins (STANDARD with username and groups), nodes (EC2_LINUX: type only).
	if len(f.createEntry) != 2 {
		t.Fatalf("CreateAccessEntry called %d times", len(f.createEntry))
	}
	adm, node := f.createEntry[0], f.createEntry[1]
	checks := []struct {
		what      string
		got, want any
	}{
		{"admins cluster", aws.ToString(adm.ClusterName), "green"},
		{"admins principal", aws.ToString(adm.PrincipalArn), admins},
		{"admins type", aws.ToString(adm.Type), "STANDARD"},
		{"admins username", aws.ToString(adm.Username), "admin"},
		{"admins groups", adm.KubernetesGroups, []string{"ops"}},
		{"admins tags", adm.Tags, map[string]string{TagManagedBy: "cutover"}},
		{"admins token", aws.ToString(adm.ClientRequestToken), "wf/run/" + admins},
		{"nodes type", aws.ToString(node.Type), "EC2_LINUX"},
		{"nodes no username", node.Username, (*string)(nil)},
		{"nodes no groups", node.KubernetesGroups, []string(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	// Associations: admins' two (empty scope means cluster), viewers' missing one; none for the worker, nodes or ci.
	var got []string
	for _, as := range f.associate {
		got = append(got, aws.ToString(as.PrincipalArn)+" "+aws.ToString(as.PolicyArn)+" "+string(as.AccessScope.Type)+" "+stringsJoin(as.AccessScope.Namespaces))
	}
	want := []string{
		admins + " " + adminPolicy + " namespace shop,billing",
		admins + " " + viewPolicy + " cluster ",
		viewers + " " + viewPolicy + " namespace billing",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AssociateAccessPolicy calls\n got %q\nwant %q", got, want)
	}
}

func stringsJoin(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

func TestEnsureAccessEntriesAPIError(t *testing.T) {
	f := newFakeEKS()
	f.errs["CreateAccessEntry"] = []error{&ekstypes.InvalidRequestException{Message: aws.String("The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP]")}}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureAccessEntriesResult](t, env, a.EnsureAccessEntries, EnsureAccessEntriesInput{
		Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, Entries: []AccessEntry{{PrincipalARN: admins}},
	})
	// No wait cures the cluster's authentication mode: definitive.
	wantErrType(t, err, failures.InvalidParameter, true)
}

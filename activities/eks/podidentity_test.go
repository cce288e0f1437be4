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
	payWorker = "arn:aws:iam::123456789012:role/payments-worker"
	shopAPI   = "arn:aws:iam::123456789012:role/shop-api"
)

func TestEnsurePodIdentityAssociations(t *testing.T) {
	f := newFakeEKS()
	// Green already has shop/api's association with the same role (someone
	// made it by hand): it is adopted, not made again.
	f.pods = map[string]*ekstypes.PodIdentityAssociation{"a-hand": {AssociationId: aws.String("a-hand"), ClusterName: aws.String("green"),
		Namespace: aws.String("shop"), ServiceAccount: aws.String("api"), RoleArn: aws.String(shopAPI)}}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	green := clusters.Ref{Name: "green", Region: "eu-west-1"}
	in := EnsurePodIdentityInput{Cluster: green, Migration: "m1", RequestToken: "cutover-run", Associations: []PodIdentityAssociation{
		{Namespace: "shop", ServiceAccount: "api", RoleARN: shopAPI},
		{Namespace: "payments", ServiceAccount: "worker", RoleARN: payWorker},
	}}
	res, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 1 || res.Created[0].Namespace != "payments" || res.Created[0].AssociationID == "" ||
		len(res.Adopted) != 1 || res.Adopted[0].AssociationID != "a-hand" {
		t.Fatalf("result = %+v, want payments/worker created and shop/api adopted", res)
	}
	created := f.pods[res.Created[0].AssociationID]
	if created.Tags[TagMigration] != "m1" || created.Tags[TagManagedBy] != "cutover" {
		t.Errorf("created tags = %v", created.Tags)
	}

	// Again (a retry): nothing new; what this migration made is still reported as created.
	again, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, res) {
		t.Errorf("second run = %+v, want %+v", again, res)
	}
	if n := len(f.opCalls("CreatePodIdentityAssociation")); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}

	// The same service account with another role is someone else's: Conflict.
	_, err = run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, EnsurePodIdentityInput{Cluster: green, Migration: "m1",
		Associations: []PodIdentityAssociation{{Namespace: "shop", ServiceAccount: "api", RoleARN: payWorker}}})
	wantErrType(t, err, failures.Conflict, true)

	// Rollback deletes what m1 made, keeps the adopted one, and is idempotent.
	del := DeletePodIdentityInput{Cluster: green, Migration: "m1", Associations: []PodIdentityAssociation{
		res.Created[0], {Namespace: "shop", ServiceAccount: "api", RoleARN: shopAPI},
	}}
	dres, err := run[DeletePodIdentityResult](t, env, a.DeletePodIdentityAssociations, del)
	if err != nil {
		t.Fatal(err)
	}
	if len(dres.Deleted) != 1 || dres.Deleted[0].Namespace != "payments" || len(dres.Kept) != 1 || dres.Kept[0].AssociationID != "a-hand" {
		t.Errorf("delete = %+v", dres)
	}
	if _, ok := f.pods["a-hand"]; !ok || len(f.pods) != 1 {
		t.Errorf("associations left = %v, want only a-hand", f.pods)
	}
	dres, err = run[DeletePodIdentityResult](t, env, a.DeletePodIdentityAssociations, del)
	if err != nil {
		t.Fatal(err)
	}
	if len(dres.Deleted) != 0 || len(dres.Gone) != 1 || len(dres.Kept) != 1 {
		t.Errorf("second delete = %+v, want one gone and one kept", dres)
	}
}

func TestEnsurePodIdentityCreateRace(t *testing.T) {
	// The create answers ResourceInUse but the association is not listed
	// yet (EKS is eventually consistent): a retryable NotReadyYet.
	f := newFakeEKS()
	f.errs["CreatePodIdentityAssociation"] = []error{inUse("association")}
	f.pods = map[string]*ekstypes.PodIdentityAssociation{}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	green := clusters.Ref{Name: "green", Region: "eu-west-1"}
	in := EnsurePodIdentityInput{Cluster: green, Migration: "m1", Associations: []PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: payWorker}}}
	_, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, in)
	// Refused yet not listed: retryable, the next attempt sees it.
	wantErrType(t, err, failures.NotReadyYet, false)
}

func TestEnsurePodIdentityInvalid(t *testing.T) {
	a := newFakeActivities(newFakeEKS(), nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, EnsurePodIdentityInput{
		Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, Associations: []PodIdentityAssociation{{Namespace: "shop"}}})
	wantErrType(t, err, failures.InvalidParameter, true)
	_, err = run[DeletePodIdentityResult](t, env, a.DeletePodIdentityAssociations, DeletePodIdentityInput{Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}})
	wantErrType(t, err, failures.InvalidParameter, true)
}

func TestDescribeReadsPodIdentityAssociations(t *testing.T) {
	f := newFakeEKS()
	f.clusters["blue"] = &ekstypes.Cluster{Name: aws.String("blue"), Version: aws.String("1.29"), Status: ekstypes.ClusterStatusActive}
	f.pods = map[string]*ekstypes.PodIdentityAssociation{
		"a-2": {AssociationId: aws.String("a-2"), ClusterName: aws.String("blue"), Namespace: aws.String("shop"), ServiceAccount: aws.String("api"), RoleArn: aws.String(shopAPI)},
		"a-1": {AssociationId: aws.String("a-1"), ClusterName: aws.String("blue"), Namespace: aws.String("payments"), ServiceAccount: aws.String("worker"), RoleArn: aws.String(payWorker)},
		// The add-on's own association is the add-on's, not copied on its own.
		"a-3": {AssociationId: aws.String("a-3"), ClusterName: aws.String("blue"), Namespace: aws.String("kube-system"), ServiceAccount: aws.String("ebs-csi"),
			RoleArn: aws.String(shopAPI), OwnerArn: aws.String("arn:aws:eks:eu-west-1:123456789012:addon/blue/aws-ebs-csi-driver/x")},
		"a-4": {AssociationId: aws.String("a-4"), ClusterName: aws.String("other"), Namespace: aws.String("x"), ServiceAccount: aws.String("y"), RoleArn: aws.String(shopAPI)},
	}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	d, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []PodIdentityAssociation{
		{Namespace: "payments", ServiceAccount: "worker", RoleARN: payWorker, AssociationID: "a-1"},
		{Namespace: "shop", ServiceAccount: "api", RoleARN: shopAPI, AssociationID: "a-2"},
	}
	if !reflect.DeepEqual(d.PodIdentityAssociations, want) {
		t.Errorf("associations = %+v\nwant %+v", d.PodIdentityAssociations, want)
	}
}

package eks

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// TestEmulatedPodIdentity: the Pod Identity activities against the
// sandbox's EKS emulation, through the SDK's serializers: blue's
// association is read, copied to green (once, however often it runs),
// refused for another role, and deleted only by its migration.
func TestEmulatedPodIdentity(t *testing.T) {
	e := newEmuEnv(t)
	ctx := context.Background()
	blue, green := e.name("blue"), e.name("green")
	e.cluster(t, blue, "1.29")
	e.cluster(t, green, motoGreenVersion)
	role := e.role(t, blue+"-worker", nil)
	other := e.role(t, blue+"-other", nil)
	if _, err := e.api.CreatePodIdentityAssociation(ctx, &awseks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(blue), Namespace: aws.String("payments"), ServiceAccount: aws.String("worker"), RoleArn: aws.String(role),
	}); err != nil {
		t.Fatal(err)
	}
	a, _ := e.activities(nil)
	env := newActivityEnv(t, a)
	d, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: blue, Region: e.region}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PodIdentityAssociations) != 1 || d.PodIdentityAssociations[0].RoleARN != role || d.PodIdentityAssociations[0].Namespace != "payments" {
		t.Fatalf("blue's associations %+v", d.PodIdentityAssociations)
	}
	ref := clusters.Ref{Name: green, Region: e.region}
	want := []PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: role}}
	in := EnsurePodIdentityInput{Cluster: ref, Associations: want, Migration: "m1", RequestToken: "cutover-" + green + "/run-1"}
	first, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Created) != 1 || first.Created[0].AssociationID == "" || first.Created[0].AssociationID == d.PodIdentityAssociations[0].AssociationID {
		t.Fatalf("first ensure %+v", first)
	}
	again, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, in)
	if err != nil || len(again.Created) != 1 || again.Created[0] != first.Created[0] {
		t.Fatalf("second ensure %+v (%v), want the same association", again, err)
	}
	// Another migration finds it identical: adopted, not its own.
	adopt, err := run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, EnsurePodIdentityInput{Cluster: ref, Associations: want, Migration: "m2"})
	if err != nil || len(adopt.Adopted) != 1 || len(adopt.Created) != 0 {
		t.Fatalf("other migration's ensure %+v (%v)", adopt, err)
	}
	_, err = run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, EnsurePodIdentityInput{Cluster: ref, Migration: "m1",
		Associations: []PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: other}}})
	wantErrType(t, err, failures.Conflict, true)
	_, err = run[EnsurePodIdentityResult](t, env, a.EnsurePodIdentityAssociations, EnsurePodIdentityInput{Cluster: clusters.Ref{Name: e.name("nope"), Region: e.region}, Associations: want})
	wantErrType(t, err, failures.NotFound, true)

	kept, err := run[DeletePodIdentityResult](t, env, a.DeletePodIdentityAssociations, DeletePodIdentityInput{Cluster: ref, Migration: "m2", Associations: first.Created})
	if err != nil || len(kept.Kept) != 1 || len(kept.Deleted) != 0 {
		t.Fatalf("other migration's delete %+v (%v), want it kept", kept, err)
	}
	// By namespace and service account (the record before the create answered).
	del, err := run[DeletePodIdentityResult](t, env, a.DeletePodIdentityAssociations, DeletePodIdentityInput{Cluster: ref, Migration: "m1", Associations: want})
	if err != nil || len(del.Deleted) != 1 {
		t.Fatalf("delete %+v (%v)", del, err)
	}
	out, err := e.api.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String(green)})
	if err != nil || len(out.Associations) != 0 {
		t.Fatalf("green's associations after the delete: %+v (%v)", out, err)
	}
	gone, err := run[DeletePodIdentityResult](t, env, a.DeletePodIdentityAssociations, DeletePodIdentityInput{Cluster: ref, Migration: "m1", Associations: first.Created})
	if err != nil || len(gone.Gone) != 1 {
		t.Fatalf("delete again %+v (%v), want gone", gone, err)
	}
}

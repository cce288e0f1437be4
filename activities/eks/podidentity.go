package eks

import (
	"context"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// EnsurePodIdentityAssociations copies Pod Identity associations to a
// cluster. An association the cluster already has for the same namespace
// and service account with the same role is adopted; one with another role
// is a Conflict (cutover never changes what it did not make). Creates carry
// a client request token and the tags cutover.dev/managed-by and
// cutover.dev/migration, so a retry is the same create and a rollback finds
// what this migration made. It returns what it created (with the IDs) and
// what it adopted.
func (a *Activities) EnsurePodIdentityAssociations(ctx context.Context, in EnsurePodIdentityInput) (EnsurePodIdentityResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	ref := in.Cluster
	var res EnsurePodIdentityResult
	if ref.Name == "" {
		return res, invalidf("ensure Pod Identity associations: cluster name is required")
	}
	want := slices.Clone(in.Associations)
	sortAssociations(want)
	if len(want) == 0 {
		return res, nil
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	for _, w := range want {
		if w.Namespace == "" || w.ServiceAccount == "" || w.RoleARN == "" {
			return res, invalidf("Pod Identity association %s/%s: namespace, service account and role ARN are required", w.Namespace, w.ServiceAccount)
		}
		have, found, err := findPodIdentityAssociation(ctx, api, ref, w.Namespace, w.ServiceAccount)
		if err != nil {
			return res, err
		}
		created := false
		if !found {
			log.Info("Creating Pod Identity association", "cluster", ref.Name, "namespace", w.Namespace, "serviceAccount", w.ServiceAccount, "role", w.RoleARN)
			out, err := api.CreatePodIdentityAssociation(ctx, createPodIdentityInput(ref.Name, w, in.Migration, requestToken(in.RequestToken, "pod-identity", w.Namespace, w.ServiceAccount)))
			switch {
			case isInUse(err):
				// Made meanwhile (by an earlier attempt or someone else): judge what is there.
				if have, found, err = findPodIdentityAssociation(ctx, api, ref, w.Namespace, w.ServiceAccount); err != nil {
					return res, err
				}
				if !found {
					return res, notReadyf("Pod Identity association %s/%s on cluster %s is in use but not listed yet", w.Namespace, w.ServiceAccount, ref)
				}
			case err != nil:
				return res, awsError(err, "create Pod Identity association %s/%s on cluster %s", w.Namespace, w.ServiceAccount, ref)
			default:
				have, created = out.Association, true
				if have == nil {
					have = &ekstypes.PodIdentityAssociation{Namespace: aws.String(w.Namespace), ServiceAccount: aws.String(w.ServiceAccount), RoleArn: aws.String(w.RoleARN)}
				}
			}
		}
		got := podIdentityFromAPI(have)
		if got.RoleARN != w.RoleARN {
			return res, conflictf("cluster %s already has a Pod Identity association for %s/%s (%s) with role %s, not %s; delete or change it, or leave the service account out",
				ref, w.Namespace, w.ServiceAccount, got.AssociationID, got.RoleARN, w.RoleARN)
		}
		if created || (in.Migration != "" && have.Tags[TagMigration] == in.Migration) {
			res.Created = append(res.Created, got)
		} else {
			res.Adopted = append(res.Adopted, got)
		}
	}
	log.Info("Pod Identity associations copied", "cluster", ref.Name, "created", len(res.Created), "adopted", len(res.Adopted))
	return res, nil
}

// DeletePodIdentityAssociations deletes the associations a migration
// created: each one, by ID when known or else the association of its
// namespace and service account, if it carries the migration's tag. One
// that is gone already is not an error; one that is not the migration's is
// kept.
func (a *Activities) DeletePodIdentityAssociations(ctx context.Context, in DeletePodIdentityInput) (DeletePodIdentityResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	ref := in.Cluster
	var res DeletePodIdentityResult
	if ref.Name == "" || in.Migration == "" {
		return res, invalidf("delete Pod Identity associations: cluster name and migration are required")
	}
	if len(in.Associations) == 0 {
		return res, nil
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	for _, w := range in.Associations {
		var have *ekstypes.PodIdentityAssociation
		found := false
		if w.AssociationID != "" {
			have, found, err = describePodIdentityAssociation(ctx, api, ref, w.AssociationID)
		} else {
			have, found, err = findPodIdentityAssociation(ctx, api, ref, w.Namespace, w.ServiceAccount)
		}
		if err != nil {
			return res, err
		}
		if !found {
			res.Gone = append(res.Gone, w)
			continue
		}
		got := podIdentityFromAPI(have)
		if have.Tags[TagMigration] != in.Migration {
			log.Info("Pod Identity association is not this migration's; keeping it", "cluster", ref.Name, "id", got.AssociationID,
				"namespace", got.Namespace, "serviceAccount", got.ServiceAccount)
			res.Kept = append(res.Kept, got)
			continue
		}
		log.Info("Deleting Pod Identity association", "cluster", ref.Name, "id", got.AssociationID, "namespace", got.Namespace, "serviceAccount", got.ServiceAccount)
		_, err := api.DeletePodIdentityAssociation(ctx, &awseks.DeletePodIdentityAssociationInput{ClusterName: aws.String(ref.Name), AssociationId: aws.String(got.AssociationID)})
		switch {
		case isNotFound(err):
			res.Gone = append(res.Gone, got)
		case err != nil:
			return res, awsError(err, "delete Pod Identity association %s (%s/%s) of cluster %s", got.AssociationID, got.Namespace, got.ServiceAccount, ref)
		default:
			res.Deleted = append(res.Deleted, got)
		}
	}
	return res, nil
}

func createPodIdentityInput(cluster string, w PodIdentityAssociation, migration string, token *string) *awseks.CreatePodIdentityAssociationInput {
	tags := map[string]string{TagManagedBy: "cutover"}
	if migration != "" {
		tags[TagMigration] = migration
	}
	return &awseks.CreatePodIdentityAssociationInput{
		ClusterName:        aws.String(cluster),
		Namespace:          aws.String(w.Namespace),
		ServiceAccount:     aws.String(w.ServiceAccount),
		RoleArn:            aws.String(w.RoleARN),
		ClientRequestToken: token,
		Tags:               tags,
	}
}

// describePodIdentityAssociations reads the cluster's own associations
// (those an add-on owns are the add-on's), sorted.
func describePodIdentityAssociations(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]PodIdentityAssociation, error) {
	sums, err := listPodIdentityAssociations(ctx, api, ref, "", "")
	if err != nil {
		return nil, err
	}
	var out []PodIdentityAssociation
	for _, s := range sums {
		if aws.ToString(s.OwnerArn) != "" {
			continue
		}
		have, found, err := describePodIdentityAssociation(ctx, api, ref, aws.ToString(s.AssociationId))
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, podIdentityFromAPI(have))
		}
	}
	sortAssociations(out)
	return out, nil
}

func listPodIdentityAssociations(ctx context.Context, api EKSAPI, ref clusters.Ref, namespace, serviceAccount string) ([]ekstypes.PodIdentityAssociationSummary, error) {
	var out []ekstypes.PodIdentityAssociationSummary
	pg := awseks.NewListPodIdentityAssociationsPaginator(api, &awseks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String(ref.Name), Namespace: optString(namespace), ServiceAccount: optString(serviceAccount),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "list Pod Identity associations of cluster %s", ref)
		}
		out = append(out, page.Associations...)
	}
	return out, nil
}

// findPodIdentityAssociation returns the association of a service account,
// or found=false.
func findPodIdentityAssociation(ctx context.Context, api EKSAPI, ref clusters.Ref, namespace, serviceAccount string) (*ekstypes.PodIdentityAssociation, bool, error) {
	sums, err := listPodIdentityAssociations(ctx, api, ref, namespace, serviceAccount)
	if err != nil {
		return nil, false, err
	}
	for _, s := range sums {
		if aws.ToString(s.Namespace) == namespace && aws.ToString(s.ServiceAccount) == serviceAccount {
			return describePodIdentityAssociation(ctx, api, ref, aws.ToString(s.AssociationId))
		}
	}
	return nil, false, nil
}

func describePodIdentityAssociation(ctx context.Context, api EKSAPI, ref clusters.Ref, id string) (*ekstypes.PodIdentityAssociation, bool, error) {
	out, err := api.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String(ref.Name), AssociationId: aws.String(id)})
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, awsError(err, "describe Pod Identity association %s of cluster %s", id, ref)
	}
	if out.Association == nil {
		return &ekstypes.PodIdentityAssociation{AssociationId: aws.String(id)}, true, nil
	}
	return out.Association, true, nil
}

func podIdentityFromAPI(a *ekstypes.PodIdentityAssociation) PodIdentityAssociation {
	if a == nil {
		return PodIdentityAssociation{}
	}
	return PodIdentityAssociation{
		Namespace:      aws.ToString(a.Namespace),
		ServiceAccount: aws.ToString(a.ServiceAccount),
		RoleARN:        aws.ToString(a.RoleArn),
		AssociationID:  aws.ToString(a.AssociationId),
	}
}

func sortAssociations(as []PodIdentityAssociation) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].Namespace != as[j].Namespace {
			return as[i].Namespace < as[j].Namespace
		}
		return as[i].ServiceAccount < as[j].ServiceAccount
	})
}

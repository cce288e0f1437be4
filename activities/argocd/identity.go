package argocd

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// AnnotationIRSARole is the ServiceAccount annotation of the IAM role its
// pods assume (IAM Roles for Service Accounts).
const AnnotationIRSARole = "eks.amazonaws.com/role-arn"

// ArgoCDServiceAccounts are the ServiceAccounts of the Argo CD components
// that call the clusters Argo CD manages.
var ArgoCDServiceAccounts = []string{"argocd-application-controller", "argocd-server", "argocd-applicationset-controller"}

// IdentityInput asks which IAM identities the Argo CD in Cluster/Namespace
// uses to reach the EKS clusters it registers.
type IdentityInput struct {
	// Cluster is where Argo CD runs.
	Cluster   clusters.Ref `json:"cluster"`
	Namespace string       `json:"namespace"`
}

// Identity is one IAM role Argo CD reaches clusters with.
type Identity struct {
	RoleARN string `json:"roleArn"`
	// Source says where it was found, e.g. "ServiceAccount
	// argocd/argocd-application-controller (eks.amazonaws.com/role-arn)";
	// several places are joined with "; ".
	Source string `json:"source"`
}

// IdentityResult lists the identities, one per role ARN, sorted by ARN.
type IdentityResult struct {
	Identities []Identity `json:"identities"`
}

// ArgoCDIdentities returns the IAM identities with which the Argo CD in
// in.Cluster/in.Namespace reaches an EKS cluster it registers, so green can
// grant them access before Argo CD syncs to it: the role the worker makes
// Argo CD assume (WithArgoCDRoleARN), the awsAuthConfig.roleARN of each
// Argo CD cluster Secret in the namespace, and the IRSA role of each of
// ArgoCDServiceAccounts. A namespace or ServiceAccount that does not exist
// contributes nothing. It only reads; a role Argo CD gets from an EKS Pod
// Identity association is not visible here.
func (a *Activities) ArgoCDIdentities(ctx context.Context, in IdentityInput) (IdentityResult, error) {
	if in.Namespace == "" {
		return IdentityResult{}, failures.New(failures.Validation, "argocd.namespace: required")
	}
	found := map[string][]string{} // role ARN -> where
	var order []string
	add := func(arn, source string) {
		arn = strings.TrimSpace(arn)
		if arn == "" {
			return
		}
		if _, ok := found[arn]; !ok {
			order = append(order, arn)
		}
		found[arn] = append(found[arn], source)
	}
	if a.opts.roleARN != "" {
		add(a.opts.roleARN, "worker option argocd.WithArgoCDRoleARN (assumed for the clusters cutover registers)")
	}
	c, _, err := a.cluster(ctx, in.Cluster)
	if err != nil {
		return IdentityResult{}, err
	}
	log := a.log(ctx)

	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.InNamespace(in.Namespace), client.MatchingLabels{LabelSecretType: SecretTypeCluster}); err != nil {
		return IdentityResult{}, apiError(err, "list Argo CD cluster secrets in %s on %s", in.Namespace, in.Cluster.Name)
	}
	sort.Slice(secrets.Items, func(i, j int) bool { return secrets.Items[i].Name < secrets.Items[j].Name })
	for _, s := range secrets.Items {
		raw := s.Data["config"]
		if len(raw) == 0 {
			continue
		}
		var cc struct {
			AWSAuthConfig *struct {
				RoleARN string `json:"roleARN"`
			} `json:"awsAuthConfig"`
		}
		if err := json.Unmarshal(raw, &cc); err != nil {
			log.Warn("Argo CD cluster secret has a config that is not JSON; skipped", "cluster", in.Cluster.Name, "namespace", in.Namespace, "secret", s.Name, "error", err)
			continue
		}
		if cc.AWSAuthConfig != nil {
			add(cc.AWSAuthConfig.RoleARN, "Argo CD cluster Secret "+in.Namespace+"/"+s.Name+" (config.awsAuthConfig.roleARN)")
		}
	}

	for _, name := range ArgoCDServiceAccounts {
		var sa corev1.ServiceAccount
		err := c.Get(ctx, client.ObjectKey{Namespace: in.Namespace, Name: name}, &sa)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return IdentityResult{}, apiError(err, "get ServiceAccount %s/%s on %s", in.Namespace, name, in.Cluster.Name)
		}
		add(sa.Annotations[AnnotationIRSARole], "ServiceAccount "+in.Namespace+"/"+name+" ("+AnnotationIRSARole+")")
	}

	sort.Strings(order)
	res := IdentityResult{Identities: make([]Identity, 0, len(order))}
	for _, arn := range order {
		res.Identities = append(res.Identities, Identity{RoleARN: arn, Source: strings.Join(found[arn], "; ")})
	}
	log.Info("Found Argo CD's IAM identities", "cluster", in.Cluster.Name, "namespace", in.Namespace, "identities", len(res.Identities))
	return res, nil
}

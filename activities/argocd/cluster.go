package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// AutoClusterConfig is the default ClusterConfigFunc: EKSClusterConfig("")
// for an EKS endpoint (*.eks.amazonaws.com, whose resolver tokens expire
// after 15 minutes), StaticClusterConfig otherwise.
func AutoClusterConfig(ctx context.Context, ref clusters.Ref, cfg *rest.Config) (argov1.ClusterConfig, error) {
	if isEKSEndpoint(cfg.Host) {
		return EKSClusterConfig("")(ctx, ref, cfg)
	}
	return StaticClusterConfig(ctx, ref, cfg)
}

func isEKSEndpoint(host string) bool {
	h := normServer(host)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexAny(h, ":/"); i >= 0 {
		h = h[:i]
	}
	return strings.HasSuffix(h, ".eks.amazonaws.com") || strings.HasSuffix(h, ".eks.amazonaws.com.cn")
}

// StaticClusterConfig is a ClusterConfigFunc: it copies the
// bearer token (or client certificate, or basic auth) and the CA of cfg.
// Credentials that Argo CD cannot use (an exec plugin) are an error.
func StaticClusterConfig(_ context.Context, ref clusters.Ref, cfg *rest.Config) (argov1.ClusterConfig, error) {
	cc := argov1.ClusterConfig{
		Username: cfg.Username,
		Password: cfg.Password,
		TLSClientConfig: argov1.TLSClientConfig{
			Insecure:   cfg.Insecure,
			ServerName: cfg.ServerName,
		},
	}
	var err error
	if cc.CAData, err = dataOrFile(cfg.CAData, cfg.CAFile); err != nil {
		return cc, fmt.Errorf("cluster %s: read CA: %w", ref, err)
	}
	if cc.CertData, err = dataOrFile(cfg.CertData, cfg.CertFile); err != nil {
		return cc, fmt.Errorf("cluster %s: read client certificate: %w", ref, err)
	}
	if cc.KeyData, err = dataOrFile(cfg.KeyData, cfg.KeyFile); err != nil {
		return cc, fmt.Errorf("cluster %s: read client key: %w", ref, err)
	}
	cc.BearerToken = cfg.BearerToken
	if cc.BearerToken == "" && cfg.BearerTokenFile != "" {
		b, err := os.ReadFile(cfg.BearerTokenFile)
		if err != nil {
			return cc, fmt.Errorf("cluster %s: read bearer token file: %w", ref, err)
		}
		cc.BearerToken = strings.TrimSpace(string(b))
	}
	if cc.BearerToken == "" && len(cc.CertData) == 0 && cc.Username == "" {
		return cc, failures.New(failures.Validation,
			"cluster %s: its client config has no bearer token, client certificate or basic auth that Argo CD could use (an exec plugin?); configure the worker with argocd.WithClusterConfig (e.g. EKSClusterConfig)", ref)
	}
	return cc, nil
}

// EKSClusterConfig registers EKS clusters the way Argo CD prefers: Argo CD
// mints its own tokens (argocd-k8s-auth aws) for the cluster name, assuming
// roleARN when it is set; only the CA comes from the resolver.
func EKSClusterConfig(roleARN string) ClusterConfigFunc {
	return func(_ context.Context, ref clusters.Ref, cfg *rest.Config) (argov1.ClusterConfig, error) {
		ca, err := dataOrFile(cfg.CAData, cfg.CAFile)
		if err != nil {
			return argov1.ClusterConfig{}, fmt.Errorf("cluster %s: read CA: %w", ref, err)
		}
		return argov1.ClusterConfig{
			TLSClientConfig: argov1.TLSClientConfig{CAData: ca, ServerName: cfg.ServerName},
			AWSAuthConfig:   &argov1.AWSAuthConfig{ClusterName: ref.Name, RoleARN: roleARN},
		}, nil
	}
}

func dataOrFile(data []byte, file string) ([]byte, error) {
	if len(data) > 0 || file == "" {
		return data, nil
	}
	return os.ReadFile(file)
}

// normServer normalises an API server URL for comparison.
func normServer(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if s != "" && !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return strings.TrimRight(s, "/")
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// ClusterSecretName is the name of the cluster Secret cutover creates for a cluster.
func ClusterSecretName(ref clusters.Ref) string {
	n := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(ref.Name), "-"), "-")
	name := "cutover-cluster-" + n
	if len(name) > 253 {
		name = name[:253]
	}
	return name
}

// clusterSecret is the part of an Argo CD cluster Secret cutover reads.
type clusterSecret struct {
	secretName string
	name       string // data.name: what destination.name refers to
	server     string // data.server, normalised
	ours       bool
}

// listClusterSecrets lists the Argo CD cluster Secrets in ns.
func listClusterSecrets(ctx context.Context, c client.Client, ns string) ([]clusterSecret, error) {
	var list corev1.SecretList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{LabelSecretType: SecretTypeCluster}); err != nil {
		return nil, err
	}
	out := make([]clusterSecret, 0, len(list.Items))
	for _, s := range list.Items {
		out = append(out, clusterSecret{
			secretName: s.Name,
			name:       string(s.Data["name"]),
			server:     normServer(string(s.Data["server"])),
			ours:       s.Labels[LabelManagedBy] == ManagedBy,
		})
	}
	return out, nil
}

// ensureClusterSecret registers ref (server) with the Argo CD in ns and
// returns the cluster name Argo CD knows it by. A Secret someone else
// created for the same server is used as it is; cutover's own Secret is
// kept up to date (a refreshed token).
func (a *Activities) ensureClusterSecret(ctx context.Context, c client.Client, ns string, ref clusters.Ref, cfg *rest.Config, secrets []clusterSecret) (clusterSecret, error) {
	server := normServer(cfg.Host)
	want := ClusterSecretName(ref)
	for _, s := range secrets {
		if s.server == server && s.secretName != want {
			a.log(ctx).Info("Green is already registered with Argo CD", "green", ref.Name, "secret", s.secretName, "argoName", s.name)
			if s.name == "" {
				s.name = s.server
			}
			return s, nil
		}
		if s.name == ref.Name && s.server != server && s.secretName != want {
			return clusterSecret{}, failures.New(failures.Conflict,
				"Argo CD cluster %q (secret %s/%s) already exists with server %s, not %s", ref.Name, ns, s.secretName, s.server, server)
		}
	}
	cc, err := a.opts.clusterConfig(ctx, ref, cfg)
	if err != nil {
		return clusterSecret{}, err
	}
	config, err := json.Marshal(cc)
	if err != nil {
		return clusterSecret{}, fmt.Errorf("encode cluster config of %s: %w", ref, err)
	}
	data := map[string][]byte{
		"name":   []byte(ref.Name),
		"server": []byte(strings.TrimRight(cfg.Host, "/")),
		"config": config,
	}
	labels := map[string]string{LabelSecretType: SecretTypeCluster, LabelManagedBy: ManagedBy}
	result := clusterSecret{secretName: want, name: ref.Name, server: server, ours: true}

	var cur corev1.Secret
	err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: want}, &cur)
	switch {
	case apierrors.IsNotFound(err):
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: want, Namespace: ns, Labels: labels,
				Annotations: map[string]string{"cutover.dev/cluster": ref.String()}},
			Type: corev1.SecretTypeOpaque,
			Data: data,
		}
		if err := c.Create(ctx, sec); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return clusterSecret{}, failures.Wrap(failures.ResourceInUse, err, "create Argo CD cluster secret %s/%s", ns, want)
			}
			return clusterSecret{}, apiError(err, "create Argo CD cluster secret %s/%s", ns, want)
		}
		a.log(ctx).Info("Registered green with Argo CD", "green", ref.Name, "secret", want, "namespace", ns)
		return result, nil
	case err != nil:
		return clusterSecret{}, apiError(err, "get Argo CD cluster secret %s/%s", ns, want)
	}
	if cur.Labels[LabelManagedBy] != ManagedBy {
		return clusterSecret{}, failures.New(failures.Conflict,
			"secret %s/%s exists and was not created by cutover (label %s=%s missing)", ns, want, LabelManagedBy, ManagedBy)
	}
	if sameData(cur.Data, data) && cur.Labels[LabelSecretType] == SecretTypeCluster {
		return result, nil
	}
	orig := cur.DeepCopy()
	cur.Data = data
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	for k, v := range labels {
		cur.Labels[k] = v
	}
	if err := c.Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) {
			return clusterSecret{}, failures.Wrap(failures.ResourceInUse, err, "update Argo CD cluster secret %s/%s", ns, want)
		}
		return clusterSecret{}, apiError(err, "update Argo CD cluster secret %s/%s", ns, want)
	}
	a.log(ctx).Info("Updated green's Argo CD cluster secret", "green", ref.Name, "secret", want, "namespace", ns)
	return result, nil
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if string(b[k]) != string(v) {
			return false
		}
	}
	return true
}

// apiError maps a Kubernetes API error to cutover's failure types
// (failures.FromKube: transient faults are retryable Throttled or Transient
// errors); a kind the apiserver does not know is NotFound and asks whether
// the Argo CD CRDs are installed.
func apiError(err error, format string, args ...any) error {
	if meta.IsNoMatchError(err) {
		format += " (are the Argo CD CRDs installed?)"
	}
	return failures.FromKube(err, format, args...)
}

package clusters

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/failures"
)

// EKSTokenExtension names the kubeconfig user extension (an EKSTokenConfig)
// that says the cluster authenticates EKS bearer tokens: KubeconfigResolver
// with AWS set then signs them (NewEKSTokenSource) instead of using the
// user's static credentials. The sandbox writes it next to a long-lived
// token for people, whose kubectl ignores the extension.
const EKSTokenExtension = "cutover.dev/eks-token"

// EKSTokenConfig is the EKSTokenExtension: the EKS cluster name the tokens
// are signed for (header x-k8s-aws-id), its region, and how long the
// cluster accepts a token (a Go duration; TokenLifetime when empty).
type EKSTokenConfig struct {
	ClusterName string `json:"clusterName"`
	Region      string `json:"region,omitempty"`
	Lifetime    string `json:"lifetime,omitempty"`
}

// Extension returns c as a kubeconfig extension object.
func (c EKSTokenConfig) Extension() runtime.Object {
	b, _ := json.Marshal(c)
	return &runtime.Unknown{Raw: b, ContentType: runtime.ContentTypeJSON}
}

// KubeconfigResolver maps a cluster name to a kubeconfig file: the
// sandbox's (and a developer's) way to reach clusters. The region is
// ignored. Paths wins over Dir; in Dir the file is <name>.kubeconfig, read
// on every call, so kubeconfigs written later are found
// (CUTOVER_KUBECONFIG_DIR).
//
// When AWS is set and the kubeconfig's user carries the EKSTokenExtension,
// requests authenticate with EKS tokens signed with AWS's credentials and
// renewed like EKSResolver's (WithTokenSource); the user's own credentials
// are not used.
type KubeconfigResolver struct {
	Dir   string
	Paths map[string]string
	AWS   awsconf.Provider
	// Now is the token sources' clock (time.Now when nil).
	Now func() time.Time
}

var _ Resolver = KubeconfigResolver{}

// RESTConfig implements Resolver.
func (r KubeconfigResolver) RESTConfig(ctx context.Context, ref Ref) (*rest.Config, error) {
	if ref.Name == "" || strings.ContainsAny(ref.Name, `/\`) || ref.Name == "." || ref.Name == ".." {
		return nil, failures.New(failures.Validation, "cluster name %q is not a valid name", ref.Name)
	}
	path, ok := r.Paths[ref.Name]
	if !ok {
		if r.Dir == "" {
			return nil, failures.New(failures.NotFound, "cluster %s: no kubeconfig is configured for it", ref)
		}
		path = filepath.Join(r.Dir, ref.Name+".kubeconfig")
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, failures.New(failures.NotFound, "cluster %s: kubeconfig %s does not exist", ref, path)
		}
		return nil, fmt.Errorf("cluster %s: %w", ref, err)
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: load kubeconfig %s: %w", ref, path, err)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, raw.CurrentContext, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: load kubeconfig %s: %w", ref, path, err)
	}
	if r.AWS == nil {
		return cfg, nil
	}
	ext, ok, err := eksTokenConfig(raw)
	if err != nil {
		return nil, failures.Wrap(failures.Validation, err, "cluster %s: kubeconfig %s", ref, path)
	}
	if !ok {
		return cfg, nil
	}
	if !rest.IsConfigTransportTLS(*cfg) {
		return nil, failures.New(failures.Validation, "cluster %s: kubeconfig %s: server %s is not https; EKS tokens are only sent over TLS", ref, path, cfg.Host)
	}
	region := ext.Region
	if region == "" {
		region = ref.Region
	}
	if region == "" {
		return nil, failures.New(failures.Validation, "cluster %s: kubeconfig %s: extension %s names no region and the cluster reference has none", ref, path, EKSTokenExtension)
	}
	var lifetime time.Duration
	if ext.Lifetime != "" {
		if lifetime, err = time.ParseDuration(ext.Lifetime); err != nil || lifetime <= 0 {
			return nil, failures.New(failures.Validation, "cluster %s: kubeconfig %s: extension %s: lifetime %q is not a positive duration", ref, path, EKSTokenExtension, ext.Lifetime)
		}
	}
	return WithTokenSource(ctx, cfg, NewEKSTokenSource(r.AWS, ext.ClusterName, region, lifetime, r.Now))
}

// eksTokenConfig reads the EKSTokenExtension of the current context's user.
func eksTokenConfig(raw *clientcmdapi.Config) (EKSTokenConfig, bool, error) {
	var c EKSTokenConfig
	kctx, ok := raw.Contexts[raw.CurrentContext]
	if !ok {
		return c, false, nil
	}
	user, ok := raw.AuthInfos[kctx.AuthInfo]
	if !ok {
		return c, false, nil
	}
	obj, ok := user.Extensions[EKSTokenExtension]
	if !ok {
		return c, false, nil
	}
	u, isRaw := obj.(*runtime.Unknown)
	if !isRaw {
		return c, false, fmt.Errorf("extension %s of user %s is a %T, not JSON", EKSTokenExtension, kctx.AuthInfo, obj)
	}
	dec := json.NewDecoder(bytes.NewReader(u.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, false, fmt.Errorf("extension %s of user %s: %w", EKSTokenExtension, kctx.AuthInfo, err)
	}
	if c.ClusterName == "" {
		return c, false, fmt.Errorf("extension %s of user %s: clusterName is required", EKSTokenExtension, kctx.AuthInfo)
	}
	return c, true, nil
}

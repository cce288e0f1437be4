package clusters

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutover-dev/cutover/internal/failures"
)

// KubeconfigResolver maps a cluster name to a kubeconfig file: the
// sandbox's (and a developer's) way to reach clusters. The region is
// ignored. Paths wins over Dir; in Dir the file is <name>.kubeconfig, read
// on every call, so kubeconfigs written later are found
// (CUTOVER_KUBECONFIG_DIR).
type KubeconfigResolver struct {
	Dir   string
	Paths map[string]string
}

var _ Resolver = KubeconfigResolver{}

// RESTConfig implements Resolver.
func (r KubeconfigResolver) RESTConfig(_ context.Context, ref Ref) (*rest.Config, error) {
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
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: load kubeconfig %s: %w", ref, path, err)
	}
	return cfg, nil
}

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// CRD sources: the pinned modules' own manifests, read from the module
// cache.
const (
	ArgoCDModule = "github.com/argoproj/argo-cd/v2"
	VeleroModule = "github.com/vmware-tanzu/velero"
)

var crdGlobs = map[string][]string{
	ArgoCDModule: {"manifests/crds/application-crd.yaml", "manifests/crds/applicationset-crd.yaml", "manifests/crds/appproject-crd.yaml"},
	VeleroModule: {"config/crd/v1/bases/*.yaml", "config/crd/v2alpha1/bases/*.yaml"},
}

// CRDFiles lists the Argo CD and Velero CRD manifests of the versions the
// main module requires, from the module cache (`go list -m`, downloading
// the module if needed).
func CRDFiles(ctx context.Context) ([]string, error) {
	crdFilesMu.Lock()
	defer crdFilesMu.Unlock()
	if crdFilesCache != nil {
		return slices.Clone(crdFilesCache), nil
	}
	var files []string
	for _, mod := range []string{ArgoCDModule, VeleroModule} {
		dir, err := moduleDir(ctx, mod)
		if err != nil {
			return nil, err
		}
		var found []string
		for _, g := range crdGlobs[mod] {
			m, err := filepath.Glob(filepath.Join(dir, g))
			if err != nil {
				return nil, err
			}
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no CRD manifests under %s (module %s)", dir, mod)
		}
		slices.Sort(found)
		files = append(files, found...)
	}
	crdFilesCache = files
	return slices.Clone(files), nil
}

var (
	crdFilesMu    sync.Mutex
	crdFilesCache []string
)

func moduleDir(ctx context.Context, mod string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("locate module %s: %w", mod, err)
	}
	run := func(args ...string) (map[string]any, error) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	info, err := run("list", "-m", "-json", mod)
	if err != nil {
		return "", err
	}
	if d, _ := info["Dir"].(string); d != "" {
		return d, nil
	}
	version, _ := info["Version"].(string)
	if r, ok := info["Replace"].(map[string]any); ok {
		if v, _ := r["Version"].(string); v != "" {
			version = v
		}
	}
	dl, err := run("mod", "download", "-json", mod+"@"+version)
	if err != nil {
		return "", err
	}
	if d, _ := dl["Dir"].(string); d != "" {
		return d, nil
	}
	return "", fmt.Errorf("module %s@%s is not in the module cache", mod, version)
}

// ArgoCDInstallManifest is the path template ("{version}" for the Argo CD
// version) of upstream Argo CD's manifests/install.yaml in the module
// cache, for the pinned module's version: what the sandbox's worker
// installs on green when it moves the Argo CD in blue (no network needed).
func ArgoCDInstallManifest(ctx context.Context) (string, error) {
	dir, err := moduleDir(ctx, "github.com/argoproj/argo-cd/v2")
	if err != nil {
		return "", err
	}
	at := strings.LastIndex(dir, "@")
	if at < 0 {
		return "", fmt.Errorf("module directory %s carries no version", dir)
	}
	return filepath.Join(dir[:at]+"@{version}", "manifests", "install.yaml"), nil
}

// ReadCRDs decodes every CustomResourceDefinition in files.
func ReadCRDs(files []string) ([]*apiextv1.CustomResourceDefinition, error) {
	var crds []*apiextv1.CustomResourceDefinition
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 64*1024)
		for {
			var crd apiextv1.CustomResourceDefinition
			if err := dec.Decode(&crd); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("decode %s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			crds = append(crds, &crd)
		}
	}
	return crds, nil
}

// InstallCRDs creates the Argo CD and Velero CRDs and Karpenter's
// (KarpenterCRDs) in the cluster (an existing one is left as it is) and
// waits until each is Established.
func InstallCRDs(ctx context.Context, k *Kube) ([]string, error) {
	files, err := CRDFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: find CRD manifests: %w", k.Name, err)
	}
	crds, err := ReadCRDs(files)
	if err != nil {
		return nil, err
	}
	crds = append(crds, KarpenterCRDs()...)
	c, err := apiextclient.NewForConfig(k.RESTConfig())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, crd := range crds {
		if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{FieldManager: "cutover-sandbox"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("cluster %s: create CRD %s: %w", k.Name, crd.Name, err)
		}
		names = append(names, crd.Name)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, name := range names {
		for {
			crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(wctx, name, metav1.GetOptions{})
			if err == nil && established(crd) {
				break
			}
			select {
			case <-wctx.Done():
				return nil, fmt.Errorf("cluster %s: CRD %s not Established: %v %w", k.Name, name, err, wctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	k.log.Info("Installed CRDs", "count", len(names))
	return names, nil
}

func established(crd *apiextv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue {
			return true
		}
	}
	return false
}

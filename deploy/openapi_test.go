package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/kube-openapi/pkg/schemaconv"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v4/schema"
	"sigs.k8s.io/structured-merge-diff/v4/typed"
	"sigs.k8s.io/yaml"
)

// productionValues is what an SRE sets for a real cluster, as
// TestChartProduction renders it: chatops with an HTTPS Ingress, the Slack
// token, extra environment and tuned pollers.
var productionValues = []string{"chatops.enabled=true", "worker.slackSecret=cutover-slack-bot",
	"worker.extraEnv[0].name=AWS_REGION", "worker.extraEnv[0].value=eu-west-1",
	"worker.tuning.workflowTaskPollers=8", "worker.tuning.activityTaskPollers=8",
	"worker.envFrom[0].configMapRef.name=proxy", "chatops.extraEnv[0].name=HTTPS_PROXY", "chatops.extraEnv[0].value=http://proxy:3128",
	"chatops.ingress.enabled=true", "chatops.ingress.className=alb", "chatops.ingress.host=cutover.example.com", "chatops.ingress.tlsSecret=cutover-tls"}

// TestChartMatchesKubernetesOpenAPI validates every object the chart
// renders against the OpenAPI v3 schema that Kubernetes v1.31 publishes
// (api/openapi-spec/v3 of the k8s.io/kubernetes module tools/kube pins),
// as kubeconform -strict would, offline: a field the schema does not
// declare, a value of the wrong type, a duplicate key in a keyed list
// (two env vars of one name), a missing required field, a fraction for an
// integer, or an API version 1.31 does not serve is an error naming the
// object and the field's path. Kinds of API groups Kubernetes does not
// define (the Prometheus Operator's ServiceMonitor) are logged as not
// checked here.
func TestChartMatchesKubernetesOpenAPI(t *testing.T) {
	k := pinnedKubeOpenAPI(t)
	for _, c := range []struct {
		name string
		sets []string
	}{
		{"default", nil},
		{"production", productionValues},
		{"production with ServiceMonitor", append(slices.Clone(productionValues), "worker.serviceMonitor.enabled=true", "worker.serviceMonitor.labels.release=prometheus")},
		{"Temporal Cloud", []string{"chatops.enabled=true", "temporal.tlsSecret=temporal-mtls", "temporal.apiKeySecret=temporal-key"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checked := 0
			for _, obj := range renderRaw(t, c.sets...) {
				errs, err := k.validate(obj)
				if errors.Is(err, errNotKubernetes) {
					t.Logf("%s %s: not validated: %v", kindName(obj), obj["apiVersion"], err)
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", kindName(obj), err)
					continue
				}
				for _, e := range errs {
					t.Errorf("%s: %s", kindName(obj), e)
				}
				checked++
			}
			if checked < 3 {
				t.Errorf("only %d objects validated; the chart renders at least the worker's Deployment, Service and ServiceAccount", checked)
			}
		})
	}

	// The validator refuses what a real apiserver would: each break made to
	// a good Deployment is reported at its path.
	t.Run("refuses broken objects", func(t *testing.T) {
		var good map[string]any
		for _, obj := range renderRaw(t) {
			if obj["kind"] == "Deployment" {
				good = obj
			}
		}
		if good == nil {
			t.Fatal("the default rendering has no Deployment")
		}
		if errs, err := k.validate(good); err != nil || len(errs) > 0 {
			t.Fatalf("the unbroken Deployment is refused: %v %v", err, errs)
		}
		for _, c := range []struct {
			name   string
			mutate func(d map[string]any)
			want   string
		}{
			{"unknown field", func(d map[string]any) { container(d)["imagePullPolicies"] = "Always" },
				`.spec.template.spec.containers[name="worker"].imagePullPolicies: field not declared in schema`},
			{"unknown top-level field", func(d map[string]any) { d["spec"].(map[string]any)["replica"] = 3 },
				`.spec.replica: field not declared in schema`},
			{"wrong type", func(d map[string]any) { d["spec"].(map[string]any)["replicas"] = "two" },
				`.spec.replicas: expected numeric (int or float), got string`},
			{"number for a string", func(d map[string]any) { container(d)["env"].([]any)[0].(map[string]any)["value"] = 8.0 },
				`.spec.template.spec.containers[name="worker"].env[name="TEMPORAL_ADDRESS"].value: expected string, got 8`},
			{"map for a list", func(d map[string]any) { container(d)["command"] = map[string]any{"run": "/cutover-worker"} },
				`.spec.template.spec.containers[name="worker"].command: expected list, got`},
			{"not an integer", func(d map[string]any) { d["spec"].(map[string]any)["replicas"] = 1.5 },
				`.spec.replicas: 1.5 is not an integer`},
			{"missing required field", func(d map[string]any) { delete(d["spec"].(map[string]any), "selector") },
				`.spec: missing required field "selector"`},
			{"missing required field in a list item", func(d map[string]any) { delete(container(d)["ports"].([]any)[0].(map[string]any), "containerPort") },
				`.spec.template.spec.containers[0].ports[0]: missing required field "containerPort"`},
			{"duplicate key", func(d map[string]any) {
				c := container(d)
				c["env"] = append(c["env"].([]any), map[string]any{"name": "TEMPORAL_ADDRESS", "value": "elsewhere:7233"})
			}, `duplicate entries for key [name="TEMPORAL_ADDRESS"]`},
		} {
			t.Run(c.name, func(t *testing.T) {
				d := deepCopy(t, good)
				c.mutate(d)
				errs, err := k.validate(d)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, c.want) }) {
					t.Errorf("want an error with %q, got %q", c.want, errs)
				}
			})
		}
	})

	// An API version 1.31 no longer serves is refused, not skipped as if it
	// were a custom resource.
	t.Run("refuses removed API versions", func(t *testing.T) {
		for _, c := range []struct{ apiVersion, kind string }{
			{"policy/v1beta1", "PodDisruptionBudget"}, // removed in 1.25
			{"networking.k8s.io/v1beta1", "Ingress"},  // removed in 1.22
			{"v1", "Deployment"},                      // apps/v1's, not core's
		} {
			obj := map[string]any{"apiVersion": c.apiVersion, "kind": c.kind, "metadata": map[string]any{"name": "x"}}
			if _, err := k.validate(obj); err == nil || errors.Is(err, errNotKubernetes) {
				t.Errorf("%s %s: %v, want it refused as not served by Kubernetes %s", c.apiVersion, c.kind, err, k.version)
			}
		}
		obj := map[string]any{"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor"}
		if _, err := k.validate(obj); !errors.Is(err, errNotKubernetes) {
			t.Errorf("a ServiceMonitor: %v, want it named as not Kubernetes' own", err)
		}
	})
}

func container(d map[string]any) map[string]any {
	spec := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	return spec["containers"].([]any)[0].(map[string]any)
}

func deepCopy(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func kindName(obj map[string]any) string {
	name, _ := obj["metadata"].(map[string]any)["name"].(string)
	return fmt.Sprintf("%v %s", obj["kind"], name)
}

// renderRaw is helm template's objects as they are written, not decoded
// into Go types (which would drop unknown fields): JSON-shaped maps, with
// numbers as float64.
func renderRaw(t *testing.T, sets ...string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, doc := range strings.Split(helm(t, templateArgs(sets...)...), "\n---") {
		doc = strings.TrimPrefix(strings.TrimSpace(doc), "---")
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("rendered document is not YAML: %v\n%s", err, doc)
		}
		if obj == nil { // only comments
			continue
		}
		if _, ok := obj["metadata"].(map[string]any); !ok {
			t.Fatalf("rendered document has no metadata:\n%s", doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

// errNotKubernetes: the object's API group is none of Kubernetes' own (a
// custom resource), so its schema is not in the published OpenAPI.
var errNotKubernetes = errors.New("API group not defined by Kubernetes (a custom resource's); its CRD schema is not in a pinned module")

// kubeOpenAPI is the OpenAPI v3 that Kubernetes publishes in its source
// tree, one document per group version, turned into the typed schemas
// (structured-merge-diff, as the apiserver's field managers build them)
// that validate objects.
type kubeOpenAPI struct {
	version string // of the k8s.io/kubernetes module
	dir     string // its api/openapi-spec/v3

	mu  sync.Mutex
	gvs map[string]*groupVersion
}

type groupVersion struct {
	schemas map[string]*spec.Schema // components.schemas, by definition name
	parser  *typed.Parser
	kinds   map[string]string // kind -> definition name
}

var (
	kubeOpenAPIOnce sync.Once
	kubeOpenAPIDoc  *kubeOpenAPI
	kubeOpenAPIErr  error
)

// pinnedKubeOpenAPI finds the k8s.io/kubernetes module that tools/kube
// pins (the version the sandbox's kube-apiserver is built from) with `go
// mod download`, which reads the module cache or, on a fresh machine,
// fetches that one module.
func pinnedKubeOpenAPI(t *testing.T) *kubeOpenAPI {
	t.Helper()
	kubeOpenAPIOnce.Do(func() {
		cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes")
		cmd.Dir = filepath.Join("..", "tools", "kube")
		out, err := cmd.Output()
		var m struct{ Version, Dir, Error string }
		if jerr := json.Unmarshal(out, &m); jerr != nil || m.Error != "" || err != nil {
			kubeOpenAPIErr = fmt.Errorf("go mod download -json k8s.io/kubernetes in tools/kube: %v %s %s", err, m.Error, out)
			return
		}
		if !strings.HasPrefix(m.Version, "v1.31.") {
			kubeOpenAPIErr = fmt.Errorf("tools/kube pins k8s.io/kubernetes %s; this test checks against 1.31", m.Version)
			return
		}
		dir := filepath.Join(m.Dir, "api", "openapi-spec", "v3")
		if _, err := os.Stat(filepath.Join(dir, "api__v1_openapi.json")); err != nil {
			kubeOpenAPIErr = fmt.Errorf("k8s.io/kubernetes %s has no OpenAPI v3 documents: %v", m.Version, err)
			return
		}
		kubeOpenAPIDoc = &kubeOpenAPI{version: m.Version, dir: dir, gvs: map[string]*groupVersion{}}
	})
	if kubeOpenAPIErr != nil {
		t.Fatal(kubeOpenAPIErr)
	}
	return kubeOpenAPIDoc
}

// groupVersion loads the document of one apiVersion ("v1", "apps/v1").
func (k *kubeOpenAPI) groupVersion(apiVersion string) (*groupVersion, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if gv, ok := k.gvs[apiVersion]; ok {
		return gv, nil
	}
	group, version, found := strings.Cut(apiVersion, "/")
	groupFile, file := "api_openapi.json", "api__"+apiVersion+"_openapi.json"
	if !found {
		group, version = "", apiVersion
	} else {
		groupFile, file = "apis__"+group+"_openapi.json", "apis__"+group+"__"+version+"_openapi.json"
	}
	if _, err := os.Stat(filepath.Join(k.dir, groupFile)); err != nil {
		return nil, fmt.Errorf("apiVersion %s: %w", apiVersion, errNotKubernetes)
	}
	b, err := os.ReadFile(filepath.Join(k.dir, file))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("apiVersion %s is not served by Kubernetes %s", apiVersion, k.version)
	} else if err != nil {
		return nil, err
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	s, err := schemaconv.ToSchemaFromOpenAPI(doc.Components.Schemas, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	gv := &groupVersion{schemas: doc.Components.Schemas, parser: &typed.Parser{Schema: smdschema.Schema{Types: s.Types}}, kinds: map[string]string{}}
	for name, sch := range doc.Components.Schemas {
		gvks, _ := sch.Extensions["x-kubernetes-group-version-kind"].([]any)
		for _, x := range gvks {
			if gvk, ok := x.(map[string]any); ok && gvk["group"] == group && gvk["version"] == version {
				gv.kinds[gvk["kind"].(string)] = name
			}
		}
	}
	k.gvs[apiVersion] = gv
	return gv, nil
}

// validate returns obj's schema violations, each "path: reason". err is
// for an object it cannot check: errNotKubernetes for a custom resource,
// another error for an API version or kind Kubernetes does not serve.
func (k *kubeOpenAPI) validate(obj map[string]any) ([]string, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" {
		return nil, errors.New("no apiVersion or kind")
	}
	gv, err := k.groupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	name, ok := gv.kinds[kind]
	if !ok {
		return nil, fmt.Errorf("kind %s is not in %s of Kubernetes %s", kind, apiVersion, k.version)
	}
	var errs []string
	// Unknown fields, types and keyed lists' duplicates: structured-merge-diff.
	if _, err := gv.parser.Type(name).FromUnstructured(obj); err != nil {
		var verrs typed.ValidationErrors
		if !errors.As(err, &verrs) {
			return nil, err
		}
		for _, e := range verrs {
			// "got &value.valueUnstructured{Value:8}": the value.
			errs = append(errs, smdValue.ReplaceAllString(e.Error(), "$1"))
		}
	}
	// What it does not check: required fields, integers. (The published
	// v3 documents of 1.31 carry no enums: those are in descriptions only.)
	gv.walk("", obj, gv.schemas[name], &errs)
	return errs, nil
}

var smdValue = regexp.MustCompile(`&value\.value\w+\{Value:(.*?)\}`)

// resolve follows $ref, also the one Kubernetes' v3 documents wrap in a
// single-element allOf to give a field its own description.
func (gv *groupVersion) resolve(s *spec.Schema) *spec.Schema {
	for s != nil {
		ref := s.Ref.String()
		if ref == "" && len(s.AllOf) == 1 && len(s.Properties) == 0 {
			ref = s.AllOf[0].Ref.String()
		}
		if ref == "" {
			return s
		}
		s = gv.schemas[path.Base(ref)]
	}
	return nil
}

func (gv *groupVersion) walk(at string, v any, s *spec.Schema, errs *[]string) {
	s = gv.resolve(s)
	if s == nil || v == nil {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if x, ok := v[r]; !ok || x == nil {
				*errs = append(*errs, fmt.Sprintf("%s: missing required field %q", at, r))
			}
		}
		keys := make([]string, 0, len(v))
		for key := range v {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			if p, ok := s.Properties[key]; ok {
				gv.walk(at+"."+key, v[key], &p, errs)
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				gv.walk(fmt.Sprintf("%s[%q]", at, key), v[key], s.AdditionalProperties.Schema, errs)
			}
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for i, x := range v {
				gv.walk(fmt.Sprintf("%s[%d]", at, i), x, s.Items.Schema, errs)
			}
		}
	case float64:
		if s.Type.Contains("integer") && v != math.Trunc(v) {
			*errs = append(*errs, fmt.Sprintf("%s: %v is not an integer", at, v))
		}
	}
}

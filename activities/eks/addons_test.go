package eks

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func addonVersion(v string, compat ...ekstypes.Compatibility) ekstypes.AddonVersionInfo {
	return ekstypes.AddonVersionInfo{AddonVersion: aws.String(v), Compatibilities: compat}
}

func compat(k8s string, def bool) ekstypes.Compatibility {
	return ekstypes.Compatibility{ClusterVersion: aws.String(k8s), DefaultVersion: def}
}

func TestPickAddonVersion(t *testing.T) {
	tests := []struct {
		name   string
		infos  []ekstypes.AddonInfo
		want   string
		wantOK bool
	}{
		{
			name: "the default for the version wins over newer ones",
			infos: []ekstypes.AddonInfo{{AddonVersions: []ekstypes.AddonVersionInfo{
				addonVersion("v1.19.0-eksbuild.1", compat("1.30", false)),
				addonVersion("v1.18.3-eksbuild.2", compat("1.30", true), compat("1.29", false)),
				addonVersion("v1.18.3-eksbuild.1", compat("1.29", true)),
			}}},
			want: "v1.18.3-eksbuild.2", wantOK: true,
		},
		{
			name: "without a default the newest compatible, compared numerically",
			infos: []ekstypes.AddonInfo{{AddonVersions: []ekstypes.AddonVersionInfo{
				addonVersion("v1.9.0-eksbuild.1", compat("1.30", false)),
				addonVersion("v1.10.1-eksbuild.2", compat("1.30", false)),
				addonVersion("v1.10.1-eksbuild.10", compat("1.30", false)),
				addonVersion("v1.11.0-eksbuild.1", compat("1.31", true)),
			}}},
			want: "v1.10.1-eksbuild.10", wantOK: true,
		},
		{
			name:  "nothing compatible",
			infos: []ekstypes.AddonInfo{{AddonVersions: []ekstypes.AddonVersionInfo{addonVersion("v1.0.0", compat("1.25", true))}}},
		},
		{name: "no versions at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickAddonVersion(tt.infos, "1.30")
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"v1.2.3", "v1.2.3", 0},
		{"v1.10.0", "v1.9.9", 1},
		{"v1.2.3-eksbuild.10", "v1.2.3-eksbuild.9", 1},
		{"v1.2.3-eksbuild.1", "v1.2.3", 1},
		{"1.2", "v1.2.1", -1},
	}
	for _, tt := range tests {
		got := compareVersions(tt.a, tt.b)
		if (got > 0) != (tt.want > 0) || (got < 0) != (tt.want < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEnsureAddons(t *testing.T) {
	f := newFakeEKS()
	f.addonVersions["vpc-cni"] = []ekstypes.AddonInfo{{AddonName: aws.String("vpc-cni"), AddonVersions: []ekstypes.AddonVersionInfo{
		addonVersion("v1.19.0-eksbuild.1", compat("1.30", false)),
		addonVersion("v1.18.3-eksbuild.2", compat("1.30", true)),
	}}}
	f.addonVersions["coredns"] = []ekstypes.AddonInfo{{AddonName: aws.String("coredns"), AddonVersions: []ekstypes.AddonVersionInfo{
		addonVersion("v1.11.3-eksbuild.1", compat("1.30", false)),
		addonVersion("v1.11.1-eksbuild.9", compat("1.30", false)),
	}}}
	// kube-proxy already exists on green (adopted as it is).
	f.addons["prod-1-30/kube-proxy"] = &ekstypes.Addon{AddonName: aws.String("kube-proxy"), AddonVersion: aws.String("v1.30.0-eksbuild.3"), Status: ekstypes.AddonStatusActive}
	f.scripts["addon/prod-1-30/coredns"] = []string{"CREATING", "DEGRADED", "DEGRADED", "ACTIVE"}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	addons := append(greenPlanFixture().Cluster.Addons, Addon{Name: "kube-proxy"})
	res, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", Addons: addons, RequestToken: "wf/run",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Versions asked for the target, only for the add-ons to create.
	var asked []string
	for _, in := range f.addonVersionsIn {
		asked = append(asked, aws.ToString(in.AddonName)+"@"+aws.ToString(in.KubernetesVersion))
	}
	if !reflect.DeepEqual(asked, []string{"coredns@1.30", "vpc-cni@1.30"}) {
		t.Fatalf("DescribeAddonVersions asked %v", asked)
	}
	if len(f.createAddon) != 2 {
		t.Fatalf("CreateAddon called %d times", len(f.createAddon))
	}
	// The report says which version each got and why.
	why := map[string]string{}
	for _, c := range res.Choices {
		why[c.Name] = c.Version + ": " + c.Reason
	}
	if why["vpc-cni"] != "v1.18.3-eksbuild.2: EKS's default for Kubernetes 1.30" ||
		why["coredns"] != "v1.11.3-eksbuild.1: newest of 2 versions compatible with Kubernetes 1.30 (EKS marks no default)" ||
		why["kube-proxy"] != "v1.30.0-eksbuild.3: found installed at this version (adopted)" {
		t.Errorf("choices %v", why)
	}
	coredns, cni := f.createAddon[0], f.createAddon[1]
	checks := []struct {
		what      string
		got, want any
	}{
		{"coredns cluster", aws.ToString(coredns.ClusterName), "prod-1-30"},
		{"coredns version: newest compatible", aws.ToString(coredns.AddonVersion), "v1.11.3-eksbuild.1"},
		{"coredns configuration values", aws.ToString(coredns.ConfigurationValues), `{"replicaCount":3}`},
		{"coredns no role", coredns.ServiceAccountRoleArn, (*string)(nil)},
		{"coredns conflicts", coredns.ResolveConflicts, ekstypes.ResolveConflictsOverwrite},
		{"coredns token", aws.ToString(coredns.ClientRequestToken), "wf/run/coredns"},
		{"coredns tags", coredns.Tags, map[string]string{TagManagedBy: "cutover"}},
		{"vpc-cni version: default for 1.30", aws.ToString(cni.AddonVersion), "v1.18.3-eksbuild.2"},
		{"vpc-cni role", aws.ToString(cni.ServiceAccountRoleArn), "arn:aws:iam::123456789012:role/cni"},
		{"vpc-cni no configuration", cni.ConfigurationValues, (*string)(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
	want := []Addon{
		{Name: "coredns", Version: "v1.11.3-eksbuild.1", ConfigurationValues: `{"replicaCount":3}`},
		{Name: "kube-proxy", Version: "v1.30.0-eksbuild.3"},
		{Name: "vpc-cni", Version: "v1.18.3-eksbuild.2", ServiceAccountRoleARN: "arn:aws:iam::123456789012:role/cni"},
	}
	if !reflect.DeepEqual(res.Addons, want) || !reflect.DeepEqual(res.Created, []string{"coredns", "vpc-cni"}) || !reflect.DeepEqual(res.Adopted, []string{"kube-proxy"}) {
		t.Fatalf("result = %+v", res)
	}
}

func TestEnsureAddonsNoCompatibleVersion(t *testing.T) {
	f := newFakeEKS()
	f.addonVersions["coredns"] = []ekstypes.AddonInfo{{AddonVersions: []ekstypes.AddonVersionInfo{addonVersion("v1.8.0", compat("1.25", true))}}}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", Addons: []Addon{{Name: "coredns"}},
	})
	wantErrType(t, err, failures.NotFound, true)
	if !strings.Contains(err.Error(), "add-on coredns has no version compatible with Kubernetes 1.30") {
		t.Fatalf("error = %v", err)
	}
}

func TestEnsureAddonsBadConfigurationIsNonRetryable(t *testing.T) {
	f := newFakeEKS()
	f.addonVersions["coredns"] = []ekstypes.AddonInfo{{AddonVersions: []ekstypes.AddonVersionInfo{addonVersion("v1.11.3-eksbuild.1", compat("1.30", true))}}}
	f.errs["CreateAddon"] = []error{&ekstypes.InvalidParameterException{Message: aws.String("ConfigurationValue provided in request is not supported: Json schema validation failed")}}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", Addons: []Addon{{Name: "coredns", ConfigurationValues: `{"nope":1}`}},
	})
	wantErrType(t, err, failures.InvalidParameter, true)
	if !strings.Contains(err.Error(), "Json schema validation failed") {
		t.Fatalf("AWS message lost: %v", err)
	}
}

func TestEnsureAddonsCreateFailed(t *testing.T) {
	f := newFakeEKS()
	f.addons["prod-1-30/coredns"] = &ekstypes.Addon{
		AddonName: aws.String("coredns"), Status: ekstypes.AddonStatusCreateFailed,
		Health: &ekstypes.AddonHealth{Issues: []ekstypes.AddonIssue{{Code: ekstypes.AddonIssueCodeInsufficientNumberOfReplicas, Message: aws.String("no nodes")}}},
	}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{
		Cluster: clusters.Ref{Name: "prod-1-30", Region: "eu-west-1"}, TargetVersion: "1.30", Addons: []Addon{{Name: "coredns"}},
	})
	wantErrType(t, err, ResourceFailed, true)
	if !strings.Contains(err.Error(), "InsufficientNumberOfReplicas: no nodes") {
		t.Fatalf("error lacks health: %v", err)
	}
}

func TestEnsureAddonsNothingToDo(t *testing.T) {
	f := newFakeEKS()
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	res, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{Cluster: clusters.Ref{Name: "g", Region: "r"}, TargetVersion: "1.30"})
	if err != nil || len(res.Addons) != 0 || len(f.calls) != 0 {
		t.Fatalf("res %+v err %v calls %v", res, err, f.calls)
	}
}

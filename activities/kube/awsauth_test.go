package kube

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/testsuite"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/internal/failures"
)

func TestParseAWSAuthMappings(t *testing.T) {
	for _, tc := range []struct {
		name, key, text string
		want            []AWSAuthMapping
		err             string
	}{
		{name: "empty", key: "mapRoles", text: " \n"},
		{name: "eksctl's block list", key: "mapRoles",
			text: "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::123456789012:role/eks-node\n  username: system:node:{{EC2PrivateDNSName}}\n- rolearn: arn:aws:iam::123456789012:role/ci\n  username: ci\n  groups: [system:masters]\n",
			want: []AWSAuthMapping{
				{Kind: "role", ARN: "arn:aws:iam::123456789012:role/eks-node", Username: "system:node:{{EC2PrivateDNSName}}", Groups: []string{"system:bootstrappers", "system:nodes"}},
				{Kind: "role", ARN: "arn:aws:iam::123456789012:role/ci", Username: "ci", Groups: []string{"system:masters"}},
			}},
		{name: "users, flow style, no groups", key: "mapUsers", text: `[{userarn: "arn:aws:iam::123456789012:user/alice", username: alice}]`,
			want: []AWSAuthMapping{{Kind: "user", ARN: "arn:aws:iam::123456789012:user/alice", Username: "alice"}}},
		{name: "not YAML", key: "mapRoles", text: "- rolearn: [a\n", err: "aws-auth mapRoles does not parse"},
		{name: "a map, not a list", key: "mapUsers", text: "userarn: arn:aws:iam::1:user/x\n", err: "aws-auth mapUsers does not parse"},
		{name: "groups not a list", key: "mapRoles", text: "- rolearn: arn:aws:iam::1:role/x\n  groups: system:masters\n", err: "aws-auth mapRoles does not parse"},
		{name: "role without its ARN", key: "mapRoles", text: "- username: x\n  groups: [a]\n", err: "entry 0 has no rolearn"},
		{name: "user entry under mapUsers with a rolearn", key: "mapUsers", text: "- rolearn: arn:aws:iam::1:role/x\n", err: "entry 0 has no userarn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAWSAuthMappings(tc.key, tc.text)
			if tc.err != "" {
				var pe *awsAuthParseError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &pe) || pe.key != tc.key {
					t.Fatalf("err = %v, want a parse error of %s containing %q", err, tc.key, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ms []AWSAuthMapping
			for _, e := range got {
				ms = append(ms, e.AWSAuthMapping)
			}
			if !reflect.DeepEqual(ms, tc.want) {
				t.Errorf("got %+v, want %+v", ms, tc.want)
			}
		})
	}
}

func TestParseAWSAuthAccounts(t *testing.T) {
	got, _, err := parseAWSAuthAccounts("- \"012345678901\"\n- 111122223333\n")
	if err != nil || !reflect.DeepEqual(got, []string{"012345678901", "111122223333"}) {
		t.Errorf("accounts = %q, %v", got, err)
	}
	for _, bad := range []string{"- {a: b}\n", "- 1.5\n", "[a\n"} {
		if _, _, err := parseAWSAuthAccounts(bad); err == nil || !strings.Contains(err.Error(), "aws-auth mapAccounts does not parse") {
			t.Errorf("accounts %q: err = %v, want a parse error naming mapAccounts", bad, err)
		}
	}
}

func TestAWSAuthMappingCompare(t *testing.T) {
	m := AWSAuthMapping{Kind: "role", ARN: "arn:aws:iam::1:role/CI", Username: "ci", Groups: []string{"a", "b"}}
	for _, tc := range []struct {
		name      string
		o         AWSAuthMapping
		same, key bool
	}{
		{"identical", m, true, true},
		{"groups in another order, ARN in another case", AWSAuthMapping{Kind: "role", ARN: "arn:aws:iam::1:role/ci", Username: "ci", Groups: []string{"b", "a"}}, true, true},
		{"another username", AWSAuthMapping{Kind: "role", ARN: m.ARN, Username: "deploy", Groups: m.Groups}, false, true},
		{"fewer groups", AWSAuthMapping{Kind: "role", ARN: m.ARN, Username: "ci", Groups: []string{"a"}}, false, true},
		{"a user of the same ARN", AWSAuthMapping{Kind: "user", ARN: m.ARN, Username: "ci", Groups: m.Groups}, true, false},
	} {
		if got := m.sameAs(tc.o); got != tc.same {
			t.Errorf("%s: sameAs = %v, want %v", tc.name, got, tc.same)
		}
		if got := m.key() == tc.o.key(); got != tc.key {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.key)
		}
	}
	for groups, node := range map[string]bool{"system:bootstrappers,system:nodes": true, "system:node-proxier": true, "system:masters": false, "": false} {
		if got := (AWSAuthMapping{Groups: strings.Split(groups, ",")}).Node(); got != node {
			t.Errorf("groups %q: node = %v, want %v", groups, got, node)
		}
	}
}

func TestAppendYAMLList(t *testing.T) {
	add := []any{map[string]any{"rolearn": "arn:aws:iam::1:role/new", "username": "new", "groups": []any{"g"}}}
	for _, tc := range []struct {
		name, text string
		keepsText  bool
	}{
		{"empty", "", true},
		{"block list with a comment is appended to as text", "# managed by eksctl\n- rolearn: arn:aws:iam::1:role/old\n  username: old\n", true},
		{"no trailing newline", "- rolearn: arn:aws:iam::1:role/old\n  username: old", true},
		{"flow style is rewritten", `[{rolearn: "arn:aws:iam::1:role/old", username: old}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var have []any
			if tc.text != "" {
				if err := yaml.Unmarshal([]byte(tc.text), &have); err != nil {
					t.Fatal(err)
				}
			}
			out, err := appendYAMLList(tc.text, have, add)
			if err != nil {
				t.Fatal(err)
			}
			var got []any
			if err := yaml.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("result does not parse: %v\n%s", err, out)
			}
			if want := append(append([]any{}, have...), add...); !reflect.DeepEqual(got, want) {
				t.Errorf("result reads %v, want %v\n%s", got, want, out)
			}
			if tc.text != "" && strings.HasPrefix(out, tc.text) != tc.keepsText {
				t.Errorf("keeps the original text = %v, want %v:\n%s", !tc.keepsText, tc.keepsText, out)
			}
			if !strings.Contains(out, "- groups:\n  - g\n  rolearn: arn:aws:iam::1:role/new\n") {
				t.Errorf("new entry not written as a YAML block list:\n%s", out)
			}
		})
	}
	if out, _ := appendYAMLList("- a\n", []any{"a"}, nil); out != "- a\n" {
		t.Errorf("nothing to add changed the text: %q", out)
	}
}

// conflictingConfigMaps makes the first Update of kube-system/aws-auth lose
// a race: just before it, another writer (EKS adding a node role) updates
// the ConfigMap through its own client.
type conflictingConfigMaps struct {
	typedcorev1.ConfigMapInterface
	other   kubernetes.Interface
	updates *atomic.Int32
}

func (c conflictingConfigMaps) Update(ctx context.Context, cm *corev1.ConfigMap, o metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	if c.updates.Add(1) == 1 {
		cur, err := c.other.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		cur.Data["mapRoles"] += "- rolearn: arn:aws:iam::123456789012:role/green-node-2\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n"
		if _, err := c.other.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
	}
	return c.ConfigMapInterface.Update(ctx, cm, o)
}

type conflictingCore struct {
	typedcorev1.CoreV1Interface
	other   kubernetes.Interface
	updates *atomic.Int32
}

func (c conflictingCore) ConfigMaps(ns string) typedcorev1.ConfigMapInterface {
	return conflictingConfigMaps{c.CoreV1Interface.ConfigMaps(ns), c.other, c.updates}
}

type conflictingKube struct {
	kubernetes.Interface
	updates *atomic.Int32
}

func (k conflictingKube) CoreV1() typedcorev1.CoreV1Interface {
	return conflictingCore{k.Interface.CoreV1(), k.Interface, k.updates}
}

const (
	blueNodeRole = "- rolearn: arn:aws:iam::123456789012:role/blue-node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n"
	blueRoles    = blueNodeRole +
		"- rolearn: arn:aws:iam::123456789012:role/ci-deploy\n  username: ci\n  groups: [system:masters]\n" +
		"- rolearn: arn:aws:iam::123456789012:role/teams/Viewer\n  username: viewer:{{SessionName}}\n  groups: [view, audit]\n" +
		"- rolearn: arn:aws:iam::123456789012:role/ops\n  username: ops\n  groups: [system:masters]\n"
	blueUsers = "- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n  groups: [edit]\n"
	// Green's own aws-auth: its node role, the viewer role mapped the same
	// way (groups in another order, ARN in another case), ops mapped
	// differently, and one of blue's accounts.
	greenRoles = "# written by EKS\n- rolearn: arn:aws:iam::123456789012:role/green-node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n" +
		"- rolearn: arn:aws:iam::123456789012:role/teams/viewer\n  username: viewer:{{SessionName}}\n  groups: [audit, view]\n" +
		"- rolearn: arn:aws:iam::123456789012:role/ops\n  username: ops\n  groups: [view]\n"
)

func arns(ms []AWSAuthMapping) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ARN)
	}
	return strings.Join(out, ",")
}

// TestCopyAWSAuth carries blue's aws-auth into green's on two real
// kube-apiservers: green's entries kept in their order and formatting,
// blue's appended, node roles skipped, conflicts left as green has them; a
// retry changes nothing; a lost optimistic-concurrency race is merged
// again; green without an aws-auth gets one.
func TestCopyAWSAuth(t *testing.T) {
	blue, green := startCluster(t, "blue"), startCluster(t, "green")
	ctx := ctxT(t)
	resolver := staticResolver{"blue": blue.cfg, "green": green.cfg}
	quiet := WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := New(resolver, quiet)
	in := CopyAWSAuthInput{Blue: blue.ref, Green: green.ref, Migration: "shop-to-1-31"}
	cms := func(c *testCluster) typedcorev1.ConfigMapInterface { return c.cs.CoreV1().ConfigMaps("kube-system") }
	readGreen := func(t *testing.T) AWSAuthMappings {
		t.Helper()
		got, err := a.ReadAWSAuth(ctx, ReadAWSAuthInput{Cluster: green.ref})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("blue without aws-auth", func(t *testing.T) {
		res, err := a.CopyAWSAuth(ctx, in)
		if err != nil || res.Found || len(res.Added) != 0 {
			t.Fatalf("CopyAWSAuth = %+v, %v; want Found=false", res, err)
		}
		if _, err := cms(green).Get(ctx, "aws-auth", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("green got an aws-auth from a blue without one: %v", err)
		}
		if got := readGreen(t); got.Found || len(got.Mappings) != 0 {
			t.Errorf("ReadAWSAuth of green = %+v, want not found", got)
		}
	})

	must(cms(blue).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "aws-auth", Namespace: "kube-system"},
		Data: map[string]string{"mapRoles": blueRoles, "mapUsers": blueUsers, "mapAccounts": "- \"111122223333\"\n- \"444455556666\"\n"}}, metav1.CreateOptions{}))
	must(cms(green).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "aws-auth", Namespace: "kube-system", Annotations: map[string]string{"team": "platform"}},
		Data: map[string]string{"mapRoles": greenRoles, "mapAccounts": "- \"444455556666\"\n"}}, metav1.CreateOptions{}))

	var first CopyAWSAuthResult
	t.Run("merge into green's aws-auth", func(t *testing.T) {
		var updates atomic.Int32
		racing := New(resolver, quiet, WithClientFactory(func(cfg *rest.Config) (*Clients, error) {
			c, err := DefaultClientFactory(cfg)
			if err != nil {
				return nil, err
			}
			if cfg.Host == green.cfg.Host {
				c.Kube = conflictingKube{c.Kube, &updates}
			}
			return c, nil
		}))
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(racing)
		val, err := env.ExecuteActivity(racing.CopyAWSAuth, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := val.Get(&first); err != nil {
			t.Fatal(err)
		}
		if updates.Load() != 2 {
			t.Errorf("%d updates of green's aws-auth, want 2 (the first lost the race)", updates.Load())
		}
		res := first
		if !res.Found {
			t.Error("Found = false")
		}
		if got := arns(res.Added); got != "arn:aws:iam::123456789012:role/ci-deploy,arn:aws:iam::123456789012:user/alice" {
			t.Errorf("Added = %s", got)
		}
		if got := arns(res.Present); got != "arn:aws:iam::123456789012:role/teams/Viewer" {
			t.Errorf("Present = %s", got)
		}
		if got := arns(res.Conflicts); got != "arn:aws:iam::123456789012:role/ops" || res.Conflicts[0].Groups[0] != "system:masters" {
			t.Errorf("Conflicts = %+v, want blue's ops mapping", res.Conflicts)
		}
		if got := arns(res.Skipped); got != "arn:aws:iam::123456789012:role/blue-node" {
			t.Errorf("Skipped = %s", got)
		}
		if strings.Join(res.AddedAccounts, ",") != "111122223333" {
			t.Errorf("AddedAccounts = %q", res.AddedAccounts)
		}

		cm := must(cms(green).Get(ctx, "aws-auth", metav1.GetOptions{}))
		roles := cm.Data["mapRoles"]
		if !strings.HasPrefix(roles, greenRoles) {
			t.Errorf("green's own mapRoles text was not kept as it was:\n%s", roles)
		}
		if !strings.Contains(roles, "- groups:\n  - system:masters\n  rolearn: arn:aws:iam::123456789012:role/ci-deploy\n  username: ci\n") {
			t.Errorf("ci-deploy not appended as a YAML list entry:\n%s", roles)
		}
		if strings.Contains(roles, "blue-node") || strings.Count(roles, "role/ops") != 1 {
			t.Errorf("node role copied or conflicting ops mapping changed:\n%s", roles)
		}
		if cm.Data["mapUsers"] != "- groups:\n  - edit\n  userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n" {
			t.Errorf("mapUsers = %q", cm.Data["mapUsers"])
		}
		if cm.Data["mapAccounts"] != "- \"444455556666\"\n- \"111122223333\"\n" {
			t.Errorf("mapAccounts = %q", cm.Data["mapAccounts"])
		}
		if cm.Annotations[AnnotationMigration] != "shop-to-1-31" || cm.Annotations["team"] != "platform" {
			t.Errorf("annotations %v", cm.Annotations)
		}
		var rec map[string]awsAuthCopied
		if err := json.Unmarshal([]byte(cm.Annotations[AnnotationAWSAuthCopied]), &rec); err != nil ||
			!reflect.DeepEqual(rec["shop-to-1-31"], awsAuthCopied{Roles: []string{"arn:aws:iam::123456789012:role/ci-deploy"},
				Users: []string{"arn:aws:iam::123456789012:user/alice"}, Accounts: []string{"111122223333"}}) {
			t.Errorf("annotation %s = %s (%v)", AnnotationAWSAuthCopied, cm.Annotations[AnnotationAWSAuthCopied], err)
		}

		got := readGreen(t)
		want := []string{"green-node", "teams/viewer", "ops", "green-node-2", "ci-deploy", "user/alice"}
		if !got.Found || len(got.Mappings) != len(want) {
			t.Fatalf("green's aws-auth reads %+v, want %v", got.Mappings, want)
		}
		for i, w := range want {
			if !strings.HasSuffix(got.Mappings[i].ARN, w) {
				t.Errorf("green mapping %d = %s, want …%s (green's entries first, in their order, then the concurrent one, then blue's)", i, got.Mappings[i].ARN, w)
			}
		}
		if !reflect.DeepEqual(got.Accounts, []string{"444455556666", "111122223333"}) {
			t.Errorf("green's accounts %q", got.Accounts)
		}
	})

	t.Run("a retry changes nothing and reports the same", func(t *testing.T) {
		before := must(cms(green).Get(ctx, "aws-auth", metav1.GetOptions{}))
		res, err := a.CopyAWSAuth(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, first) {
			t.Errorf("second call = %+v\nfirst = %+v", res, first)
		}
		after := must(cms(green).Get(ctx, "aws-auth", metav1.GetOptions{}))
		if after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the retry wrote green's aws-auth again:\n%s", after.Data["mapRoles"])
		}
	})

	t.Run("another migration finds blue's mappings present", func(t *testing.T) {
		other := in
		other.Migration = "shop-to-1-32"
		res, err := a.CopyAWSAuth(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Added) != 0 || arns(res.Present) != "arn:aws:iam::123456789012:role/ci-deploy,arn:aws:iam::123456789012:role/teams/Viewer,arn:aws:iam::123456789012:user/alice" {
			t.Errorf("other migration: Added %s, Present %s", arns(res.Added), arns(res.Present))
		}
	})

	t.Run("green without aws-auth gets one", func(t *testing.T) {
		if err := cms(green).Delete(ctx, "aws-auth", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := a.CopyAWSAuth(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := arns(res.Added); got != "arn:aws:iam::123456789012:role/ci-deploy,arn:aws:iam::123456789012:role/teams/Viewer,arn:aws:iam::123456789012:role/ops,arn:aws:iam::123456789012:user/alice" ||
			len(res.Present)+len(res.Conflicts) != 0 || strings.Join(res.AddedAccounts, ",") != "111122223333,444455556666" {
			t.Errorf("into a green without aws-auth: %+v", res)
		}
		cm := must(cms(green).Get(ctx, "aws-auth", metav1.GetOptions{}))
		var roles []map[string]any
		if err := yaml.Unmarshal([]byte(cm.Data["mapRoles"]), &roles); err != nil || len(roles) != 3 || roles[1]["rolearn"] != "arn:aws:iam::123456789012:role/teams/Viewer" {
			t.Errorf("green's new mapRoles %q (%v)", cm.Data["mapRoles"], err)
		}
		if cm.Annotations[AnnotationMigration] != "shop-to-1-31" {
			t.Errorf("annotations %v", cm.Annotations)
		}
	})

	t.Run("blue's aws-auth does not parse", func(t *testing.T) {
		cm := must(cms(blue).Get(ctx, "aws-auth", metav1.GetOptions{}))
		cm.Data["mapUsers"] = "- userarn: [oops\n"
		must(cms(blue).Update(ctx, cm, metav1.UpdateOptions{}))
		before := must(cms(green).Get(ctx, "aws-auth", metav1.GetOptions{}))
		_, err := a.CopyAWSAuth(ctx, in)
		if failures.TypeOf(err) != failures.InvalidParameter || !strings.Contains(err.Error(), "mapUsers") || !strings.Contains(err.Error(), "on cluster blue:") {
			t.Errorf("err = %v, want a definitive InvalidParameter naming blue's mapUsers", err)
		}
		if after := must(cms(green).Get(ctx, "aws-auth", metav1.GetOptions{})); after.ResourceVersion != before.ResourceVersion {
			t.Error("green's aws-auth was written despite the error")
		}
		if _, err := a.ReadAWSAuth(ctx, ReadAWSAuthInput{Cluster: blue.ref}); failures.TypeOf(err) != failures.InvalidParameter {
			t.Errorf("ReadAWSAuth of blue: %v, want InvalidParameter", err)
		}
	})

	t.Run("input", func(t *testing.T) {
		for _, bad := range []CopyAWSAuthInput{{Blue: blue.ref, Green: green.ref}, {Blue: blue.ref, Green: blue.ref, Migration: "m"}} {
			if _, err := a.CopyAWSAuth(ctx, bad); failures.TypeOf(err) != failures.Validation {
				t.Errorf("%+v: %v, want a ValidationError", bad, err)
			}
		}
	})
}

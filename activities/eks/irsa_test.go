package eks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

const (
	irsaAccount   = "123456789012"
	blueHP        = "oidc.eks.us-east-1.amazonaws.com/id/B1E0000000000000000000000000000A"
	greenHP       = "oidc.eks.us-east-1.amazonaws.com/id/64EE000000000000000000000000000B"
	githubHP      = "token.actions.githubusercontent.com"
	irsaMigration = "shop-prod-1-31"
)

var (
	blueProv   = "arn:aws:iam::" + irsaAccount + ":oidc-provider/" + blueHP
	greenProv  = "arn:aws:iam::" + irsaAccount + ":oidc-provider/" + greenHP
	githubProv = "arn:aws:iam::" + irsaAccount + ":oidc-provider/" + githubHP
	testEnds   = irsaEnds{blueARN: blueProv, greenARN: greenProv, blueHostPath: blueHP, greenHostPath: greenHP, migration: irsaMigration}
)

// irsaStatement is a web-identity statement for provider host hp.
func irsaStatement(hp, op string, sub any) string {
	s := map[string]any{
		"Effect":    "Allow",
		"Principal": map[string]any{"Federated": "arn:aws:iam::" + irsaAccount + ":oidc-provider/" + hp},
		"Action":    "sts:AssumeRoleWithWebIdentity",
	}
	if sub != nil {
		s["Condition"] = map[string]any{op: map[string]any{hp + ":sub": sub, hp + ":aud": "sts.amazonaws.com"}}
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func policyDoc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

const ec2Statement = `{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`

// awsEscape URL-encodes a policy the way IAM returns it (RFC 3986).
func awsEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func TestIRSATrustAnalysis(t *testing.T) {
	orders := irsaStatement(blueHP, "StringEquals", "system:serviceaccount:shop:orders")
	cases := []struct {
		name        string
		doc         string
		trusts      bool
		derived     int
		add         int
		subjects    []string
		anySubject  bool
		check       func(t *testing.T, add []outStatement)
		wantPresent int
	}{
		{
			name: "one statement, StringEquals on sub and aud", doc: policyDoc(orders),
			trusts: true, derived: 1, add: 1, subjects: []string{"system:serviceaccount:shop:orders"},
			check: func(t *testing.T, add []outStatement) {
				g := add[0]
				if g.Effect != "Allow" || g.Principal["Federated"] != greenProv || string(g.Action) != `"sts:AssumeRoleWithWebIdentity"` {
					t.Errorf("green statement %s", g.json())
				}
				want := map[string]map[string]json.RawMessage{"StringEquals": {
					greenHP + ":sub": json.RawMessage(`"system:serviceaccount:shop:orders"`),
					greenHP + ":aud": json.RawMessage(`"sts.amazonaws.com"`),
				}}
				if !reflect.DeepEqual(g.Condition, want) {
					t.Errorf("conditions %v", g.json())
				}
			},
		},
		{
			name:   "Statement is an object, Federated a list, URL-encoded document",
			doc:    awsEscape(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":["` + blueProv + `"]},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"` + blueHP + `:sub":"system:serviceaccount:kube-system:aws-node"}}}}`),
			trusts: true, derived: 1, add: 1, subjects: []string{"system:serviceaccount:kube-system:aws-node"},
			check: func(t *testing.T, add []outStatement) {
				if string(add[0].Action) != `["sts:AssumeRoleWithWebIdentity","sts:TagSession"]` {
					t.Errorf("action %s", add[0].Action)
				}
			},
		},
		{
			name: "StringLike with a list of subjects", doc: policyDoc(irsaStatement(blueHP, "StringLike", []string{"system:serviceaccount:shop:*", "system:serviceaccount:jobs:runner"})),
			trusts: true, derived: 1, add: 1, subjects: []string{"system:serviceaccount:jobs:runner", "system:serviceaccount:shop:*"},
			check: func(t *testing.T, add []outStatement) {
				sub := add[0].Condition["StringLike"][greenHP+":sub"]
				if string(sub) != `["system:serviceaccount:shop:*","system:serviceaccount:jobs:runner"]` {
					t.Errorf("sub %s", sub)
				}
			},
		},
		{
			name: "multiple statements: blue, EC2, another OIDC provider", doc: policyDoc(ec2Statement, orders, irsaStatement(githubHP, "StringLike", "repo:acme/shop:*")),
			trusts: true, derived: 1, add: 1, subjects: []string{"system:serviceaccount:shop:orders"},
		},
		{
			name: "two service accounts give two statements", doc: policyDoc(orders, irsaStatement(blueHP, "StringEquals", "system:serviceaccount:shop:billing")),
			trusts: true, derived: 2, add: 2, subjects: []string{"system:serviceaccount:shop:billing", "system:serviceaccount:shop:orders"},
			check: func(t *testing.T, add []outStatement) {
				if add[0].Sid == add[1].Sid {
					t.Errorf("same Sid for different statements: %s", add[0].Sid)
				}
			},
		},
		{
			name: "already trusts green (statement written by hand, other key case)",
			doc: policyDoc(orders, strings.ReplaceAll(strings.ReplaceAll(irsaStatement(greenHP, "StringEquals", "system:serviceaccount:shop:orders"), greenHP+":sub", strings.ToLower(greenHP)+":sub"),
				`"Effect"`, `"Sid":"ByHand","Effect"`)),
			trusts: true, derived: 1, add: 0, subjects: []string{"system:serviceaccount:shop:orders"},
		},
		{
			name:   "trusts green for one of two service accounts",
			doc:    policyDoc(orders, irsaStatement(blueHP, "StringEquals", "system:serviceaccount:shop:billing"), irsaStatement(greenHP, "StringEquals", "system:serviceaccount:shop:orders")),
			trusts: true, derived: 2, add: 1, subjects: []string{"system:serviceaccount:shop:billing", "system:serviceaccount:shop:orders"},
			check: func(t *testing.T, add []outStatement) {
				if got := string(add[0].Condition["StringEquals"][greenHP+":sub"]); got != `"system:serviceaccount:shop:billing"` {
					t.Errorf("added for %s", got)
				}
			},
		},
		{
			name: "a condition key on blue's issuer in lower case is rewritten",
			doc:  policyDoc(strings.ReplaceAll(orders, blueHP+":sub", strings.ToLower(blueHP)+":sub")),
			// IAM's condition keys are case-insensitive.
			trusts: true, derived: 1, add: 1, subjects: []string{"system:serviceaccount:shop:orders"},
			check: func(t *testing.T, add []outStatement) {
				if _, ok := add[0].Condition["StringEquals"][greenHP+":sub"]; !ok {
					t.Errorf("sub key not rewritten: %s", add[0].json())
				}
			},
		},
		{
			name: "wildcard action", doc: policyDoc(strings.ReplaceAll(orders, `"sts:AssumeRoleWithWebIdentity"`, `"sts:AssumeRoleWith*"`)),
			trusts: true, derived: 1, add: 1, subjects: []string{"system:serviceaccount:shop:orders"},
		},
		{
			name: "no sub condition: any service account", doc: policyDoc(irsaStatement(blueHP, "", nil)),
			trusts: true, derived: 1, add: 1, anySubject: true,
		},
		{name: "unrelated: another OIDC provider", doc: policyDoc(irsaStatement(githubHP, "StringLike", "repo:acme/*")), trusts: false},
		{name: "unrelated: a service role", doc: policyDoc(ec2Statement), trusts: false},
		{name: "blue's provider with sts:AssumeRole only", doc: policyDoc(strings.ReplaceAll(orders, "AssumeRoleWithWebIdentity", "AssumeRole")), trusts: false},
		{name: "blue's provider in a Deny only", doc: policyDoc(strings.ReplaceAll(orders, `"Allow"`, `"Deny"`)), trusts: false, derived: 1, add: 1},
		{
			name: "statement cutover added earlier is present", doc: func() string {
				a, _ := analyzeTrust(policyDoc(orders), testEnds)
				a.add(a.toAdd())
				d, _ := a.policy.encode()
				return d
			}(),
			trusts: true, derived: 1, add: 0, wantPresent: 1, subjects: []string{"system:serviceaccount:shop:orders"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := analyzeTrust(c.doc, testEnds)
			if err != nil {
				t.Fatal(err)
			}
			add := a.toAdd()
			if a.trustsBlue() != c.trusts || len(a.derived) != c.derived || len(add) != c.add || a.anySubject != c.anySubject {
				t.Fatalf("trusts=%v derived=%d add=%d anySubject=%v, want %v %d %d %v", a.trustsBlue(), len(a.derived), len(add), a.anySubject, c.trusts, c.derived, c.add, c.anySubject)
			}
			if !slices.Equal(a.subjects, c.subjects) {
				t.Errorf("subjects %v, want %v", a.subjects, c.subjects)
			}
			present := 0
			for _, d := range a.derived {
				if d.present {
					present++
				}
			}
			if present != c.wantPresent {
				t.Errorf("present %d, want %d", present, c.wantPresent)
			}
			for _, s := range add {
				if !regexp.MustCompile(`^` + IRSASidPrefix(irsaMigration) + `[0-9A-F]{8}$`).MatchString(s.Sid) {
					t.Errorf("Sid %q", s.Sid)
				}
			}
			if c.check != nil {
				c.check(t, add)
			}
			// Adding keeps every other statement as it was, and a second
			// analysis of the result has nothing left to add.
			before := len(a.policy.statements)
			a.add(add)
			doc, err := a.policy.encode()
			if err != nil {
				t.Fatal(err)
			}
			again, err := analyzeTrust(doc, testEnds)
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			if len(again.toAdd()) != 0 || len(again.policy.statements) != before+len(add) {
				t.Errorf("after adding: %d to add, %d statements\n%s", len(again.toAdd()), len(again.policy.statements), doc)
			}
		})
	}
}

func TestIRSASidAndEncoding(t *testing.T) {
	s := irsaStatement(blueHP, "StringEquals", "system:serviceaccount:shop:orders")
	a1, _ := analyzeTrust(policyDoc(s), testEnds)
	a2, _ := analyzeTrust(policyDoc(ec2Statement, s), testEnds)
	other := testEnds
	other.migration = "another"
	a3, _ := analyzeTrust(policyDoc(s), other)
	if a1.derived[0].green.Sid != a2.derived[0].green.Sid {
		t.Errorf("the same statement got Sids %s and %s", a1.derived[0].green.Sid, a2.derived[0].green.Sid)
	}
	if a1.derived[0].green.Sid == a3.derived[0].green.Sid || !strings.HasPrefix(a3.derived[0].green.Sid, IRSASidPrefix("another")) {
		t.Errorf("Sids do not name the migration: %s, %s", a1.derived[0].green.Sid, a3.derived[0].green.Sid)
	}
	// Unknown top-level keys and statement keys survive a rewrite.
	doc := `{"Statement":[{"Sid":"Keep","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true}}}],"Id":"trust","Version":"2012-10-17"}`
	p, err := parseTrustPolicy(doc)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := p.encode()
	if want := `{"Version":"2012-10-17","Id":"trust","Statement":[{"Sid":"Keep","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true}}}]}`; out != want {
		t.Errorf("encoded\n%s\nwant\n%s", out, want)
	}
	if _, err := parseTrustPolicy("%7Bnot json"); err == nil {
		t.Error("a broken policy parsed")
	}
}

// fakeIAM is an in-memory IAM: roles (trust policies are returned
// URL-encoded, as IAM does; a write naming a federated principal that is
// not a provider is refused, as IAM does) and OIDC providers. ListRoles
// pages two roles at a time.
type fakeIAM struct {
	IAMAPI // unimplemented methods panic

	mu        sync.Mutex
	roles     map[string]string // name -> trust policy JSON
	providers map[string]*fakeProvider
	updates   []string
	calls     []string
	errs      map[string][]error
	// afterUpdate runs (unlocked) after each successful UpdateAssumeRolePolicy.
	afterUpdate func(role, before string)
	quota       int
}

type fakeProvider struct {
	url       string
	clientIDs []string
	thumbs    []string
	tags      map[string]string
}

func newFakeIAM() *fakeIAM {
	return &fakeIAM{roles: map[string]string{}, providers: map[string]*fakeProvider{}, errs: map[string][]error{}, quota: DefaultTrustPolicyQuota}
}

func iamErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"}
}

func (f *fakeIAM) call(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func roleARN(name string) string { return "arn:aws:iam::" + irsaAccount + ":role/" + name }

func (f *fakeIAM) role(name string) iamtypes.Role {
	return iamtypes.Role{RoleName: aws.String(name), Arn: aws.String(roleARN(name)), AssumeRolePolicyDocument: aws.String(awsEscape(f.roles[name]))}
}

func (f *fakeIAM) doc(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.roles[name]
}

func (f *fakeIAM) ListRoles(_ context.Context, in *iam.ListRolesInput, _ ...func(*iam.Options)) (*iam.ListRolesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListRoles"); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(f.roles))
	for n := range f.roles {
		names = append(names, n)
	}
	sort.Strings(names)
	start := 0
	if m := aws.ToString(in.Marker); m != "" {
		fmt.Sscan(m, &start)
	}
	end := min(start+2, len(names))
	out := &iam.ListRolesOutput{}
	for _, n := range names[start:end] {
		out.Roles = append(out.Roles, f.role(n))
	}
	if end < len(names) {
		out.IsTruncated, out.Marker = true, aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("GetRole"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.RoleName)
	if _, ok := f.roles[name]; !ok {
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("role " + name)}
	}
	r := f.role(name)
	return &iam.GetRoleOutput{Role: &r}, nil
}

func (f *fakeIAM) UpdateAssumeRolePolicy(_ context.Context, in *iam.UpdateAssumeRolePolicyInput, _ ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error) {
	f.mu.Lock()
	name, doc := aws.ToString(in.RoleName), aws.ToString(in.PolicyDocument)
	if err := f.call("UpdateAssumeRolePolicy"); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	before, ok := f.roles[name]
	if !ok {
		f.mu.Unlock()
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("role " + name)}
	}
	p, err := parseTrustPolicy(doc)
	if err != nil || len(p.statements) == 0 {
		f.mu.Unlock()
		return nil, &iamtypes.MalformedPolicyDocumentException{Message: aws.String("Syntax errors in policy.")}
	}
	for _, raw := range p.statements {
		var s statement
		_ = json.Unmarshal(raw, &s)
		for _, fed := range s.federated() {
			if _, ok := f.providers[fed]; !ok {
				f.mu.Unlock()
				return nil, &iamtypes.MalformedPolicyDocumentException{Message: aws.String("Invalid principal in policy: \"" + fed + "\"")}
			}
		}
	}
	if policyLength(doc) > f.quota {
		f.mu.Unlock()
		return nil, &iamtypes.LimitExceededException{Message: aws.String("Cannot exceed quota for ACLSizePerRole")}
	}
	f.roles[name] = doc
	f.updates = append(f.updates, name)
	hook := f.afterUpdate
	f.mu.Unlock()
	if hook != nil {
		hook(name, before)
	}
	return &iam.UpdateAssumeRolePolicyOutput{}, nil
}

func (f *fakeIAM) ListOpenIDConnectProviders(context.Context, *iam.ListOpenIDConnectProvidersInput, ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListOpenIDConnectProviders"); err != nil {
		return nil, err
	}
	out := &iam.ListOpenIDConnectProvidersOutput{}
	for _, a := range sortedKeys(f.providers) {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, iamtypes.OpenIDConnectProviderListEntry{Arn: aws.String(a)})
	}
	return out, nil
}

func (f *fakeIAM) GetOpenIDConnectProvider(_ context.Context, in *iam.GetOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("GetOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	p, ok := f.providers[aws.ToString(in.OpenIDConnectProviderArn)]
	if !ok {
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("provider")}
	}
	out := &iam.GetOpenIDConnectProviderOutput{Url: aws.String(p.url), ClientIDList: slices.Clone(p.clientIDs), ThumbprintList: slices.Clone(p.thumbs)}
	for _, k := range sortedKeys(p.tags) {
		out.Tags = append(out.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(p.tags[k])})
	}
	return out, nil
}

func (f *fakeIAM) CreateOpenIDConnectProvider(_ context.Context, in *iam.CreateOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	a := "arn:aws:iam::" + irsaAccount + ":oidc-provider/" + issuerHostPath(aws.ToString(in.Url))
	if _, ok := f.providers[a]; ok {
		return nil, &iamtypes.EntityAlreadyExistsException{Message: aws.String("provider exists")}
	}
	f.providers[a] = &fakeProvider{url: issuerHostPath(aws.ToString(in.Url)), clientIDs: in.ClientIDList, thumbs: in.ThumbprintList, tags: tagMap(in.Tags)}
	return &iam.CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: aws.String(a)}, nil
}

func (f *fakeIAM) DeleteOpenIDConnectProvider(_ context.Context, in *iam.DeleteOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.DeleteOpenIDConnectProviderOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	a := aws.ToString(in.OpenIDConnectProviderArn)
	if _, ok := f.providers[a]; !ok {
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("provider")}
	}
	delete(f.providers, a)
	return &iam.DeleteOpenIDConnectProviderOutput{}, nil
}

func (f *fakeIAM) TagOpenIDConnectProvider(_ context.Context, in *iam.TagOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.TagOpenIDConnectProviderOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("TagOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	p, ok := f.providers[aws.ToString(in.OpenIDConnectProviderArn)]
	if !ok {
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("provider")}
	}
	for k, v := range tagMap(in.Tags) {
		p.tags[k] = v
	}
	return &iam.TagOpenIDConnectProviderOutput{}, nil
}

func (f *fakeIAM) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

// irsaWorld is blue and green in a fake EKS, and an IAM with blue's
// provider, two IRSA roles, a role trusting blue and green already, a
// GitHub Actions role and a service role.
type irsaWorld struct {
	eks *fakeEKS
	iam *fakeIAM
	a   *Activities
}

func newIRSAWorld(t *testing.T) *irsaWorld {
	t.Helper()
	f := newFakeEKS()
	for name, hp := range map[string]string{"blue": blueHP, "green": greenHP} {
		f.clusters[name] = &ekstypes.Cluster{
			Name: aws.String(name), Arn: aws.String("arn:aws:eks:us-east-1:" + irsaAccount + ":cluster/" + name), Status: ekstypes.ClusterStatusActive,
			Identity: &ekstypes.Identity{Oidc: &ekstypes.OIDC{Issuer: aws.String("https://" + hp)}},
		}
	}
	fi := newFakeIAM()
	fi.providers[blueProv] = &fakeProvider{url: blueHP, clientIDs: []string{"sts.amazonaws.com"}, thumbs: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}, tags: map[string]string{}}
	fi.providers[githubProv] = &fakeProvider{url: githubHP, clientIDs: []string{"sts.amazonaws.com"}, tags: map[string]string{}}
	fi.roles["vpc-cni"] = policyDoc(irsaStatement(blueHP, "StringEquals", "system:serviceaccount:kube-system:aws-node"))
	fi.roles["orders"] = policyDoc(ec2Statement, irsaStatement(blueHP, "StringLike", "system:serviceaccount:shop:orders*"))
	fi.roles["github-deploy"] = policyDoc(irsaStatement(githubHP, "StringLike", "repo:acme/shop:*"))
	fi.roles["nodes"] = policyDoc(ec2Statement)
	a := New(fakeClients{eks: f, ssm: &fakeSSM{params: map[string]string{}}, iam: fi}, nil)
	a.pollInterval = 0 // no settling time after a write
	return &irsaWorld{eks: f, iam: fi, a: a}
}

func (w *irsaWorld) plan(t *testing.T, green string) IRSAPlan {
	t.Helper()
	p, err := w.a.PlanIRSATrust(context.Background(), PlanIRSAInput{
		Migration: irsaMigration, Blue: clusters.Ref{Name: "blue", Region: "us-east-1"}, Green: clusters.Ref{Name: green, Region: "us-east-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func roleNames(p IRSAPlan) []string {
	var out []string
	for _, r := range p.Roles {
		out = append(out, r.RoleName)
	}
	return out
}

func TestIRSAFlow(t *testing.T) {
	ctx := context.Background()
	w := newIRSAWorld(t)
	original := map[string]string{}
	for n, d := range w.iam.roles {
		original[n] = d
	}

	dry := w.plan(t, "")
	if !dry.DryRun() || !slices.Equal(roleNames(dry), []string{"orders", "vpc-cni"}) || !slices.Equal(dry.RolesToChange(), []string{"orders", "vpc-cni"}) {
		t.Fatalf("dry run plan %+v", dry)
	}
	for _, r := range dry.Roles {
		if len(r.Add) != 0 {
			t.Errorf("dry run plans statements for %s", r.RoleName)
		}
	}
	if dry.Blue.ARN != blueProv || !dry.Blue.Exists || len(dry.Blue.Thumbprints) != 1 {
		t.Errorf("blue provider %+v", dry.Blue)
	}

	plan := w.plan(t, "green")
	if plan.Green.ARN != greenProv || plan.Green.Exists || plan.Green.Issuer != "https://"+greenHP {
		t.Fatalf("green provider %+v", plan.Green)
	}
	if !slices.Equal(plan.RolesToChange(), []string{"orders", "vpc-cni"}) {
		t.Fatalf("roles to change %v (plan %+v)", plan.RolesToChange(), plan.Roles)
	}
	if r := plan.Roles[1]; !slices.Equal(r.Subjects, []string{"system:serviceaccount:kube-system:aws-node"}) || len(r.Add) != 1 {
		t.Errorf("vpc-cni %+v", r)
	}
	if w.iam.count("UpdateAssumeRolePolicy") != 0 || w.iam.count("CreateOpenIDConnectProvider") != 0 {
		t.Fatal("the plan changed something")
	}

	// Apply before green's provider exists is refused.
	if _, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan}); !failures.Is(err, failures.NotFound) {
		t.Fatalf("apply without green's provider: %v", err)
	}

	env := newActivityEnv(t, w.a)
	prov, err := run[EnsureOIDCProviderResult](t, env, w.a.EnsureGreenOIDCProvider, EnsureOIDCProviderInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if prov.ARN != greenProv || !prov.Created || prov.Adopted {
		t.Fatalf("ensure provider %+v", prov)
	}
	gp := w.iam.providers[greenProv]
	if !slices.Equal(gp.clientIDs, []string{"sts.amazonaws.com"}) || !slices.Equal(gp.thumbs, plan.Blue.Thumbprints) ||
		gp.tags[TagMigration] != irsaMigration || gp.tags[TagManagedBy] != "cutover" || gp.tags[TagCluster] != "green" {
		t.Errorf("green provider %+v", gp)
	}
	again, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan})
	if err != nil || again != prov || w.iam.count("CreateOpenIDConnectProvider") != 1 {
		t.Fatalf("ensure again %+v %v (%d creates)", again, err, w.iam.count("CreateOpenIDConnectProvider"))
	}

	applied, err := run[ApplyIRSAResult](t, env, w.a.ApplyIRSATrust, ApplyIRSAInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied.Added) != 2 || applied.Added[0].RoleName != "orders" || applied.Added[1].RoleName != "vpc-cni" ||
		len(applied.Unchanged) != 0 || len(applied.Failed) != 0 {
		t.Fatalf("apply %+v", applied)
	}
	if !slices.Equal(w.iam.updates, []string{"orders", "vpc-cni"}) {
		t.Errorf("writes %v", w.iam.updates)
	}
	for _, n := range []string{"orders", "vpc-cni"} {
		if a, _ := analyzeTrust(w.iam.doc(n), plan.ends()); len(a.toAdd()) != 0 || len(a.policy.statements) != strings.Count(original[n], `"Effect"`)+1 {
			t.Errorf("%s after apply: %s", n, w.iam.doc(n))
		}
	}
	for _, n := range []string{"github-deploy", "nodes"} {
		if w.iam.doc(n) != original[n] {
			t.Errorf("%s was changed: %s", n, w.iam.doc(n))
		}
	}

	// A retry adds nothing and reports the same statements.
	retried, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
	if err != nil || !reflect.DeepEqual(retried.Added, applied.Added) || len(w.iam.updates) != 2 {
		t.Fatalf("apply again %+v %v, writes %v", retried, err, w.iam.updates)
	}
	// A new plan sees green trusted everywhere.
	if p := w.plan(t, "green"); len(p.RolesToChange()) != 0 {
		t.Errorf("plan after apply changes %v", p.RolesToChange())
	}

	// Revert removes exactly what was added, and green's provider.
	rev, err := run[RevertIRSAResult](t, env, w.a.RevertIRSATrust, RevertIRSAInput{Migration: irsaMigration, Region: "us-east-1", Added: applied.Added, GreenProviderARN: prov.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rev.Removed, applied.Added) || len(rev.AlreadyGone) != 0 || !rev.ProviderDeleted {
		t.Fatalf("revert %+v", rev)
	}
	for n, d := range original {
		if got := w.iam.doc(n); got != d && !sameJSON(got, d) {
			t.Errorf("%s after revert:\n%s\nwant\n%s", n, got, d)
		}
	}
	if _, ok := w.iam.providers[greenProv]; ok {
		t.Error("green's provider survived the revert")
	}
	rev2, err := w.a.RevertIRSATrust(ctx, RevertIRSAInput{Migration: irsaMigration, Region: "us-east-1", Added: applied.Added, GreenProviderARN: prov.ARN})
	if err != nil || len(rev2.Removed) != 0 || len(rev2.AlreadyGone) != 2 || rev2.ProviderDeleted {
		t.Fatalf("revert again %+v %v", rev2, err)
	}
}

// A role that already trusts green (by hand, green's provider made by
// hand too) is not changed, and the provider is adopted.
func TestIRSAAlreadyTrustsGreen(t *testing.T) {
	ctx := context.Background()
	w := newIRSAWorld(t)
	w.iam.providers[greenProv] = &fakeProvider{url: greenHP, clientIDs: []string{"sts.amazonaws.com"}, tags: map[string]string{}}
	payments := policyDoc(irsaStatement(blueHP, "StringEquals", "system:serviceaccount:payments:api"), irsaStatement(greenHP, "StringEquals", "system:serviceaccount:payments:api"))
	w.iam.roles = map[string]string{"payments": payments, "nodes": policyDoc(ec2Statement)}
	plan := w.plan(t, "green")
	if len(plan.Roles) != 1 || !plan.Roles[0].AlreadyTrustsGreen || len(plan.Roles[0].Add) != 0 || len(plan.RolesToChange()) != 0 || !plan.Green.Exists {
		t.Fatalf("plan %+v", plan)
	}
	prov, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan})
	if err != nil || !prov.Adopted {
		t.Fatalf("ensure %+v %v", prov, err)
	}
	res, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
	if err != nil || len(res.Added) != 0 || !slices.Equal(res.Unchanged, []string{"payments"}) || w.iam.count("UpdateAssumeRolePolicy") != 0 {
		t.Fatalf("apply %+v %v", res, err)
	}
	// Retiring blue removes blue's statement: green's by hand is its equivalent.
	ret, err := w.a.RetireBlueIRSATrust(ctx, RetireBlueIRSAInput{Plan: plan})
	if err != nil || len(ret.Updated) != 1 || !ret.ProviderDeleted {
		t.Fatalf("retire blue %+v %v", ret, err)
	}
	if want := policyDoc(irsaStatement(greenHP, "StringEquals", "system:serviceaccount:payments:api")); w.iam.doc("payments") != want {
		t.Errorf("payments %s", w.iam.doc("payments"))
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func TestIRSARetireBlue(t *testing.T) {
	ctx := context.Background()
	w := newIRSAWorld(t)
	plan := w.plan(t, "green")
	if _, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	// A role made after the plan trusts only blue.
	w.iam.roles["late"] = policyDoc(irsaStatement(blueHP, "StringEquals", "system:serviceaccount:late:job"))

	res, err := w.a.RetireBlueIRSATrust(ctx, RetireBlueIRSAInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updated) != 2 || res.Updated[0].RoleName != "orders" || res.Updated[1].RoleName != "vpc-cni" || res.ProviderDeleted {
		t.Fatalf("retire blue %+v", res)
	}
	for _, n := range []string{"orders", "vpc-cni"} {
		if referencesProvider(w.iam.doc(n), blueProv) || !referencesProvider(w.iam.doc(n), greenProv) {
			t.Errorf("%s after retiring blue: %s", n, w.iam.doc(n))
		}
	}
	if !strings.Contains(w.iam.doc("orders"), "ec2.amazonaws.com") {
		t.Errorf("orders lost its other statement: %s", w.iam.doc("orders"))
	}
	checks := map[string]string{}
	for _, f := range res.Findings {
		checks[f.Check] = f.Object
	}
	if checks[CheckIRSALastStatement] != "" || checks[CheckIRSABlueKept] != "late" || checks[CheckIRSAProviderKept] != blueProv {
		t.Errorf("findings %+v", res.Findings)
	}
	if _, ok := w.iam.providers[blueProv]; !ok {
		t.Fatal("blue's provider was deleted although role late still trusts it")
	}

	// Once nothing names blue, its provider goes; then it is idempotent.
	delete(w.iam.roles, "late")
	res, err = w.a.RetireBlueIRSATrust(ctx, RetireBlueIRSAInput{Plan: plan})
	if err != nil || len(res.Updated) != 0 || !res.ProviderDeleted {
		t.Fatalf("retire blue again %+v %v", res, err)
	}
	res, err = w.a.RetireBlueIRSATrust(ctx, RetireBlueIRSAInput{Plan: plan})
	if err != nil || res.ProviderDeleted || !res.ProviderAlreadyGone {
		t.Fatalf("retire blue a third time %+v %v", res, err)
	}
}

func TestIRSARetireBlueKeepsSharedStatements(t *testing.T) {
	ctx := context.Background()
	w := newIRSAWorld(t)
	w.iam.providers[greenProv] = &fakeProvider{url: greenHP, clientIDs: []string{"sts.amazonaws.com"}, tags: map[string]string{}}
	plan := w.plan(t, "green")
	// Blue's statement and green's in one: Federated lists both providers.
	both := strings.Replace(irsaStatement(blueHP, "StringEquals", "system:serviceaccount:shop:orders"), `"Federated":"`+blueProv+`"`, `"Federated":["`+blueProv+`","`+greenProv+`"]`, 1)
	w.iam.roles = map[string]string{"both": policyDoc(both)}
	res, err := w.a.RetireBlueIRSATrust(ctx, RetireBlueIRSAInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updated) != 0 || len(res.Failed) != 0 || w.iam.count("UpdateAssumeRolePolicy") != 0 {
		t.Fatalf("retire %+v", res)
	}
	if len(res.Findings) != 2 || res.Findings[0].Check != CheckIRSABlueKept || res.Findings[1].Check != CheckIRSAProviderKept {
		t.Errorf("findings %+v", res.Findings)
	}
}

func TestIRSAApplyRereadsBeforeWriting(t *testing.T) {
	ctx := context.Background()
	t.Run("a concurrent writer that drops the statement", func(t *testing.T) {
		w := newIRSAWorld(t)
		plan := w.plan(t, "green")
		if _, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan}); err != nil {
			t.Fatal(err)
		}
		once := false
		w.iam.afterUpdate = func(role, before string) {
			if role == "vpc-cni" && !once {
				once = true
				w.iam.mu.Lock()
				w.iam.roles[role] = before // someone wrote what they had read before us
				w.iam.mu.Unlock()
			}
		}
		res, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		if err != nil || len(res.Added) != 2 {
			t.Fatalf("apply %+v %v", res, err)
		}
		if !slices.Equal(w.iam.updates, []string{"orders", "vpc-cni", "vpc-cni"}) {
			t.Errorf("writes %v", w.iam.updates)
		}
		if a, _ := analyzeTrust(w.iam.doc("vpc-cni"), plan.ends()); len(a.toAdd()) != 0 || len(a.policy.statements) != 2 {
			t.Errorf("vpc-cni %s", w.iam.doc("vpc-cni"))
		}
	})
	t.Run("a writer that keeps dropping it fails the attempt retryably", func(t *testing.T) {
		w := newIRSAWorld(t)
		plan := w.plan(t, "green")
		if _, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan}); err != nil {
			t.Fatal(err)
		}
		w.iam.afterUpdate = func(role, before string) {
			w.iam.mu.Lock()
			w.iam.roles[role] = before
			w.iam.mu.Unlock()
		}
		_, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		wantErrType(t, err, failures.NotReadyYet, false)
	})
	t.Run("blue's statement changed since the plan", func(t *testing.T) {
		w := newIRSAWorld(t)
		plan := w.plan(t, "green")
		if _, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan}); err != nil {
			t.Fatal(err)
		}
		w.iam.roles["vpc-cni"] = policyDoc(irsaStatement(blueHP, "StringEquals", "system:serviceaccount:kube-system:other"))
		res, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Added) != 1 || res.Added[0].RoleName != "orders" || len(res.Findings) != 1 || res.Findings[0].Check != CheckIRSATrustChanged || res.Findings[0].Object != "vpc-cni" {
			t.Fatalf("apply %+v", res)
		}
		if !slices.Equal(w.iam.updates, []string{"orders"}) {
			t.Errorf("writes %v", w.iam.updates)
		}
	})
}

func TestIRSAErrors(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*irsaWorld, IRSAPlan) {
		w := newIRSAWorld(t)
		plan := w.plan(t, "green")
		if _, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan}); err != nil {
			t.Fatal(err)
		}
		return w, plan
	}
	t.Run("a role IAM refuses to change is a failure of that role only", func(t *testing.T) {
		w, plan := setup(t)
		w.iam.errs["UpdateAssumeRolePolicy"] = []error{iamErr("AccessDenied")}
		res, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failed) != 1 || res.Failed[0].RoleName != "orders" || res.Failed[0].Type != failures.AccessDenied ||
			len(res.Added) != 1 || res.Added[0].RoleName != "vpc-cni" || res.Findings[0].Check != CheckIRSATrustNotUpdated {
			t.Fatalf("apply %+v", res)
		}
	})
	t.Run("a trust policy over its quota", func(t *testing.T) {
		w, plan := setup(t)
		w.iam.quota = len(w.iam.doc("vpc-cni")) + 10
		res, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		if err != nil || len(res.Failed) != 2 || res.Failed[0].Type != failures.Conflict {
			t.Fatalf("apply %+v %v", res, err)
		}
	})
	t.Run("throttling and 5xx fail the attempt retryably", func(t *testing.T) {
		w, plan := setup(t)
		w.iam.errs["GetRole"] = []error{iamErr("Throttling")}
		_, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		wantErrType(t, err, failures.Throttled, false)
		w.iam.errs["ListRoles"] = []error{iamErr("ServiceFailure")}
		_, err = w.a.PlanIRSATrust(ctx, PlanIRSAInput{Migration: irsaMigration, Blue: clusters.Ref{Name: "blue", Region: "us-east-1"}})
		wantErrType(t, err, failures.Transient, false)
		w.iam.errs["UpdateAssumeRolePolicy"] = []error{iamErr("ConcurrentModification")}
		_, err = w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
		wantErrType(t, err, failures.ResourceInUse, false)
		// ... and the retry finishes the job.
		if res, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan}); err != nil || len(res.Added) != 2 {
			t.Fatalf("apply after the faults %+v %v", res, err)
		}
	})
	t.Run("a plan that cannot read the roles", func(t *testing.T) {
		w := newIRSAWorld(t)
		w.iam.errs["ListRoles"] = []error{iamErr("AccessDenied")}
		_, err := w.a.PlanIRSATrust(ctx, PlanIRSAInput{Migration: irsaMigration, Blue: clusters.Ref{Name: "blue", Region: "us-east-1"}})
		wantErrType(t, err, failures.AccessDenied, true)
	})
	t.Run("green with blue's issuer", func(t *testing.T) {
		w := newIRSAWorld(t)
		w.eks.clusters["green"].Identity = w.eks.clusters["blue"].Identity
		_, err := w.a.PlanIRSATrust(ctx, PlanIRSAInput{Migration: irsaMigration, Blue: clusters.Ref{Name: "blue", Region: "us-east-1"}, Green: clusters.Ref{Name: "green"}})
		wantErrType(t, err, failures.Conflict, true)
	})
	t.Run("green does not exist", func(t *testing.T) {
		w := newIRSAWorld(t)
		_, err := w.a.PlanIRSATrust(ctx, PlanIRSAInput{Migration: irsaMigration, Blue: clusters.Ref{Name: "blue", Region: "us-east-1"}, Green: clusters.Ref{Name: "nope"}})
		wantErrType(t, err, failures.NotFound, true)
	})
	t.Run("a dry-run plan is not applied", func(t *testing.T) {
		w := newIRSAWorld(t)
		_, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: w.plan(t, "")})
		wantErrType(t, err, failures.InvalidParameter, true)
	})
	t.Run("revert takes only this migration's Sids", func(t *testing.T) {
		w := newIRSAWorld(t)
		_, err := w.a.RevertIRSATrust(ctx, RevertIRSAInput{Migration: irsaMigration, Region: "us-east-1", Added: []IRSATrustChange{{RoleName: "orders", Sid: "ByHand"}}})
		wantErrType(t, err, failures.InvalidParameter, true)
	})
}

func TestIRSAEnsureProvider(t *testing.T) {
	ctx := context.Background()
	t.Run("an existing provider is adopted and never deleted by a revert", func(t *testing.T) {
		w := newIRSAWorld(t)
		w.iam.providers[greenProv] = &fakeProvider{url: greenHP, clientIDs: []string{"sts.amazonaws.com"}, tags: map[string]string{"team": "platform"}}
		plan := w.plan(t, "green")
		if !plan.Green.Exists {
			t.Error("plan does not see green's provider")
		}
		res, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan})
		if err != nil || !res.Adopted || res.Created || res.ARN != greenProv {
			t.Fatalf("ensure %+v %v", res, err)
		}
		if tags := w.iam.providers[greenProv].tags; tags[TagAdoptedBy] != irsaMigration || tags[TagMigration] != "" {
			t.Errorf("tags %v", tags)
		}
		rev, err := w.a.RevertIRSATrust(ctx, RevertIRSAInput{Migration: irsaMigration, Region: "us-east-1", GreenProviderARN: greenProv})
		if err != nil || rev.ProviderDeleted || len(rev.Findings) != 1 || rev.Findings[0].Check != CheckIRSAProviderKept {
			t.Fatalf("revert %+v %v", rev, err)
		}
		if _, ok := w.iam.providers[greenProv]; !ok {
			t.Fatal("an adopted provider was deleted")
		}
	})
	t.Run("an existing provider without the sts.amazonaws.com audience", func(t *testing.T) {
		w := newIRSAWorld(t)
		w.iam.providers[greenProv] = &fakeProvider{url: greenHP, clientIDs: []string{"other"}, tags: map[string]string{}}
		_, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: w.plan(t, "green")})
		wantErrType(t, err, failures.Conflict, true)
	})
	t.Run("created concurrently", func(t *testing.T) {
		w := newIRSAWorld(t)
		plan := w.plan(t, "green")
		w.iam.providers[greenProv] = &fakeProvider{url: greenHP, clientIDs: []string{"sts.amazonaws.com"}, tags: map[string]string{TagManagedBy: "cutover", TagMigration: irsaMigration}}
		res, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan})
		if err != nil || !res.Created || w.iam.count("CreateOpenIDConnectProvider") != 0 || w.iam.count("TagOpenIDConnectProvider") != 0 {
			t.Fatalf("ensure %+v %v", res, err)
		}
	})
}

func TestIRSARevertKeepsTheOnlyStatement(t *testing.T) {
	ctx := context.Background()
	w := newIRSAWorld(t)
	plan := w.plan(t, "green")
	if _, err := w.a.EnsureGreenOIDCProvider(ctx, EnsureOIDCProviderInput{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	applied, err := w.a.ApplyIRSATrust(ctx, ApplyIRSAInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	// Someone removed blue's statement from vpc-cni: cutover's is the last.
	a, _ := analyzeTrust(w.iam.doc("vpc-cni"), plan.ends())
	a.removeIndices(map[int]bool{0: true})
	doc, _ := a.policy.encode()
	w.iam.roles["vpc-cni"] = doc
	rev, err := w.a.RevertIRSATrust(ctx, RevertIRSAInput{Migration: irsaMigration, Region: "us-east-1", Added: applied.Added, GreenProviderARN: greenProv})
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Removed) != 1 || rev.Removed[0].RoleName != "orders" || len(rev.AlreadyGone) != 0 || rev.ProviderDeleted {
		t.Fatalf("revert %+v", rev)
	}
	checks := []string{}
	for _, f := range rev.Findings {
		checks = append(checks, f.Check+":"+f.Object)
	}
	if !slices.Equal(checks, []string{CheckIRSALastStatement + ":vpc-cni", CheckIRSAProviderKept + ":" + greenProv}) {
		t.Errorf("findings %v", checks)
	}
	if w.iam.doc("vpc-cni") != doc {
		t.Errorf("vpc-cni changed: %s", w.iam.doc("vpc-cni"))
	}
}

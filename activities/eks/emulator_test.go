package eks

// Integration tests of the activities against the sandbox's moto with its
// EKS emulation (internal/sandbox/motoext): add-ons, access entries and
// policies, upgrade insights and cluster versions, through the SDK's own
// serializers and error deserializers. Like TestMoto, it fails (never
// skips) when moto is not installed.

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

const (
	emuAccount = "123456789012"
	// emuCreator is the identity moto gives the sandbox's credentials; EKS
	// gives the cluster creator an admin access entry.
	emuCreator         = "arn:aws:iam::" + emuAccount + ":user/moto"
	clusterAdminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	emuEditPolicy      = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
	emuViewPolicy      = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	coreDNSValue       = `{"replicaCount":3}`
)

type emuEnv struct {
	*motoEnv
	moto *sandbox.Moto
	iam  *iam.Client
}

func newEmuEnv(t *testing.T) *emuEnv {
	t.Helper()
	moto := sandboxtest.Moto(t)
	cfg, err := moto.AWS().ForRegion(context.Background(), moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	// Faster than the sandbox's default, still asynchronous.
	if err := moto.ConfigureEKS(context.Background(), sandbox.EKSEmulatorSettings{Delay: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return &emuEnv{
		motoEnv: &motoEnv{aws: moto.AWS(), region: moto.Region, api: awseks.NewFromConfig(cfg)},
		moto:    moto,
		iam:     iam.NewFromConfig(cfg),
	}
}

// role creates an IAM role with the trust policy doc and returns its ARN.
func (e *emuEnv) role(t *testing.T, name string, doc any) string {
	t.Helper()
	if doc == nil {
		doc = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "pods.eks.amazonaws.com"}, "Action": []string{"sts:AssumeRole", "sts:TagSession"},
		}}}
	}
	b, _ := json.Marshal(doc)
	out, err := e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(string(b))})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return aws.ToString(out.Role.Arn)
}

// irsaTrust is an IRSA trust policy for service account kube-system/sa of
// each issuer.
func irsaTrust(sa string, issuers ...string) map[string]any {
	var st []any
	for _, is := range issuers {
		host := strings.TrimPrefix(is, "https://")
		st = append(st, map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": "arn:aws:iam::" + emuAccount + ":oidc-provider/" + host},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{
				host + ":sub": "system:serviceaccount:kube-system:" + sa, host + ":aud": "sts.amazonaws.com",
			}},
		})
	}
	return map[string]any{"Version": "2012-10-17", "Statement": st}
}

func (e *emuEnv) oidcProvider(t *testing.T, issuer string) {
	t.Helper()
	if _, err := e.iam.CreateOpenIDConnectProvider(context.Background(), &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(issuer), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.Repeat("a", 40)},
	}); err != nil {
		t.Fatalf("create OIDC provider %s: %v", issuer, err)
	}
}

// cluster creates an ACTIVE cluster in API_AND_CONFIG_MAP mode with one
// node group at its version and returns its OIDC issuer.
func (e *emuEnv) cluster(t *testing.T, name, version string) string {
	t.Helper()
	ctx := context.Background()
	out, err := e.api.CreateCluster(ctx, &awseks.CreateClusterInput{
		Name: aws.String(name), Version: aws.String(version), RoleArn: aws.String(motoClusterRole),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-0a1", "subnet-0b2"}},
		AccessConfig:       &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap},
	})
	if err != nil {
		t.Fatalf("create cluster %s: %v", name, err)
	}
	// No version and no release: EKS picks the cluster's and the recommended one.
	if _, err := e.api.CreateNodegroup(ctx, &awseks.CreateNodegroupInput{
		ClusterName: aws.String(name), NodegroupName: aws.String("general"), NodeRole: aws.String(motoNodeRole),
		Subnets: []string{"subnet-0a1"}, AmiType: ekstypes.AMITypesAl2023X8664Standard,
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(2)},
	}); err != nil {
		t.Fatalf("create node group of %s: %v", name, err)
	}
	return aws.ToString(out.Cluster.Identity.Oidc.Issuer)
}

// blue makes a realistic blue at version: vpc-cni on an IRSA role that
// trusts blue's OIDC provider, coredns with configuration values, a CI role
// with an access entry and two policies (besides the creator's and the node
// role's entries EKS makes). It returns blue's issuer and the roles.
func (e *emuEnv) blue(t *testing.T, name, version string) (issuer, cniRole, ciRole string) {
	t.Helper()
	ctx := context.Background()
	issuer = e.cluster(t, name, version)
	e.oidcProvider(t, issuer)
	cniRole = e.role(t, name+"-cni", irsaTrust("aws-node", issuer))
	ciRole = e.role(t, name+"-ci", nil)
	for _, in := range []*awseks.CreateAddonInput{
		{AddonName: aws.String("vpc-cni"), ServiceAccountRoleArn: aws.String(cniRole)},
		{AddonName: aws.String("coredns"), ConfigurationValues: aws.String(coreDNSValue)},
	} {
		in.ClusterName = aws.String(name)
		if _, err := e.api.CreateAddon(ctx, in); err != nil {
			t.Fatalf("create add-on %s: %v", aws.ToString(in.AddonName), err)
		}
	}
	if _, err := e.api.CreateAccessEntry(ctx, &awseks.CreateAccessEntryInput{
		ClusterName: aws.String(name), PrincipalArn: aws.String(ciRole), KubernetesGroups: []string{"deployers"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		arn   string
		scope ekstypes.AccessScope
	}{
		{emuEditPolicy, ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"shop", "payments"}}},
		{emuViewPolicy, ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}},
	} {
		if _, err := e.api.AssociateAccessPolicy(ctx, &awseks.AssociateAccessPolicyInput{
			ClusterName: aws.String(name), PrincipalArn: aws.String(ciRole), PolicyArn: aws.String(p.arn), AccessScope: &p.scope,
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitAddon(t, name, "vpc-cni", ekstypes.AddonStatusActive)
	e.waitAddon(t, name, "coredns", ekstypes.AddonStatusActive)
	return issuer, cniRole, ciRole
}

func (e *emuEnv) waitAddon(t *testing.T, cluster, name string, want ekstypes.AddonStatus) *ekstypes.Addon {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := e.api.DescribeAddon(context.Background(), &awseks.DescribeAddonInput{ClusterName: aws.String(cluster), AddonName: aws.String(name)})
		switch {
		case isNotFound(err): // not created yet
		case err != nil:
			t.Fatalf("describe add-on %s of %s: %v", name, cluster, err)
		case out.Addon.Status == want:
			return out.Addon
		}
		if time.Now().After(deadline) {
			t.Fatalf("add-on %s of %s is not %s: %+v, %v", name, cluster, want, out, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEmulatedEKS(t *testing.T) {
	e := newEmuEnv(t)
	ctx := context.Background()

	t.Run("describe reads add-ons and access entries", func(t *testing.T) {
		blue := e.name("blue")
		_, cniRole, ciRole := e.blue(t, blue, "1.29")
		a, _ := e.activities(nil)
		env := newActivityEnv(t, a)
		d, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: blue, Region: e.region}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Access.AuthenticationMode != "API_AND_CONFIG_MAP" {
			t.Errorf("authentication mode = %q", d.Access.AuthenticationMode)
		}
		wantAddons := []Addon{
			{Name: "coredns", Version: "v1.11.1-eksbuild.13", ConfigurationValues: coreDNSValue},
			{Name: "vpc-cni", Version: "v1.18.6-eksbuild.1", ServiceAccountRoleARN: cniRole},
		}
		if !reflect.DeepEqual(d.Addons, wantAddons) {
			t.Errorf("add-ons = %+v\nwant %+v", d.Addons, wantAddons)
		}
		wantEntries := []AccessEntry{
			{PrincipalARN: ciRole, Type: "STANDARD", Username: "arn:aws:sts::" + emuAccount + ":assumed-role/" + blue + "-ci/{{SessionName}}",
				KubernetesGroups: []string{"deployers"}, Policies: []AccessPolicy{
					{PolicyARN: emuEditPolicy, ScopeType: "namespace", Namespaces: []string{"payments", "shop"}},
					{PolicyARN: emuViewPolicy, ScopeType: "cluster"},
				}},
			{PrincipalARN: motoNodeRole, Type: "EC2_LINUX", Username: "system:node:{{EC2PrivateDNSName}}", KubernetesGroups: []string{"system:nodes"}},
			{PrincipalARN: emuCreator, Type: "STANDARD", Username: emuCreator, Policies: []AccessPolicy{{PolicyARN: clusterAdminPolicy, ScopeType: "cluster"}}},
		}
		if !reflect.DeepEqual(d.AccessEntries, wantEntries) {
			t.Errorf("access entries = %+v\nwant %+v", d.AccessEntries, wantEntries)
		}
		// A node group created without a version or release gets the
		// cluster's and the recommended AMI release (the public parameter).
		release := sandbox.EKSOptimizedAMIParameters()["/aws/service/eks/optimized-ami/1.29/amazon-linux-2023/x86_64/standard/recommended/release_version"]
		if len(d.NodeGroups) != 1 || d.NodeGroups[0].Version != "1.29" || d.NodeGroups[0].ReleaseVersion != release {
			t.Errorf("node groups = %+v, want version 1.29 release %s", d.NodeGroups, release)
		}
	})

	t.Run("green gets blue's add-ons at the target's versions and its access entries", func(t *testing.T) {
		blue, green := e.name("blue"), e.name("green")
		blueIssuer, cniRole, ciRole := e.blue(t, blue, "1.29")
		greenIssuer := e.cluster(t, green, motoGreenVersion)
		a, _ := e.activities(nil)
		env := newActivityEnv(t, a)
		d, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: blue, Region: e.region}})
		if err != nil {
			t.Fatal(err)
		}
		ref := clusters.Ref{Name: green, Region: e.region}
		var want []Addon
		for _, ad := range d.Addons {
			ad.Version = "" // chosen for the target from DescribeAddonVersions
			want = append(want, ad)
		}
		in := EnsureAddonsInput{Cluster: ref, TargetVersion: motoGreenVersion, Addons: want, RequestToken: "cutover-" + green + "/run-1"}

		// The CNI role trusts only blue's issuer: on green the add-on is
		// DEGRADED and EnsureAddons waits, until green's provider and a
		// trust statement for it exist.
		type outcome struct {
			res EnsureAddonsResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, in)
			done <- outcome{res, err}
		}()
		degraded := e.waitAddon(t, green, "vpc-cni", ekstypes.AddonStatusDegraded)
		if len(degraded.Health.Issues) != 1 || degraded.Health.Issues[0].Code != ekstypes.AddonIssueCodeAccessDenied {
			t.Fatalf("health = %+v", degraded.Health)
		}
		select {
		case o := <-done:
			t.Fatalf("EnsureAddons returned while vpc-cni is DEGRADED: %+v, %v", o.res, o.err)
		case <-time.After(500 * time.Millisecond):
		}
		e.oidcProvider(t, greenIssuer)
		trust, _ := json.Marshal(irsaTrust("aws-node", blueIssuer, greenIssuer))
		if _, err := e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(blue + "-cni"), PolicyDocument: aws.String(string(trust))}); err != nil {
			t.Fatal(err)
		}
		var res EnsureAddonsResult
		select {
		case o := <-done:
			if o.err != nil {
				t.Fatal(o.err)
			}
			res = o.res
		case <-time.After(20 * time.Second):
			t.Fatal("EnsureAddons did not finish once the role trusted green")
		}
		wantRes := EnsureAddonsResult{
			Addons: []Addon{
				{Name: "coredns", Version: "v1.11.1-eksbuild.13", ConfigurationValues: coreDNSValue},
				{Name: "vpc-cni", Version: "v1.18.6-eksbuild.1", ServiceAccountRoleARN: cniRole},
			},
			Choices: []AddonChoice{
				{Name: "coredns", Version: "v1.11.1-eksbuild.13", Reason: "EKS's default for Kubernetes 1.30"},
				{Name: "vpc-cni", Version: "v1.18.6-eksbuild.1", ServiceAccountRoleARN: cniRole, Reason: "EKS's default for Kubernetes 1.30"},
			},
			Created: []string{"coredns", "vpc-cni"},
		}
		if !reflect.DeepEqual(res, wantRes) {
			t.Errorf("EnsureAddons = %+v\nwant %+v", res, wantRes)
		}
		again, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, in)
		if err != nil || !reflect.DeepEqual(again.Adopted, []string{"coredns", "vpc-cni"}) || len(again.Created) != 0 {
			t.Fatalf("second EnsureAddons = %+v, %v", again, err)
		}

		ae := EnsureAccessEntriesInput{Cluster: ref, Entries: d.AccessEntries, RequestToken: "cutover-" + green + "/run-1"}
		got, err := run[EnsureAccessEntriesResult](t, env, a.EnsureAccessEntries, ae)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Created, []string{ciRole}) || !reflect.DeepEqual(got.Existing, []string{motoNodeRole, emuCreator}) {
			t.Errorf("EnsureAccessEntries = %+v", got)
		}
		g, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: ref})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g.AccessEntries, d.AccessEntries) {
			t.Errorf("green's access entries = %+v\nblue's %+v", g.AccessEntries, d.AccessEntries)
		}
		if _, err := run[EnsureAccessEntriesResult](t, env, a.EnsureAccessEntries, ae); err != nil {
			t.Fatalf("second EnsureAccessEntries: %v", err)
		}
	})

	t.Run("add-on errors", func(t *testing.T) {
		green := e.name("green")
		e.cluster(t, green, motoGreenVersion)
		a, rec := e.activities(nil)
		env := newActivityEnv(t, a)
		ref := clusters.Ref{Name: green, Region: e.region}
		for _, tt := range []struct {
			name    string
			ref     clusters.Ref
			addon   Addon
			typ     string
			message string
		}{
			{"a pinned version the target does not support", ref, Addon{Name: "kube-proxy", Version: "v1.29.15-eksbuild.3"},
				failures.InvalidParameter, "not compatible with Kubernetes version " + motoGreenVersion},
			{"an add-on EKS does not offer", ref, Addon{Name: "no-such-addon"},
				failures.NotFound, "add-on no-such-addon has no version compatible with Kubernetes " + motoGreenVersion},
			{"an unknown cluster", clusters.Ref{Name: "nope", Region: e.region}, Addon{Name: "coredns"},
				failures.NotFound, "No cluster found for name: nope."},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{Cluster: tt.ref, TargetVersion: motoGreenVersion, Addons: []Addon{tt.addon}})
				wantErrType(t, err, tt.typ, true)
				if !strings.Contains(err.Error(), tt.message) {
					t.Errorf("error %q lacks %q", err, tt.message)
				}
			})
		}
		out, err := e.api.ListAddons(ctx, &awseks.ListAddonsInput{ClusterName: aws.String(green)})
		if err != nil || len(out.Addons) != 0 {
			t.Fatalf("add-ons after the errors: %v, %v (calls %v)", out, err, rec.calls())
		}
	})

	t.Run("access entry errors", func(t *testing.T) {
		green := e.name("green")
		e.cluster(t, green, motoGreenVersion)
		a, _ := e.activities(nil)
		env := newActivityEnv(t, a)
		missing := "arn:aws:iam::" + emuAccount + ":role/does-not-exist"
		_, err := run[EnsureAccessEntriesResult](t, env, a.EnsureAccessEntries, EnsureAccessEntriesInput{
			Cluster: clusters.Ref{Name: green, Region: e.region}, Entries: []AccessEntry{{PrincipalARN: missing, Type: "STANDARD"}},
		})
		wantErrType(t, err, failures.InvalidParameter, true)
		if !strings.Contains(err.Error(), missing+" does not exist") {
			t.Errorf("error = %v", err)
		}
	})

	t.Run("the SDK reads the emulator's errors", func(t *testing.T) {
		green := e.name("green")
		e.cluster(t, green, motoGreenVersion)
		ci := e.role(t, green+"-ci", nil)
		_, err := e.api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String("nope"), AddonName: aws.String("vpc-cni")})
		var nf *ekstypes.ResourceNotFoundException
		if !errors.As(err, &nf) || aws.ToString(nf.ClusterName) != "nope" {
			t.Errorf("describe add-on of unknown cluster: %v", err)
		}
		_, err = e.api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(green), AddonName: aws.String("vpc-cni")})
		if !errors.As(err, &nf) || aws.ToString(nf.AddonName) != "vpc-cni" {
			t.Errorf("describe unknown add-on: %v", err)
		}
		// The SDK fills in a client request token (in the input it is given):
		// the same input again is the same request, answered as such.
		create := &awseks.CreateAddonInput{ClusterName: aws.String(green), AddonName: aws.String("coredns")}
		first, err := e.api.CreateAddon(ctx, create)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := e.api.CreateAddon(ctx, create); err != nil || aws.ToString(again.Addon.AddonArn) != aws.ToString(first.Addon.AddonArn) {
			t.Errorf("repeated create: %+v, %v", again, err)
		}
		var inUse *ekstypes.ResourceInUseException
		_, err = e.api.CreateAddon(ctx, &awseks.CreateAddonInput{ClusterName: aws.String(green), AddonName: aws.String("coredns")})
		if !errors.As(err, &inUse) || aws.ToString(inUse.AddonName) != "coredns" {
			t.Errorf("conflicting add-on: %v", err)
		}
		var invalid *ekstypes.InvalidParameterException
		_, err = e.api.CreateAddon(ctx, &awseks.CreateAddonInput{ClusterName: aws.String(green), AddonName: aws.String("vpc-cni"), AddonVersion: aws.String("v0.0.1")})
		if !errors.As(err, &invalid) {
			t.Errorf("bad version: %v", err)
		}
		if _, err := e.api.CreateAccessEntry(ctx, &awseks.CreateAccessEntryInput{ClusterName: aws.String(green), PrincipalArn: aws.String(ci)}); err != nil {
			t.Fatal(err)
		}
		_, err = e.api.CreateAccessEntry(ctx, &awseks.CreateAccessEntryInput{ClusterName: aws.String(green), PrincipalArn: aws.String(ci)})
		if !errors.As(err, &inUse) {
			t.Errorf("duplicate access entry: %v", err)
		}
		_, err = e.api.ListInsights(ctx, &awseks.ListInsightsInput{ClusterName: aws.String("nope")})
		wantErrType(t, awsError(err, "list insights"), failures.NotFound, true)
		_, err = e.api.UpdateClusterVersion(ctx, &awseks.UpdateClusterVersionInput{Name: aws.String(green), Version: aws.String("1.32")})
		wantErrType(t, awsError(err, "update cluster"), failures.InvalidParameter, true)
		if _, err := e.api.DescribeClusterVersions(ctx, &awseks.DescribeClusterVersionsInput{ClusterVersions: []string{"one"}}); !errors.As(err, &invalid) {
			t.Errorf("describe cluster versions of a bad version: %v", err)
		}
	})

	t.Run("upgrade insights and the target's support", func(t *testing.T) {
		blue := e.name("blue")
		e.cluster(t, blue, "1.31")
		if err := e.moto.ObserveEKS(ctx, sandbox.EKSObservations{Cluster: blue, APIUsage: []sandbox.DeprecatedAPIUsage{
			{GroupVersion: "flowcontrol.apiserver.k8s.io/v1beta3", Resource: "flowschemas", UserAgent: "helm/3.14", Requests: 7},
		}}); err != nil {
			t.Fatal(err)
		}
		a, _ := e.activities(nil)
		env := newActivityEnv(t, a)
		res, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: blue, Region: e.region}, TargetVersion: "1.32"})
		if err != nil {
			t.Fatal(err)
		}
		if res.TargetStatus != "STANDARD_SUPPORT" || res.EndOfStandardSupport != "2026-03-23T00:00:00Z" {
			t.Errorf("target support = %q until %q", res.TargetStatus, res.EndOfStandardSupport)
		}
		bySeverity := map[finding.Severity][]string{}
		var deprecated Finding
		for _, f := range res.Findings {
			bySeverity[f.Severity] = append(bySeverity[f.Severity], f.Check)
			if f.Check == CheckInsightPrefix+"deprecated-apis-removed-in-kubernetes-v1-32" {
				deprecated = f
			}
		}
		if !reflect.DeepEqual(bySeverity[finding.Error], []string{CheckInsightPrefix + "deprecated-apis-removed-in-kubernetes-v1-32"}) {
			t.Errorf("error findings = %v (all %+v)", bySeverity[finding.Error], res.Findings)
		}
		if len(bySeverity[finding.Info]) != 4 { // add-on compatibility, cluster health, kubelet and kube-proxy skew
			t.Errorf("passing insights = %v", bySeverity[finding.Info])
		}
		for _, want := range []string{"(ERROR)", "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas -> /apis/flowcontrol.apiserver.k8s.io/v1/flowschemas (removed in 1.32)"} {
			if !strings.Contains(deprecated.Message, want) {
				t.Errorf("deprecated-API finding %q lacks %q", deprecated.Message, want)
			}
		}
		if !strings.Contains(deprecated.Fix, "before upgrading to Kubernetes v1.32") {
			t.Errorf("fix = %q", deprecated.Fix)
		}
	})

	t.Run("version support findings", func(t *testing.T) {
		for _, tt := range []struct {
			from, to string
			severity finding.Severity
			message  string
		}{
			{"1.28", "1.29", finding.Warning, "Kubernetes 1.29 is in EKS extended support (extra cost); standard support ended 2025-03-23; extended support ends 2026-03-23"},
			{"1.33", "1.34", finding.Error, "EKS does not offer Kubernetes 1.34"},
		} {
			blue := e.name("blue")
			e.cluster(t, blue, tt.from)
			a, _ := e.activities(nil)
			env := newActivityEnv(t, a)
			res, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: blue, Region: e.region}, TargetVersion: tt.to})
			if err != nil {
				t.Fatal(err)
			}
			var got *Finding
			for i := range res.Findings {
				if res.Findings[i].Check == CheckVersionSupport {
					got = &res.Findings[i]
				}
			}
			if got == nil || got.Severity != tt.severity || got.Message != tt.message {
				t.Errorf("%s -> %s: version finding = %+v", tt.from, tt.to, got)
			}
		}
	})

	t.Run("add-on compatibility and skew before anything is built", func(t *testing.T) {
		// Blue at 1.29 runs vpc-cni v1.16.4 (published for 1.24-1.29 only)
		// and coredns at EKS's default.
		blue := e.name("blue")
		e.cluster(t, blue, "1.29")
		for _, in := range []*awseks.CreateAddonInput{
			{AddonName: aws.String("vpc-cni"), AddonVersion: aws.String("v1.16.4-eksbuild.2")},
			{AddonName: aws.String("coredns")},
		} {
			in.ClusterName = aws.String(blue)
			if _, err := e.api.CreateAddon(ctx, in); err != nil {
				t.Fatalf("create add-on %s: %v", aws.ToString(in.AddonName), err)
			}
		}
		cni := e.waitAddon(t, blue, "vpc-cni", ekstypes.AddonStatusActive)
		dns := e.waitAddon(t, blue, "coredns", ekstypes.AddonStatusActive)
		a, _ := e.activities(nil)
		env := newActivityEnv(t, a)
		ref := clusters.Ref{Name: blue, Region: e.region}
		installed := map[string]string{"vpc-cni": aws.ToString(cni.AddonVersion), "coredns": aws.ToString(dns.AddonVersion)}
		skew := func(res InsightsResult) map[string]finding.Severity {
			out := map[string]finding.Severity{}
			for _, f := range res.Findings {
				if f.Check == CheckAddonVersionSkew {
					out[f.Object+" "+strings.SplitN(f.Message, ",", 2)[0]] = f.Severity
				}
			}
			return out
		}

		// In place to 1.31: the first hop is 1.30, which v1.16.4 does not
		// support (an error), and the CNI would jump 16 -> 18 (a warning).
		res, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: ref, TargetVersion: "1.31",
			Addons: []string{"vpc-cni", "coredns"}, Installed: installed, InPlace: true, FirstHop: "1.30"})
		if err != nil {
			t.Fatal(err)
		}
		got := skew(res)
		var errs, warns int
		for k, sev := range got {
			if !strings.HasPrefix(k, "addon/vpc-cni ") {
				t.Errorf("skew finding %q for an add-on published for 1.30", k)
			}
			switch sev {
			case finding.Error:
				errs++
			case finding.Warning:
				warns++
			}
		}
		if errs != 1 || warns != 1 {
			t.Errorf("in place 1.29 -> 1.31: skew findings %v; want vpc-cni's unsupported version (error) and its two-minor jump (warning)", got)
		}
		for _, f := range res.Findings {
			if f.Check == CheckAddonVersionSkew && f.Severity == finding.Error && !strings.Contains(f.Message, "v1.16.4-eksbuild.2") {
				t.Errorf("skew error %q does not name the installed version", f.Message)
			}
		}

		// Blue/green: green gets its own versions; no skew, versions at the target.
		res, err = run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: ref, TargetVersion: "1.30", Addons: []string{"vpc-cni", "coredns"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := skew(res); len(got) != 0 {
			t.Errorf("blue/green: skew findings %v", got)
		}
		if len(res.AddonVersions) != 2 || res.VPCCNIDefault != "v1.18.6-eksbuild.1" {
			t.Errorf("blue/green: add-on versions %+v, vpc-cni default %q", res.AddonVersions, res.VPCCNIDefault)
		}

		// A blue without the vpc-cni add-on (a self-managed aws-node): the
		// versions for the target are still read, for the workflow to compare.
		res, err = run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: ref, TargetVersion: "1.30", Addons: []string{"coredns"}, VPCCNIVersions: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.VPCCNI) == 0 || res.VPCCNI[len(res.VPCCNI)-1] != "v1.18.3-eksbuild.3" || res.VPCCNIDefault != "v1.18.6-eksbuild.1" {
			t.Errorf("VPC CNI versions for 1.30: %v (default %q)", res.VPCCNI, res.VPCCNIDefault)
		}
		self := SelfManagedCNIFindings(blue, "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.12.6-eksbuild.2", "v1.12.6-eksbuild.2", res.VPCCNI, res.VPCCNIDefault, "1.30", true)
		if len(self) != 1 || self[0].Severity != finding.Error || !strings.Contains(self[0].Message, "oldest v1.18.3-eksbuild.3") {
			t.Errorf("self-managed v1.12.6 in place: %+v", self)
		}
	})

	t.Run("insights of an unknown cluster", func(t *testing.T) {
		a, _ := e.activities(nil)
		env := newActivityEnv(t, a)
		_, err := run[InsightsResult](t, env, a.EKSUpgradeInsights, InsightsInput{Cluster: clusters.Ref{Name: "nope", Region: e.region}, TargetVersion: "1.30"})
		wantErrType(t, err, failures.NotFound, true)
	})

	t.Run("retire deletes the add-ons first", func(t *testing.T) {
		blue := e.name("blue")
		e.blue(t, blue, "1.29")
		a, rec := e.activities(&fakeWeights{weight: 0})
		env := newActivityEnv(t, a)
		guard := &TrafficGuard{Provider: "route53", HostedZoneID: "Z123", RecordName: "app.example.com", SetIdentifier: "blue"}
		res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: blue, Region: e.region}, Role: "blue", Guard: guard})
		if err != nil {
			t.Fatal(err)
		}
		want := RetireResult{DeletedAddons: []string{"coredns", "vpc-cni"}, DeletedNodeGroups: []string{"general"}, ClusterDeleted: true}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("retire = %+v, want %+v (calls %v)", res, want, rec.calls())
		}
		if e.clusterExists(t, blue) {
			t.Fatal("blue still exists")
		}
	})
}

// TestSandboxTagsIRSARolesAsOperatorsDo: the sandbox's constant for the
// tag on blue's IRSA roles is the one cutover's IAM policy conditions on.
func TestSandboxTagsIRSARolesAsOperatorsDo(t *testing.T) {
	if sandbox.TrustManagedTag != TagTrustManaged {
		t.Errorf("sandbox tags IRSA roles %q, cutover's policy names %q", sandbox.TrustManagedTag, TagTrustManaged)
	}
}

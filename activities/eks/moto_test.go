package eks

// Integration tests against a real moto server (started by the sandbox;
// the test fails, never skips, when moto is not installed: `make tools`):
// EKS clusters and node groups, tags and SSM. The operations the sandbox's
// EKS emulation adds (add-ons, access entries, insights, cluster versions)
// are in emulator_test.go. Each subtest creates its own blue so they stay
// independent of each other and of the sandbox's seed.

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/spec"
)

const (
	motoBlueVersion  = "1.29"
	motoGreenVersion = "1.30"
	motoClusterRole  = "arn:aws:iam::123456789012:role/eks-cluster"
	motoNodeRole     = "arn:aws:iam::123456789012:role/eks-nodes"
)

// recordingEKS records the mutating calls made through it, in order.
type recordingEKS struct {
	EKSAPI
	mu  sync.Mutex
	ops []string
}

func (r *recordingEKS) record(op string) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

func (r *recordingEKS) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

func (r *recordingEKS) CreateCluster(ctx context.Context, in *awseks.CreateClusterInput, o ...func(*awseks.Options)) (*awseks.CreateClusterOutput, error) {
	r.record("CreateCluster:" + aws.ToString(in.Name))
	return r.EKSAPI.CreateCluster(ctx, in, o...)
}

func (r *recordingEKS) CreateNodegroup(ctx context.Context, in *awseks.CreateNodegroupInput, o ...func(*awseks.Options)) (*awseks.CreateNodegroupOutput, error) {
	r.record("CreateNodegroup:" + aws.ToString(in.NodegroupName))
	return r.EKSAPI.CreateNodegroup(ctx, in, o...)
}

func (r *recordingEKS) DeleteNodegroup(ctx context.Context, in *awseks.DeleteNodegroupInput, o ...func(*awseks.Options)) (*awseks.DeleteNodegroupOutput, error) {
	r.record("DeleteNodegroup:" + aws.ToString(in.NodegroupName))
	return r.EKSAPI.DeleteNodegroup(ctx, in, o...)
}

func (r *recordingEKS) DeleteCluster(ctx context.Context, in *awseks.DeleteClusterInput, o ...func(*awseks.Options)) (*awseks.DeleteClusterOutput, error) {
	r.record("DeleteCluster:" + aws.ToString(in.Name))
	return r.EKSAPI.DeleteCluster(ctx, in, o...)
}

// recordingClients wraps the real SDK clients' EKS in a recordingEKS.
type recordingClients struct {
	ClientFactory
	rec *recordingEKS
}

func (c recordingClients) EKS(ctx context.Context, region string) (EKSAPI, error) {
	api, err := c.ClientFactory.EKS(ctx, region)
	if err != nil {
		return nil, err
	}
	c.rec.EKSAPI = api
	return c.rec, nil
}

// motoEnv is one moto server shared by the subtests.
type motoEnv struct {
	aws    awsconf.Static
	region string
	api    *awseks.Client // for setup and checks, outside the code under test
	seq    atomic.Int32
}

func (m *motoEnv) name(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, m.seq.Add(1))
}

// activities returns Activities over moto the way the worker builds them
// (NewFromAWS), recording EKS calls, with a fast poll.
func (m *motoEnv) activities(weights WeightReader) (*Activities, *recordingEKS) {
	rec := &recordingEKS{}
	a := NewFromAWS(m.aws, weights, WithPollInterval(10*time.Millisecond))
	a.clients = recordingClients{ClientFactory: a.clients, rec: rec}
	return a, rec
}

// createBlue makes a blue cluster at motoBlueVersion with three node
// groups (AL2, AL2023 spot, launch template).
func (m *motoEnv) createBlue(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := m.api.CreateCluster(ctx, &awseks.CreateClusterInput{
		Name: aws.String(name), Version: aws.String(motoBlueVersion), RoleArn: aws.String(motoClusterRole),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{
			SubnetIds: []string{"subnet-0a1", "subnet-0b2"}, SecurityGroupIds: []string{"sg-0c3"},
			EndpointPublicAccess: aws.Bool(true), EndpointPrivateAccess: aws.Bool(true),
		},
		Logging: &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: []ekstypes.LogType{"api", "audit"}}}},
		Tags:    map[string]string{"team": "platform", "env": "test"},
	})
	if err != nil {
		t.Fatalf("create blue %s: %v", name, err)
	}
	for _, ng := range []*awseks.CreateNodegroupInput{
		{
			NodegroupName: aws.String("general"), AmiType: ekstypes.AMITypesAl2X8664, CapacityType: ekstypes.CapacityTypesOnDemand,
			InstanceTypes: []string{"m5.large"}, DiskSize: aws.Int32(40), Subnets: []string{"subnet-0a1", "subnet-0b2"},
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(2), MaxSize: aws.Int32(5), DesiredSize: aws.Int32(3)},
			Labels:        map[string]string{"pool": "general"},
			Taints:        []ekstypes.Taint{{Key: aws.String("dedicated"), Value: aws.String("general"), Effect: ekstypes.TaintEffectNoSchedule}},
			Tags:          map[string]string{"team": "platform"},
		},
		{
			NodegroupName: aws.String("batch"), AmiType: ekstypes.AMITypesAl2023X8664Standard, CapacityType: ekstypes.CapacityTypesSpot,
			InstanceTypes: []string{"c5.large", "c5a.large"}, DiskSize: aws.Int32(30), Subnets: []string{"subnet-0b2"},
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(0), MaxSize: aws.Int32(10), DesiredSize: aws.Int32(1)},
			Labels:        map[string]string{"pool": "batch"},
		},
		{
			NodegroupName: aws.String("templated"), Subnets: []string{"subnet-0a1"},
			LaunchTemplate: &ekstypes.LaunchTemplateSpecification{Name: aws.String("blue-nodes"), Version: aws.String("3")},
			ScalingConfig:  &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredSize: aws.Int32(1)},
		},
	} {
		ng.ClusterName = aws.String(name)
		ng.NodeRole = aws.String(motoNodeRole)
		ng.Version = aws.String(motoBlueVersion)
		ng.ReleaseVersion = aws.String(sandbox.EKSOptimizedAMIParameters()["/aws/service/eks/optimized-ami/"+motoBlueVersion+"/amazon-linux-2/recommended/release_version"])
		if _, err := m.api.CreateNodegroup(ctx, ng); err != nil {
			t.Fatalf("create blue node group %s: %v", aws.ToString(ng.NodegroupName), err)
		}
	}
}

func (m *motoEnv) clusterExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := m.api.DescribeCluster(context.Background(), &awseks.DescribeClusterInput{Name: aws.String(name)})
	if isNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	return true
}

func (m *motoEnv) countClusters(t *testing.T, name string) int {
	t.Helper()
	n := 0
	pg := awseks.NewListClustersPaginator(m.api, &awseks.ListClustersInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list clusters: %v", err)
		}
		for _, c := range page.Clusters {
			if c == name {
				n++
			}
		}
	}
	return n
}

func migrationSpec(name, blue, green, region string) spec.MigrationSpec {
	return spec.MigrationSpec{
		Name:  name,
		Blue:  spec.BlueSpec{ClusterName: blue, Region: region},
		Green: spec.GreenSpec{ClusterName: green, KubernetesVersion: motoGreenVersion},
	}.WithDefaults()
}

// buildGreen runs the BuildGreen activities in the workflow's order.
func buildGreen(t *testing.T, env *activityEnv, a *Activities, s spec.MigrationSpec, token string) (EnsureClusterResult, EnsureNodeGroupsResult) {
	t.Helper()
	blue, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: s.Blue.ClusterName, Region: s.Blue.Region}})
	if err != nil {
		t.Fatalf("describe blue: %v", err)
	}
	plan := copyPlan(blue, s.Name, s.Green.ClusterName, s.Green.KubernetesVersion)
	ec, err := run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: plan, RequestToken: token})
	if err != nil {
		t.Fatalf("ensure green: %v", err)
	}
	ref := plan.Cluster.Ref()
	if _, err := run[ClusterDescription](t, env, a.WaitEKSClusterActive, WaitClusterInput{Cluster: ref}); err != nil {
		t.Fatalf("wait green: %v", err)
	}
	ng, err := run[EnsureNodeGroupsResult](t, env, a.EnsureNodeGroups, EnsureNodeGroupsInput{
		Cluster: ref, TargetVersion: s.Green.KubernetesVersion, NodeGroups: plan.Cluster.NodeGroups, RequestToken: token,
	})
	if err != nil {
		t.Fatalf("ensure node groups: %v", err)
	}
	if _, err := run[EnsureAddonsResult](t, env, a.EnsureAddons, EnsureAddonsInput{
		Cluster: ref, TargetVersion: s.Green.KubernetesVersion, Addons: plan.Cluster.Addons, RequestToken: token,
	}); err != nil {
		t.Fatalf("ensure add-ons: %v", err)
	}
	if _, err := run[EnsureAccessEntriesResult](t, env, a.EnsureAccessEntries, EnsureAccessEntriesInput{
		Cluster: ref, Entries: plan.Cluster.AccessEntries, RequestToken: token,
	}); err != nil {
		t.Fatalf("ensure access entries: %v", err)
	}
	return ec, ng
}

// newMotoEnv starts a moto server for the test and returns it with a
// motoEnv over it.
func newMotoEnv(t *testing.T) (*sandbox.Moto, *motoEnv) {
	t.Helper()
	moto := sandboxtest.Moto(t)
	cfg, err := moto.AWS().ForRegion(context.Background(), moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	return moto, &motoEnv{aws: moto.AWS(), region: moto.Region, api: awseks.NewFromConfig(cfg)}
}

func TestMoto(t *testing.T) {
	_, m := newMotoEnv(t)
	release := sandbox.EKSOptimizedAMIParameters()
	greenAL2 := release["/aws/service/eks/optimized-ami/"+motoGreenVersion+"/amazon-linux-2/recommended/release_version"]
	greenAL2023 := release["/aws/service/eks/optimized-ami/"+motoGreenVersion+"/amazon-linux-2023/x86_64/standard/recommended/release_version"]
	if greenAL2 == "" || greenAL2023 == "" {
		t.Fatalf("the sandbox serves no AMI release for %s", motoGreenVersion)
	}

	t.Run("green is created with blue's config at the target version", func(t *testing.T) {
		blue, green := m.name("blue"), m.name("green")
		m.createBlue(t, blue)
		a, rec := m.activities(nil)
		env := newActivityEnv(t, a)
		s := migrationSpec(m.name("mig"), blue, green, m.region)
		ec, ngr := buildGreen(t, env, a, s, "cutover-"+s.Name+"/run-1")
		if !ec.Created || ec.Adopted || ec.ARN == "" {
			t.Fatalf("ensure cluster result = %+v", ec)
		}
		if !reflect.DeepEqual(ngr.Created, []string{"batch", "general", "templated"}) {
			t.Fatalf("node groups created = %v", ngr.Created)
		}
		if want := []string{"CreateCluster:" + green, "CreateNodegroup:batch", "CreateNodegroup:general", "CreateNodegroup:templated"}; !reflect.DeepEqual(rec.calls(), want) {
			t.Fatalf("mutating calls = %v, want %v", rec.calls(), want)
		}

		g, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: green, Region: m.region}})
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			what      string
			got, want any
		}{
			{"version", g.Version, motoGreenVersion},
			{"status", g.Status, "ACTIVE"},
			{"role", g.RoleARN, motoClusterRole},
			{"subnets", g.VPC.SubnetIDs, []string{"subnet-0a1", "subnet-0b2"}},
			{"security groups", g.VPC.SecurityGroupIDs, []string{"sg-0c3"}},
			{"endpoint access", []bool{g.VPC.EndpointPublicAccess, g.VPC.EndpointPrivateAccess}, []bool{true, true}},
			{"logging", g.Logging, []string{"api", "audit"}},
			{"tags", g.Tags, map[string]string{"team": "platform", "env": "test", TagManagedBy: "cutover", TagMigration: s.Name, TagCopiedFrom: blue}},
			{"node groups", len(g.NodeGroups), 3},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("green %s = %#v, want %#v", c.what, c.got, c.want)
			}
		}
		if len(g.NodeGroups) != 3 {
			t.FailNow()
		}
		batch, general, templated := g.NodeGroups[0], g.NodeGroups[1], g.NodeGroups[2]
		ngChecks := []struct {
			what      string
			got, want any
		}{
			{"general version", general.Version, motoGreenVersion},
			{"general release (SSM, AL2)", general.ReleaseVersion, greenAL2},
			{"general ami", general.AMIType, "AL2_x86_64"},
			{"general role", general.NodeRoleARN, motoNodeRole},
			{"general subnets", general.SubnetIDs, []string{"subnet-0a1", "subnet-0b2"}},
			{"general instance types", general.InstanceTypes, []string{"m5.large"}},
			{"general disk", general.DiskSize, int32(40)},
			{"general scaling", general.Scaling, Scaling{Min: 2, Max: 5, Desired: 3}},
			{"general labels", general.Labels, map[string]string{"pool": "general"}},
			{"general taints", general.Taints, []Taint{{Key: "dedicated", Value: "general", Effect: "NO_SCHEDULE"}}},
			{"general tags", general.Tags, map[string]string{"team": "platform", TagManagedBy: "cutover", TagMigration: s.Name, TagCopiedFrom: blue}},
			{"batch release (SSM, AL2023)", batch.ReleaseVersion, greenAL2023},
			{"batch capacity", batch.CapacityType, "SPOT"},
			{"batch instance types", batch.InstanceTypes, []string{"c5.large", "c5a.large"}},
			{"batch scaling", batch.Scaling, Scaling{Min: 0, Max: 10, Desired: 1}},
			{"templated keeps its launch template", *templated.LaunchTemplate, LaunchTemplate{Name: "blue-nodes", Version: "3"}},
			{"templated version", templated.Version, motoGreenVersion},
		}
		for _, c := range ngChecks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("green node group %s = %#v, want %#v", c.what, c.got, c.want)
			}
		}
		// Blue is untouched.
		b, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: blue, Region: m.region}})
		if err != nil || b.Version != motoBlueVersion || len(b.NodeGroups) != 3 || b.NodeGroups[1].Version != motoBlueVersion {
			t.Fatalf("blue changed: %+v (%v)", b, err)
		}
	})

	t.Run("calling build twice creates one cluster", func(t *testing.T) {
		blue, green := m.name("blue"), m.name("green")
		m.createBlue(t, blue)
		a, rec := m.activities(nil)
		env := newActivityEnv(t, a)
		s := migrationSpec(m.name("mig"), blue, green, m.region)
		token := "cutover-" + s.Name + "/run-1"
		first, _ := buildGreen(t, env, a, s, token)
		// A second run (a retried activity, or the workflow replayed after a
		// worker crash) adopts everything.
		second, ngr := buildGreen(t, env, a, s, token)
		if !first.Created || !second.Adopted || second.Created || second.ARN != first.ARN {
			t.Fatalf("first %+v, second %+v", first, second)
		}
		if len(ngr.Created) != 0 || !reflect.DeepEqual(ngr.Adopted, []string{"batch", "general", "templated"}) {
			t.Fatalf("second node groups: created %v adopted %v", ngr.Created, ngr.Adopted)
		}
		if n := m.countClusters(t, green); n != 1 {
			t.Fatalf("%d clusters named %s", n, green)
		}
		creates := 0
		for _, c := range rec.calls() {
			if strings.HasPrefix(c, "Create") {
				creates++
			}
		}
		if creates != 4 {
			t.Fatalf("create calls over both runs = %v", rec.calls())
		}
	})

	t.Run("a conflicting existing green fails with a clear Conflict", func(t *testing.T) {
		blue, green := m.name("blue"), m.name("green")
		m.createBlue(t, blue)
		// Someone else's cluster already has green's name, at blue's version.
		if _, err := m.api.CreateCluster(context.Background(), &awseks.CreateClusterInput{
			Name: aws.String(green), Version: aws.String(motoBlueVersion), RoleArn: aws.String(motoClusterRole),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-0ff"}},
			Tags:               map[string]string{TagMigration: "another-migration"},
		}); err != nil {
			t.Fatal(err)
		}
		a, rec := m.activities(nil)
		env := newActivityEnv(t, a)
		s := migrationSpec(m.name("mig"), blue, green, m.region)
		desc, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: blue, Region: m.region}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: copyPlan(desc, s.Name, s.Green.ClusterName, s.Green.KubernetesVersion), RequestToken: "tok"})
		wantErrType(t, err, failures.Conflict, true)
		for _, want := range []string{
			"cluster " + m.region + "/" + green + " already exists and does not match the green plan",
			`version is "1.29", want "1.30"`,
			`tag cutover.dev/migration is "another-migration", want "` + s.Name + `"`,
			"subnets are [subnet-0ff], want [subnet-0a1 subnet-0b2]",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err.Error(), want)
			}
		}
		if len(rec.calls()) != 0 {
			t.Fatalf("nothing may be created or deleted: %v", rec.calls())
		}
	})

	t.Run("retire deletes node groups then the cluster", func(t *testing.T) {
		blue := m.name("blue")
		m.createBlue(t, blue)
		w := &fakeWeights{weight: 0}
		a, rec := m.activities(w)
		env := newActivityEnv(t, a)
		guard := &TrafficGuard{Provider: "route53", HostedZoneID: "Z123", RecordName: "app.example.com", SetIdentifier: "blue"}
		res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: blue, Region: m.region}, Role: "blue", Guard: guard})
		if err != nil {
			t.Fatal(err)
		}
		want := RetireResult{DeletedNodeGroups: []string{"batch", "general", "templated"}, ClusterDeleted: true}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("result = %+v, want %+v", res, want)
		}
		if want := []string{"DeleteNodegroup:batch", "DeleteNodegroup:general", "DeleteNodegroup:templated", "DeleteCluster:" + blue}; !reflect.DeepEqual(rec.calls(), want) {
			t.Fatalf("calls = %v, want %v", rec.calls(), want)
		}
		if m.clusterExists(t, blue) {
			t.Fatal("blue still exists")
		}
		if len(w.asked) != 1 || w.asked[0] != *guard {
			t.Fatalf("guard asked %+v", w.asked)
		}
		// Retiring again is a no-op success.
		again, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: blue, Region: m.region}, Role: "blue", Guard: guard})
		if err != nil || !again.AlreadyGone {
			t.Fatalf("second retire: %+v, %v", again, err)
		}
	})

	t.Run("the guard refuses while the cluster has traffic", func(t *testing.T) {
		blue := m.name("blue")
		m.createBlue(t, blue)
		a, rec := m.activities(&fakeWeights{weight: 50})
		env := newActivityEnv(t, a)
		_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{
			Cluster: clusters.Ref{Name: blue, Region: m.region}, Role: "blue",
			Guard: &TrafficGuard{Provider: "cloudfront", DistributionID: "E123", OriginID: "blue-origin"},
		})
		wantErrType(t, err, failures.StillServingTraffic, true)
		if !strings.Contains(err.Error(), "cloudfront distribution E123 origin blue-origin has weight 50") {
			t.Fatalf("error = %v", err)
		}
		if len(rec.calls()) != 0 || !m.clusterExists(t, blue) {
			t.Fatalf("blue was touched: %v", rec.calls())
		}
		d, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: blue, Region: m.region}})
		if err != nil || len(d.NodeGroups) != 3 {
			t.Fatalf("blue's node groups: %+v, %v", d.NodeGroups, err)
		}
	})
}

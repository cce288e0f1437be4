package eks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

func TestFreeClusterName(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, "shop-prod-1-31"},
		{[]string{"shop-prod-1-30"}, "shop-prod-1-31"},
		{[]string{"shop-prod-1-31"}, "shop-prod-1-31-b"},
		{[]string{"shop-prod-1-31", "shop-prod-1-31-b"}, "shop-prod-1-31-c"},
	} {
		if got := FreeClusterName("shop-prod-1-31", c.names); got != c.want {
			t.Errorf("FreeClusterName with %v = %q, want %q", c.names, got, c.want)
		}
	}
}

// TestLogicalClusterAgainstMoto: a logical cluster resolves to its
// untagged original, then, quarter after quarter, to the green that took
// it over (blue's tags taken off, generation counted up); taking over
// twice changes nothing; two tagged ACTIVE clusters are refused; a name
// with no cluster is NotFound.
func TestLogicalClusterAgainstMoto(t *testing.T) {
	ctx := context.Background()
	moto := sandboxtest.Moto(t)
	cfg, err := moto.AWS().ForRegion(ctx, moto.Region)
	if err != nil {
		t.Fatal(err)
	}
	api := awseks.NewFromConfig(cfg)
	create := func(name, version string, tags map[string]string) {
		t.Helper()
		if _, err := api.CreateCluster(ctx, &awseks.CreateClusterInput{Name: aws.String(name), Version: aws.String(version), RoleArn: aws.String(motoClusterRole),
			ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-0a1", "subnet-0b2"}}, Tags: tags}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
			if err == nil && out.Cluster.Status == ekstypes.ClusterStatusActive {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster %s not ACTIVE: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	a := NewFromAWS(moto.AWS(), nil, WithPollInterval(10*time.Millisecond))
	env := newActivityEnv(t, a)
	resolve := func() (LogicalCluster, error) {
		return run[LogicalCluster](t, env, a.ResolveLogicalCluster, ResolveLogicalInput{Region: moto.Region, Logical: "shop-prod"})
	}
	takeOver := func(blue, green string) TakeOverResult {
		t.Helper()
		r, err := run[TakeOverResult](t, env, a.TakeOverLogicalCluster, TakeOverInput{Region: moto.Region, Logical: "shop-prod", Blue: blue, Green: green})
		if err != nil {
			t.Fatalf("take over %s -> %s: %v", blue, green, err)
		}
		return r
	}

	if _, err := resolve(); !failures.Is(err, failures.NotFound) {
		t.Fatalf("no cluster yet: %v, want NotFound", err)
	}
	create("shop-prod", "1.29", map[string]string{"team": "shop"})
	create("billing-prod-1-30", "1.30", map[string]string{TagLogicalCluster: "billing-prod", TagGeneration: "1"})
	if lc, err := resolve(); err != nil || lc.Cluster != "shop-prod" || lc.Generation != 0 || lc.Version != "1.29" || len(lc.Names) != 2 {
		t.Fatalf("first quarter: %+v, %v; want the untagged original", lc, err)
	}

	create("shop-prod-1-30", "1.30", nil)
	if r := takeOver("shop-prod", "shop-prod-1-30"); r.Generation != 1 {
		t.Errorf("first take-over: generation %d", r.Generation)
	}
	if r := takeOver("shop-prod", "shop-prod-1-30"); r.Generation != 1 {
		t.Errorf("a second take-over: generation %d, want 1 again", r.Generation)
	}
	if lc, err := resolve(); err != nil || lc.Cluster != "shop-prod-1-30" || lc.Generation != 1 {
		t.Fatalf("second quarter (blue kept): %+v, %v; want shop-prod-1-30, generation 1", lc, err)
	}
	if _, err := api.DeleteCluster(ctx, &awseks.DeleteClusterInput{Name: aws.String("shop-prod")}); err != nil {
		t.Fatal(err)
	}

	create("shop-prod-1-31", "1.31", nil)
	if r := takeOver("shop-prod-1-30", "shop-prod-1-31"); r.Generation != 2 {
		t.Errorf("second take-over: generation %d, want 2", r.Generation)
	}
	out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("shop-prod-1-30")})
	if err != nil || out.Cluster.Tags[TagLogicalCluster] != "" || out.Cluster.Tags[TagGeneration] != "" {
		t.Errorf("the old blue keeps its logical tags: %v %v", err, out.Cluster.Tags)
	}
	if lc, err := resolve(); err != nil || lc.Cluster != "shop-prod-1-31" || lc.Generation != 2 {
		t.Fatalf("third quarter: %+v, %v", lc, err)
	}

	// Someone tags another cluster shop-prod: two candidates, refused.
	create("shop-prod-copy", "1.31", map[string]string{TagLogicalCluster: "shop-prod", TagGeneration: "2"})
	_, err = resolve()
	if !failures.Is(err, failures.PreflightBlocked) || !strings.Contains(failures.Message(err), "shop-prod-copy") || !strings.Contains(failures.Message(err), "shop-prod-1-31") {
		t.Errorf("two tagged clusters: %v, want PreflightBlocked naming both", err)
	}
}

package eks

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestSubnetFindings(t *testing.T) {
	free := map[string]int32{"subnet-cp-a": 3, "subnet-cp-b": 5, "subnet-n-a": 40, "subnet-n-b": 25}
	tests := []struct {
		name string
		in   SubnetCapacityInput
		want []string // check:object
	}{
		{"enough everywhere", SubnetCapacityInput{ControlPlaneSubnets: []string{"subnet-cp-b"},
			NodeGroups: []SubnetDemand{{Nodegroup: "general", Subnets: []string{"subnet-n-a", "subnet-n-b"}, Nodes: 6}}}, nil},
		{"a control-plane subnet below 5", SubnetCapacityInput{ControlPlaneSubnets: []string{"subnet-cp-a", "subnet-cp-b"}},
			[]string{CheckSubnetControlPlaneIPs + ":subnet/subnet-cp-a"}},
		{"node groups sharing subnets are counted together", SubnetCapacityInput{NodeGroups: []SubnetDemand{
			{Nodegroup: "general", Subnets: []string{"subnet-n-a", "subnet-n-b"}, Nodes: 4},
			{Nodegroup: "batch", Subnets: []string{"subnet-n-b", "subnet-n-a"}, Nodes: 3},
		}}, []string{CheckSubnetNodeIPs + ":nodegroup/general,batch"}},
		{"a group alone in a small subnet", SubnetCapacityInput{NodeGroups: []SubnetDemand{
			{Nodegroup: "general", Subnets: []string{"subnet-n-a"}, Nodes: 4},
			{Nodegroup: "batch", Subnets: []string{"subnet-n-b"}, Nodes: 3},
		}}, []string{CheckSubnetNodeIPs + ":nodegroup/batch"}},
		{"missing subnets, once each", SubnetCapacityInput{ControlPlaneSubnets: []string{"subnet-gone"},
			NodeGroups: []SubnetDemand{{Nodegroup: "general", Subnets: []string{"subnet-gone", "subnet-n-a"}, Nodes: 1}}},
			[]string{CheckSubnetMissing + ":subnet/subnet-gone"}},
		{"no nodes to start", SubnetCapacityInput{NodeGroups: []SubnetDemand{{Nodegroup: "general", Subnets: []string{"subnet-n-b"}, Nodes: 0}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Cluster = clusters.Ref{Name: "blue", Region: "us-east-1"}
			var got []string
			for _, f := range subnetFindings(tc.in, free) {
				got = append(got, f.Check+":"+f.Object)
				if f.Fix == "" || f.Cluster != "blue" || f.Message == "" {
					t.Errorf("finding %+v lacks its fix, cluster or message", f)
				}
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCheckSubnetCapacityCallsEC2: one DescribeSubnets for every subnet;
// a missing one makes it ask one by one; throttling is retryable.
func TestCheckSubnetCapacityCallsEC2(t *testing.T) {
	e := newFakeEC2()
	e.free["subnet-a"], e.free["subnet-b"] = 2, 300
	a := New(fakeEC2Clients{fakeClients: fakeClients{eks: &fakeEKS{}}, ec2: e}, nil)
	env := newActivityEnv(t, a)
	in := SubnetCapacityInput{Cluster: clusters.Ref{Name: "blue", Region: "us-east-1"}, ControlPlaneSubnets: []string{"subnet-a", "subnet-b"}}
	res, err := run[SubnetCapacityResult](t, env, a.CheckSubnetCapacity, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Free["subnet-a"] != 2 || len(res.Findings) != 1 || res.Findings[0].Check != CheckSubnetControlPlaneIPs || e.opCalls("DescribeSubnets") != 1 {
		t.Fatalf("result %+v after %d calls", res, e.opCalls("DescribeSubnets"))
	}
	in.ControlPlaneSubnets = append(in.ControlPlaneSubnets, "subnet-gone")
	res, err = run[SubnetCapacityResult](t, env, a.CheckSubnetCapacity, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 || !strings.Contains(res.Findings[1].Message, "subnet-gone does not exist") {
		t.Errorf("findings %+v", res.Findings)
	}
	e.errs["DescribeSubnets"] = []error{apiError("RequestLimitExceeded")}
	_, err = run[SubnetCapacityResult](t, env, a.CheckSubnetCapacity, in)
	if err == nil || failures.TypeOf(err) == failures.NotFound || strings.Contains(err.Error(), "retryable: false") {
		t.Fatalf("throttled: %v, want a retryable error", err)
	}
}

// TestSubnetCapacityAgainstMoto: the emulator's subnets, one of them
// nearly full (a /28 with network interfaces in it).
func TestSubnetCapacityAgainstMoto(t *testing.T) {
	moto, m := newMotoEnv(t)
	ctx := context.Background()
	cfg, err := moto.AWS().ForRegion(ctx, m.region)
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.42.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	subnet := func(cidr string) string {
		s, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(cidr)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(s.Subnet.SubnetId)
	}
	full, big, nodes := subnet("10.42.0.0/28"), subnet("10.42.1.0/24"), subnet("10.42.2.0/26")
	for range 7 {
		if _, err := ec.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(full)}); err != nil {
			t.Fatal(err)
		}
	}
	a := NewFromAWS(m.aws, nil)
	env := newActivityEnv(t, a)
	res, err := run[SubnetCapacityResult](t, env, a.CheckSubnetCapacity, SubnetCapacityInput{
		Cluster: clusters.Ref{Name: "blue", Region: m.region}, ControlPlaneSubnets: []string{full, big},
		NodeGroups: []SubnetDemand{{Nodegroup: "general", Subnets: []string{nodes}, Nodes: 3}, {Nodegroup: "batch", Subnets: []string{big}, Nodes: 30}},
		Why:        "green's node groups",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Free[full] != 4 || res.Free[big] != 251 || res.Free[nodes] != 59 {
		t.Fatalf("free %v", res.Free)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Check+":"+f.Object)
	}
	want := []string{CheckSubnetControlPlaneIPs + ":subnet/" + full, CheckSubnetNodeIPs + ":nodegroup/batch"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
}

// TestDescribeReportsUnhealthyAddonsAgainstMoto: an add-on whose service
// account role cannot be assumed is DEGRADED in the emulated EKS (its IRSA
// check), and the description carries its status and issue, which
// preflight turns into an addon-health finding.
func TestDescribeReportsUnhealthyAddonsAgainstMoto(t *testing.T) {
	_, m := newMotoEnv(t)
	ctx := context.Background()
	name := m.name("unhealthy")
	m.createBlue(t, name)
	if _, err := m.api.CreateAddon(ctx, &awseks.CreateAddonInput{ClusterName: aws.String(name), AddonName: aws.String("vpc-cni"),
		ServiceAccountRoleArn: aws.String("arn:aws:iam::123456789012:role/no-such-role")}); err != nil {
		t.Fatal(err)
	}
	a, _ := m.activities(nil)
	env := newActivityEnv(t, a)
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := run[ClusterDescription](t, env, a.DescribeEKSCluster, DescribeInput{Cluster: clusters.Ref{Name: name, Region: m.region}})
		if err != nil {
			t.Fatal(err)
		}
		h := d.AddonHealth["vpc-cni"]
		if strings.HasPrefix(h, "DEGRADED: AccessDenied") {
			if len(d.NodeGroupHealth) != 0 {
				t.Errorf("healthy node groups reported: %v", d.NodeGroupHealth)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vpc-cni health %q, want DEGRADED with AccessDenied", h)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

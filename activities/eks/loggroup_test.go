package eks

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestDeleteControlPlaneLogGroupAgainstMoto: blue's /aws/eks/<blue>/cluster
// is deleted from moto's CloudWatch Logs, a second call finds it gone
// (AlreadyGone, no error), and another cluster's log group is left alone.
func TestDeleteControlPlaneLogGroupAgainstMoto(t *testing.T) {
	moto := sandboxtest.Moto(t)
	ctx := context.Background()
	cfg, err := moto.AWS().ForRegion(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	logs := cloudwatchlogs.NewFromConfig(cfg)
	for _, g := range []string{"/aws/eks/logs-blue/cluster", "/aws/eks/logs-green/cluster"} {
		if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	a := NewFromAWS(moto.AWS(), nil)
	blue := DeleteLogGroupInput{Cluster: clusters.Ref{Name: "logs-blue", Region: "eu-west-1"}}
	res, err := a.DeleteControlPlaneLogGroup(ctx, blue)
	if err != nil || !res.Deleted || res.AlreadyGone || res.LogGroup != "/aws/eks/logs-blue/cluster" {
		t.Fatalf("first delete: %+v, %v", res, err)
	}
	if res, err := a.DeleteControlPlaneLogGroup(ctx, blue); err != nil || res.Deleted || !res.AlreadyGone {
		t.Errorf("second delete: %+v, %v; want already gone", res, err)
	}
	out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/eks/logs-")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/aws/eks/logs-green/cluster" {
		t.Errorf("log groups left %+v; want green's only", out.LogGroups)
	}
	if _, err := a.DeleteControlPlaneLogGroup(ctx, DeleteLogGroupInput{Cluster: clusters.Ref{Name: "logs-blue"}}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("no region: %v; want InvalidParameter", err)
	}
}

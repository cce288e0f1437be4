package eks

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestRequestToken(t *testing.T) {
	long := strings.Repeat("x", 80)
	tests := []struct {
		name  string
		base  string
		parts []string
		want  string // "" means nil; "hash" means a 64-char hex digest
	}{
		{"empty gives nil so the SDK generates one", "", nil, ""},
		{"short token is kept", "wf-123/run-1", nil, "wf-123/run-1"},
		{"parts are joined", "wf-123", []string{"general"}, "wf-123/general"},
		{"exactly 64 is kept", strings.Repeat("a", 64), nil, strings.Repeat("a", 64)},
		{"longer is hashed", long, nil, "hash"},
		{"long with parts is hashed", "wf", []string{strings.Repeat("p", 70)}, "hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := requestToken(tt.base, tt.parts...)
			switch tt.want {
			case "":
				if got != nil {
					t.Fatalf("want nil, got %q", *got)
				}
			case "hash":
				if got == nil || len(*got) != 64 || strings.Trim(*got, "0123456789abcdef") != "" {
					t.Fatalf("want 64 hex chars, got %v", got)
				}
				if again := requestToken(tt.base, tt.parts...); *again != *got {
					t.Fatalf("hash not stable: %q vs %q", *got, *again)
				}
			default:
				if got == nil || *got != tt.want {
					t.Fatalf("want %q, got %v", tt.want, got)
				}
			}
		})
	}
	if *requestToken(long, "a") == *requestToken(long, "b") {
		t.Fatal("different parts must give different tokens")
	}
}

func TestAWSErrorMapping(t *testing.T) {
	api := func(code, msg string) error {
		return &smithy.GenericAPIError{Code: code, Message: msg}
	}
	tests := []struct {
		err          error
		typ          string
		nonRetryable bool
	}{
		{api("AccessDeniedException", "no"), failures.AccessDenied, true},
		{api("UnrecognizedClientException", "bad key"), failures.AccessDenied, true},
		{&ekstypes.ResourceInUseException{Message: aws.String("busy")}, failures.ResourceInUse, false},
		{api("ThrottlingException", "slow down"), failures.Throttled, false},
		{api("TooManyRequestsException", "slow down"), failures.Throttled, false},
		{&ekstypes.InvalidParameterException{Message: aws.String("subnet-x is not in the VPC")}, failures.InvalidParameter, true},
		{api("ValidationException", "bad"), failures.InvalidParameter, true},
		{&ekstypes.ResourceNotFoundException{Message: aws.String("gone")}, failures.NotFound, true},
		{api("ParameterNotFound", "no such parameter"), failures.NotFound, true},
		{&ekstypes.InvalidRequestException{Message: aws.String("cluster is not ACTIVE")}, failures.NotReadyYet, false},
		{&ekstypes.InvalidRequestException{Message: aws.String("The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP]")}, failures.InvalidParameter, true},
		{api("InvalidStateException", "Amazon EKS detected upgrade readiness issues"), failures.InvalidParameter, true},
		{api("ServerException", "oops"), failures.Transient, false},
		{api("SomethingNew", "unknown"), "", false},
	}
	for _, tt := range tests {
		var apiErr smithy.APIError
		errors.As(tt.err, &apiErr)
		t.Run(apiErr.ErrorCode(), func(t *testing.T) {
			err := awsError(tt.err, "create cluster %s", "green")
			if !strings.HasPrefix(err.Error(), "create cluster green: ") || !strings.Contains(err.Error(), apiErr.ErrorCode()) {
				t.Fatalf("message %q does not start with what was done and the AWS code", err.Error())
			}
			if apiErr.ErrorMessage() != "" && !strings.Contains(err.Error(), apiErr.ErrorMessage()) {
				t.Fatalf("message %q lacks the AWS message %q", err.Error(), apiErr.ErrorMessage())
			}
			if tt.typ == "" {
				if failures.TypeOf(err) != "" || !errors.Is(err, tt.err) {
					t.Fatalf("unknown codes stay plain retryable errors wrapping the cause, got %v", err)
				}
				return
			}
			wantErrType(t, err, tt.typ, tt.nonRetryable)
			if tt.typ == failures.Transient && !errors.Is(err, tt.err) {
				t.Fatalf("a transient error keeps its cause: %v", err)
			}
		})
	}
	if awsError(nil, "x") != nil {
		t.Fatal("nil must stay nil")
	}
	typed := failures.New(failures.Conflict, "already typed")
	if awsError(typed, "x") != typed {
		t.Fatal("typed errors pass through")
	}
	if !errors.Is(awsError(context.Canceled, "x"), context.Canceled) {
		t.Fatal("context errors pass through")
	}
}

func httpErr(status int, apiErr error) error {
	return &smithy.OperationError{ServiceID: "EKS", OperationName: "ListAddons", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: apiErr},
	}}
}

func TestIsUnimplemented(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"bare 404 without an AWS error (moto)", httpErr(404, errors.New("failed to decode response body")), true},
		{"404 with an unknown code", httpErr(404, &smithy.GenericAPIError{Code: "UnknownError"}), true},
		{"404 ResourceNotFoundException is a missing resource", httpErr(404, &ekstypes.ResourceNotFoundException{Message: aws.String("no cluster")}), false},
		{"400 is not", httpErr(400, &smithy.GenericAPIError{Code: "UnknownError"}), false},
		{"no HTTP response", errors.New("dial tcp: connection refused"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isUnimplemented(tt.err); got != tt.want {
				t.Fatalf("isUnimplemented = %v, want %v", got, tt.want)
			}
		})
	}
	wantErrType(t, awsError(httpErr(404, errors.New("html")), "create add-on x"), failures.NotImplemented, true)
}

func TestEnsureGreenClusterCreatesWithBluesConfig(t *testing.T) {
	f := newFakeEKS()
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	plan := greenPlanFixture()
	res, err := run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: plan, RequestToken: "cutover-prod-to-1-30/run-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Adopted || res.Status != "CREATING" || res.ARN == "" {
		t.Fatalf("result = %+v", res)
	}
	if len(f.createCluster) != 1 {
		t.Fatalf("CreateCluster called %d times", len(f.createCluster))
	}
	in := f.createCluster[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", aws.ToString(in.Name), "prod-1-30"},
		{"version", aws.ToString(in.Version), "1.30"},
		{"role", aws.ToString(in.RoleArn), "arn:aws:iam::123456789012:role/eks-cluster"},
		{"token", aws.ToString(in.ClientRequestToken), "cutover-prod-to-1-30/run-1"},
		{"subnets", in.ResourcesVpcConfig.SubnetIds, []string{"subnet-a", "subnet-b"}},
		{"security groups", in.ResourcesVpcConfig.SecurityGroupIds, []string{"sg-1"}},
		{"public", aws.ToBool(in.ResourcesVpcConfig.EndpointPublicAccess), true},
		{"private", aws.ToBool(in.ResourcesVpcConfig.EndpointPrivateAccess), true},
		{"cidrs", in.ResourcesVpcConfig.PublicAccessCidrs, []string{"10.0.0.0/8"}},
		{"logging", in.Logging, &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: []ekstypes.LogType{"api", "audit"}}}}},
		{"encryption key", aws.ToString(in.EncryptionConfig[0].Provider.KeyArn), "arn:aws:kms:eu-west-1:123456789012:key/k"},
		{"encryption resources", in.EncryptionConfig[0].Resources, []string{"secrets"}},
		{"auth mode", in.AccessConfig.AuthenticationMode, ekstypes.AuthenticationModeApiAndConfigMap},
		{"creator admin", aws.ToBool(in.AccessConfig.BootstrapClusterCreatorAdminPermissions), true},
		{"service cidr", aws.ToString(in.KubernetesNetworkConfig.ServiceIpv4Cidr), "172.20.0.0/16"},
		{"ip family", in.KubernetesNetworkConfig.IpFamily, ekstypes.IpFamilyIpv4},
		{"support type", in.UpgradePolicy.SupportType, ekstypes.SupportTypeStandard},
		{"tags", in.Tags, map[string]string{"team": "platform", TagManagedBy: "cutover", TagMigration: "prod-to-1-30", TagCopiedFrom: "prod"}},
		{"deletion protection not copied", in.DeletionProtection, (*bool)(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("CreateCluster %s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

func TestEnsureGreenClusterHashesLongToken(t *testing.T) {
	f := newFakeEKS()
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	long := "cutover-" + strings.Repeat("very-long-migration-name-", 4) + "/0195f3a2-1c1e-7c4e-9c6d-1a2b3c4d5e6f"
	if _, err := run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: greenPlanFixture(), RequestToken: long}); err != nil {
		t.Fatal(err)
	}
	if tok := aws.ToString(f.createCluster[0].ClientRequestToken); len(tok) != 64 || tok == long[:64] {
		t.Fatalf("token %q: want a 64-char digest", tok)
	}
}

func TestEnsureGreenClusterAdoptsOrConflicts(t *testing.T) {
	plan := greenPlanFixture()
	matching := func() *ekstypes.Cluster {
		return &ekstypes.Cluster{
			Name: aws.String("prod-1-30"), Arn: aws.String("arn:green"), Version: aws.String("1.30"),
			RoleArn: aws.String(plan.Cluster.RoleARN), Status: ekstypes.ClusterStatusActive,
			ResourcesVpcConfig: &ekstypes.VpcConfigResponse{SubnetIds: []string{"subnet-b", "subnet-a"}},
			Tags:               map[string]string{TagMigration: "prod-to-1-30"},
		}
	}
	tests := []struct {
		name     string
		mutate   func(*ekstypes.Cluster)
		wantType string
		wantMsg  []string
	}{
		{name: "matching cluster is adopted", mutate: func(*ekstypes.Cluster) {}},
		{
			name: "everything different is listed",
			mutate: func(c *ekstypes.Cluster) {
				c.Version = aws.String("1.29")
				c.RoleArn = aws.String("arn:other")
				c.Tags = nil
				c.ResourcesVpcConfig.SubnetIds = []string{"subnet-z"}
			},
			wantType: failures.Conflict,
			wantMsg:  []string{"prod-1-30", `version is "1.29", want "1.30"`, "tag cutover.dev/migration is missing", `role is "arn:other"`, "subnets are [subnet-z]", "choose another green.clusterName"},
		},
		{
			name:     "another migration's cluster",
			mutate:   func(c *ekstypes.Cluster) { c.Tags[TagMigration] = "someone-else" },
			wantType: failures.Conflict,
			wantMsg:  []string{`tag cutover.dev/migration is "someone-else", want "prod-to-1-30"`},
		},
		{
			name: "matching but FAILED",
			mutate: func(c *ekstypes.Cluster) {
				c.Status = ekstypes.ClusterStatusFailed
				c.Health = &ekstypes.ClusterHealth{Issues: []ekstypes.ClusterIssue{{Code: "SubnetNotFound", Message: aws.String("subnet-a is gone")}}}
			},
			wantType: ResourceFailed,
			wantMsg:  []string{"FAILED", "SubnetNotFound: subnet-a is gone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEKS()
			c := matching()
			tt.mutate(c)
			f.clusters["prod-1-30"] = c
			a := newFakeActivities(f, nil, nil)
			env := newActivityEnv(t, a)
			res, err := run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: plan, RequestToken: "tok"})
			if len(f.createCluster) != 0 {
				t.Fatalf("CreateCluster must not be called for an existing cluster")
			}
			if tt.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !res.Adopted || res.Created || res.ARN != "arn:green" || res.Status != "ACTIVE" {
					t.Fatalf("result = %+v", res)
				}
				return
			}
			wantErrType(t, err, tt.wantType, true)
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err.Error(), m)
				}
			}
		})
	}
}

func TestEnsureGreenClusterCreateRaceAdopts(t *testing.T) {
	f := newFakeEKS()
	plan := greenPlanFixture()
	// The first describe says not found; by the time we create, it exists
	// (an earlier attempt's create whose answer was lost).
	f.errs["DescribeCluster"] = []error{notFound("cluster prod-1-30")}
	f.clusters["prod-1-30"] = &ekstypes.Cluster{
		Name: aws.String("prod-1-30"), Arn: aws.String("arn:green"), Version: aws.String("1.30"),
		RoleArn: aws.String(plan.Cluster.RoleARN), Status: ekstypes.ClusterStatusCreating,
		ResourcesVpcConfig: &ekstypes.VpcConfigResponse{SubnetIds: plan.Cluster.VPC.SubnetIDs},
		Tags:               map[string]string{TagMigration: "prod-to-1-30"},
	}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	res, err := run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: plan, RequestToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Adopted || res.Status != "CREATING" || len(f.createCluster) != 1 {
		t.Fatalf("result = %+v, creates = %d", res, len(f.createCluster))
	}
}

func TestEnsureGreenClusterRejectsIncompletePlan(t *testing.T) {
	a := newFakeActivities(newFakeEKS(), nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[EnsureClusterResult](t, env, a.EnsureGreenCluster, EnsureClusterInput{Plan: GreenPlan{Cluster: ClusterDescription{Name: "g", Region: "r"}}})
	wantErrType(t, err, failures.InvalidParameter, true)
}

func TestWaitEKSClusterActive(t *testing.T) {
	f := newFakeEKS()
	f.clusters["green"] = &ekstypes.Cluster{Name: aws.String("green"), Version: aws.String("1.30"), Endpoint: aws.String("https://green")}
	f.scripts["cluster/green"] = []string{"CREATING", "CREATING", "CREATING", "ACTIVE"}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	d, err := run[ClusterDescription](t, env, a.WaitEKSClusterActive, WaitClusterInput{Cluster: clusters.Ref{Name: "green", Region: "us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "ACTIVE" || d.Endpoint != "https://green" || d.Region != "us-east-1" {
		t.Fatalf("description = %+v", d)
	}
	if n := len(f.opCalls("DescribeCluster")); n != 4 {
		t.Fatalf("DescribeCluster called %d times, want 4", n)
	}
	beats := env.beats()
	if len(beats) == 0 {
		t.Fatal("no heartbeat recorded")
	}
	if b := beats[0]; b.Step != StepWaitCluster || b.Cluster != "green" || b.Status != "CREATING" || b.Polls != 1 {
		t.Fatalf("first heartbeat = %+v", b)
	}
}

func TestWaitEKSClusterActiveResumesFromHeartbeat(t *testing.T) {
	f := newFakeEKS()
	f.clusters["green"] = &ekstypes.Cluster{Name: aws.String("green"), Status: ekstypes.ClusterStatusCreating}
	f.scripts["cluster/green"] = []string{"CREATING", "ACTIVE"}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	env.SetHeartbeatDetails(Progress{Step: StepWaitCluster, Cluster: "green", Status: "CREATING", Polls: 40, Since: "2026-01-01T00:00:00Z"})
	if _, err := run[ClusterDescription](t, env, a.WaitEKSClusterActive, WaitClusterInput{Cluster: clusters.Ref{Name: "green", Region: "us-east-1"}}); err != nil {
		t.Fatal(err)
	}
	beats := env.beats()
	if len(beats) == 0 {
		t.Fatal("no heartbeat")
	}
	if b := beats[0]; b.Polls != 41 || b.Since != "2026-01-01T00:00:00Z" {
		t.Fatalf("heartbeat after resume = %+v, want polls 41 and the original start", b)
	}
}

func TestWaitEKSClusterActiveFailed(t *testing.T) {
	f := newFakeEKS()
	f.clusters["green"] = &ekstypes.Cluster{
		Name: aws.String("green"),
		Health: &ekstypes.ClusterHealth{Issues: []ekstypes.ClusterIssue{
			{Code: ekstypes.ClusterIssueCodeEc2SubnetNotFound, Message: aws.String("subnet-a does not exist"), ResourceIds: []string{"subnet-a"}},
		}},
	}
	f.scripts["cluster/green"] = []string{"CREATING", "FAILED"}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[ClusterDescription](t, env, a.WaitEKSClusterActive, WaitClusterInput{Cluster: clusters.Ref{Name: "green", Region: "us-east-1"}})
	wantErrType(t, err, ResourceFailed, true)
	if !strings.Contains(err.Error(), "Ec2SubnetNotFound: subnet-a does not exist (subnet-a)") {
		t.Fatalf("error lacks the health issue: %v", err)
	}
}

func TestWaitEKSClusterActiveMissing(t *testing.T) {
	a := newFakeActivities(newFakeEKS(), nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[ClusterDescription](t, env, a.WaitEKSClusterActive, WaitClusterInput{Cluster: clusters.Ref{Name: "nope", Region: "us-east-1"}})
	wantErrType(t, err, failures.NotFound, true)
}

func TestWaitEKSClusterActiveThrottledIsRetryable(t *testing.T) {
	f := newFakeEKS()
	f.clusters["green"] = &ekstypes.Cluster{Name: aws.String("green"), Status: ekstypes.ClusterStatusCreating}
	f.errs["DescribeCluster"] = []error{&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[ClusterDescription](t, env, a.WaitEKSClusterActive, WaitClusterInput{Cluster: clusters.Ref{Name: "green", Region: "us-east-1"}})
	wantErrType(t, err, failures.Throttled, false)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr); !strings.Contains(appErr.Error(), "Rate exceeded") {
		t.Fatalf("AWS message lost: %v", err)
	}
}

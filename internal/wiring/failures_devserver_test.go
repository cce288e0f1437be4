package wiring_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
	"github.com/cutover-dev/cutover/internal/wiring"
)

// failureCall is the input of the test workflow: one activity, by its
// registered name, on a task queue, with its input.
type failureCall struct {
	Activity  string `json:"activity"`
	TaskQueue string `json:"taskQueue"`
	Input     any    `json:"input"`
}

// runFailingActivity runs one activity under a retry policy that names no
// non-retryable type, so only what the worker reports (the failure's type
// and its non-retryable flag) decides whether Temporal retries.
func runFailingActivity(ctx workflow.Context, c failureCall) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           c.TaskQueue,
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1, MaximumAttempts: 3},
	})
	return workflow.ExecuteActivity(ctx, c.Activity, c.Input).Get(ctx, nil)
}

// TestActivityFailuresAsTemporalRecordsThem runs the real activities, as
// the cutover-worker registers them (wiring.NewWorker, wiring.Register,
// wiring.Activities), on a Temporal dev server and drives their failure
// paths: clusters without a kubeconfig, an apiserver and an AWS endpoint
// that deny every request, endpoints that refuse connections, webhooks that
// answer 403. For each it reads from the workflow's history what Temporal
// recorded: the failure's type, its non-retryable flag and the number of
// attempts (1 for a non-retryable failure, 3 under the test's policy for a
// retryable one).
func TestActivityFailuresAsTemporalRecordsThem(t *testing.T) {
	srv := sandboxtest.Temporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// AWS: the default credential chain, from the environment only.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_RETRY_MODE": "", "AWS_MAX_ATTEMPTS": "",
		notify.EnvSlackToken: "",
	} {
		t.Setenv(k, v)
	}
	denyAWS := httptest.NewServer(http.HandlerFunc(denyAWSRequest))
	defer denyAWS.Close()
	denyKube := httptest.NewServer(http.HandlerFunc(denyKubeRequest))
	defer denyKube.Close()
	refused := refusedAddr(t)

	// Clusters: "denied" answers 403 to everything, "refused" refuses
	// connections, any other name has no kubeconfig.
	kubeconfigs := t.TempDir()
	writeKubeconfig(t, filepath.Join(kubeconfigs, "denied.kubeconfig"), denyKube.URL)
	writeKubeconfig(t, filepath.Join(kubeconfigs, "refused.kubeconfig"), "http://"+refused)

	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	const (
		queue        = "failure-paths"         // AWS calls denied
		queueRefused = "failure-paths-refused" // AWS calls refused
	)
	for q, endpoint := range map[string]string{queue: denyAWS.URL, queueRefused: "http://" + refused} {
		w := wiring.NewWorker(c, q, worker.Options{})
		wiring.Register(w, wiring.Activities(wiring.Options{AWSEndpoint: endpoint, KubeconfigDir: kubeconfigs, Logger: logger})...)
		if q == queue {
			w.RegisterWorkflowWithOptions(runFailingActivity, workflow.RegisterOptions{Name: "FailurePathTest"})
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
	}

	green := clusters.Ref{Name: "green", Region: "eu-west-1"} // no kubeconfig
	denied := clusters.Ref{Name: "denied", Region: "eu-west-1"}
	refusedRef := clusters.Ref{Name: "refused", Region: "eu-west-1"}
	blue := clusters.Ref{Name: "blue", Region: "eu-west-1"}
	r53 := traffic.Target{Provider: traffic.ProviderRoute53, Region: "eu-west-1",
		Route53: &traffic.Route53Records{HostedZoneID: "Z0TEST", RecordName: "app.example.com", GreenTarget: "green.example.com"}}
	cf := traffic.Target{Provider: traffic.ProviderCloudFront, Region: "eu-west-1",
		CloudFront: &traffic.CloudFrontOrigins{DistributionID: "E0TEST", BlueOriginID: "blue", GreenOriginID: "green"}}
	plan := eks.GreenPlan{CopiedFrom: "blue", Cluster: eks.ClusterDescription{Name: "green", Region: "eu-west-1", Version: "1.31",
		RoleARN: "arn:aws:iam::111122223333:role/eks", VPC: eks.VPCConfig{SubnetIDs: []string{"subnet-1"}}}}
	nodeGroups := []eks.NodeGroup{{Name: "ng", NodeRoleARN: "arn:aws:iam::111122223333:role/node", SubnetIDs: []string{"subnet-1"}, Scaling: eks.Scaling{Min: 1, Max: 1, Desired: 1}}}
	noScratch := false
	smoke := kube.SmokeTests{Kubernetes: kube.ClusterChecks{ScratchWorkload: &noScratch}}

	const (
		notFound     = failures.NotFound
		accessDenied = failures.AccessDenied
		// retryable: any type not in failures.NonRetryable, not marked non-retryable.
		retryable = ""
	)
	cases := []struct {
		name     string
		activity string
		queue    string
		input    any
		typ      string // "" = retryable, any type
		contains string // in the recorded message
	}{
		// A cluster without a kubeconfig: every Kubernetes activity.
		{"preflight, no kubeconfig", "PreflightBlue", queue, kube.PreflightInput{Cluster: green, CurrentVersion: "1.30", TargetVersion: "1.31"}, notFound, "resolve cluster"},
		{"verify green, no kubeconfig", "VerifyGreen", queue, kube.VerifyGreenInput{Cluster: green, TargetVersion: "1.31"}, notFound, "resolve cluster"},
		{"smoke, no kubeconfig", "SmokeTestGreen", queue, kube.SmokeInput{Cluster: green, Smoke: smoke, RunID: "r1"}, notFound, "resolve cluster"},
		{"argo restore, no kubeconfig", "RestoreArgoApplications", queue, argocd.RestoreInput{Blue: clusters.Ref{Name: "nowhere", Region: "eu-west-1"}, Green: green, Mode: argocd.ModeRetarget, Namespace: "argocd"}, notFound, "resolve cluster"},
		{"argo wait, no kubeconfig", "WaitArgoSynced", queue, argocd.WaitSyncedInput{ArgoCluster: green, Namespace: "argocd", Applications: []string{"shop"}}, notFound, "resolve cluster"},
		{"argo revert, no kubeconfig", "RevertArgoApplications", queue, argocd.RevertInput{ArgoCluster: green, Namespace: "argocd"}, notFound, "resolve cluster"},
		{"velero backup, no kubeconfig", "EnsureVeleroBackup", queue, velero.BackupInput{Cluster: green, Namespace: "velero", Name: "b1"}, notFound, "resolve cluster"},
		{"velero restore, no kubeconfig", "RestoreVeleroBackup", queue, velero.RestoreInput{Cluster: green, Namespace: "velero", BackupName: "b1", RestoreName: "r1"}, notFound, "resolve cluster"},

		// An apiserver that denies every request.
		{"preflight, apiserver denies", "PreflightBlue", queue, kube.PreflightInput{Cluster: denied, CurrentVersion: "1.30", TargetVersion: "1.31"}, accessDenied, "denied"},
		{"verify green, apiserver denies", "VerifyGreen", queue, kube.VerifyGreenInput{Cluster: denied, TargetVersion: "1.31"}, accessDenied, "denied"},
		{"velero backup, apiserver denies", "EnsureVeleroBackup", queue, velero.BackupInput{Cluster: denied, Namespace: "velero", Name: "b1"}, accessDenied, "denied"},
		{"argo revert, apiserver denies", "RevertArgoApplications", queue, argocd.RevertInput{ArgoCluster: denied, Namespace: "argocd"}, accessDenied, "denied"},

		// An apiserver that refuses connections: a transient fault.
		{"verify green, apiserver refuses", "VerifyGreen", queue, kube.VerifyGreenInput{Cluster: refusedRef, TargetVersion: "1.31"}, retryable, "refused"},

		// An AWS endpoint that denies every request.
		{"describe cluster, AWS denies", "DescribeEKSCluster", queue, eks.DescribeInput{Cluster: blue}, accessDenied, "AccessDenied"},
		{"insights, AWS denies", "EKSUpgradeInsights", queue, eks.InsightsInput{Cluster: blue, TargetVersion: "1.31"}, accessDenied, "AccessDenied"},
		{"ensure green, AWS denies", "EnsureGreenCluster", queue, eks.EnsureClusterInput{Plan: plan, RequestToken: "t1"}, accessDenied, "AccessDenied"},
		{"wait cluster, AWS denies", "WaitEKSClusterActive", queue, eks.WaitClusterInput{Cluster: green}, accessDenied, "AccessDenied"},
		{"node groups, AWS denies", "EnsureNodeGroups", queue, eks.EnsureNodeGroupsInput{Cluster: green, TargetVersion: "1.31", NodeGroups: nodeGroups, RequestToken: "t1"}, accessDenied, "AccessDenied"},
		{"add-ons, AWS denies", "EnsureAddons", queue, eks.EnsureAddonsInput{Cluster: green, TargetVersion: "1.31", Addons: []eks.Addon{{Name: "coredns"}}}, accessDenied, "AccessDenied"},
		{"access entries, AWS denies", "EnsureAccessEntries", queue, eks.EnsureAccessEntriesInput{Cluster: green, Entries: []eks.AccessEntry{{PrincipalARN: "arn:aws:iam::111122223333:role/admin"}}}, accessDenied, "AccessDenied"},
		{"retire, AWS denies", "RetireEKSCluster", queue, eks.RetireInput{Cluster: blue, Role: "blue"}, accessDenied, "AccessDenied"},
		{"route53 weights, AWS denies", "GetTrafficWeights", queue, r53, accessDenied, "AccessDenied"},
		{"cloudfront weights, AWS denies", "GetTrafficWeights", queue, cf, accessDenied, "AccessDenied"},
		{"set route53 weights, AWS denies", "SetTrafficWeights", queue, traffic.SetWeightsInput{Target: r53, Green: 10}, accessDenied, "AccessDenied"},
		{"set cloudfront origin, AWS denies", "SetTrafficWeights", queue, traffic.SetWeightsInput{Target: cf, Green: 100}, accessDenied, "AccessDenied"},
		{"route53 propagation, AWS denies", "WaitTrafficPropagated", queue, traffic.Change{Provider: traffic.ProviderRoute53, ID: "C0TEST"}, accessDenied, "AccessDenied"},
		{"cloudfront propagation, AWS denies", "WaitTrafficPropagated", queue, traffic.Change{Provider: traffic.ProviderCloudFront, ID: "E0TEST"}, accessDenied, "AccessDenied"},
		{"alarms, AWS denies", "CheckTrafficHealth", queue, traffic.HealthInput{Region: "eu-west-1", Alarms: []string{"green-5xx"}}, accessDenied, "AccessDenied"},

		// An AWS endpoint that refuses connections: a transient fault.
		{"describe cluster, AWS refuses", "DescribeEKSCluster", queueRefused, eks.DescribeInput{Cluster: blue}, retryable, "refused"},
		{"route53 weights, AWS refuses", "GetTrafficWeights", queueRefused, r53, retryable, "refused"},

		// Chat: a webhook that answers 403, one that refuses connections.
		{"notify, webhook denies", "Notify", queue, notify.Message{WorkflowID: "w", Migration: "m", Kind: notify.KindPhase, Text: "x", WebhookURL: denyKube.URL + "/hook"}, accessDenied, "403"},
		{"notify, webhook refuses", "Notify", queue, notify.Message{WorkflowID: "w", Migration: "m", Kind: notify.KindPhase, Text: "x", WebhookURL: "http://" + refused + "/hook"}, retryable, "refused"},
	}

	runs := make([]client.WorkflowRun, len(cases))
	for i, tc := range cases {
		id := fmt.Sprintf("failure-path-%02d-%s", i, tc.activity)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "FailurePathTest",
			failureCall{Activity: tc.activity, TaskQueue: tc.queue, Input: tc.input})
		if err != nil {
			t.Fatalf("%s: start: %v", tc.name, err)
		}
		runs[i] = run
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := runs[i].Get(ctx, nil); err == nil {
				t.Fatalf("%s succeeded; a failure path was expected", tc.activity)
			}
			got := recordedFailure(ctx, t, c, runs[i])
			wantAttempts := int32(3)
			if tc.typ != retryable {
				wantAttempts = 1
			}
			switch {
			case tc.typ != retryable && (got.typ != tc.typ || !got.nonRetryable):
				t.Errorf("recorded type %q non-retryable %v, want %q non-retryable", got.typ, got.nonRetryable, tc.typ)
			case tc.typ == retryable && (got.nonRetryable || slices.Contains(failures.NonRetryable, got.typ)):
				t.Errorf("recorded type %q non-retryable %v, want a retryable failure", got.typ, got.nonRetryable)
			}
			if got.attempts != wantAttempts {
				t.Errorf("%d attempts, want %d", got.attempts, wantAttempts)
			}
			if !strings.Contains(got.message, tc.contains) {
				t.Errorf("message %q does not contain %q", got.message, tc.contains)
			}
			t.Logf("%s: type %s, non-retryable %v, %d attempts, retry state %s: %s", tc.activity, got.typ, got.nonRetryable, got.attempts, got.retryState, got.message)
		})
	}
}

// failureRecord is what the history says about the activity's last attempt.
type failureRecord struct {
	typ          string
	nonRetryable bool
	message      string
	attempts     int32
	retryState   enumspb.RetryState
}

func recordedFailure(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun) failureRecord {
	t.Helper()
	var r failureRecord
	failed := false
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			r.attempts = a.GetAttempt()
		}
		if a := ev.GetActivityTaskFailedEventAttributes(); a != nil {
			failed = true
			f := a.GetFailure()
			r.message, r.retryState = f.GetMessage(), a.GetRetryState()
			r.typ, r.nonRetryable = f.GetApplicationFailureInfo().GetType(), f.GetApplicationFailureInfo().GetNonRetryable()
		}
	}
	if !failed {
		t.Fatalf("no ActivityTaskFailed event in the history of %s", run.GetID())
	}
	return r
}

// denyAWSRequest answers every AWS call with AccessDenied, in the wire
// protocol of the service called: query (CloudWatch, STS: form-encoded
// POST), REST-XML (Route53, CloudFront: their API version in the path),
// JSON (SSM: X-Amz-Target) and REST-JSON (EKS).
func denyAWSRequest(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	const msg = "User: arn:aws:iam::111122223333:user/test is not authorized (cutover test endpoint)"
	w.Header().Set("X-Amzn-RequestId", "cutover-test")
	switch {
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"),
		strings.HasPrefix(r.URL.Path, "/2013-04-01/"), strings.HasPrefix(r.URL.Path, "/2020-05-31/"):
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>%s</Message></Error><RequestId>cutover-test</RequestId></ErrorResponse>`, msg)
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":%q}`, msg)
	}
}

// denyKubeRequest answers every request as an apiserver that forbids it
// (and as a webhook that refuses the post).
func denyKubeRequest(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"%s %s is denied by the cutover test apiserver","reason":"Forbidden","code":403}`, r.Method, r.URL.Path)
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func writeKubeconfig(t *testing.T, path, server string) {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
users:
- name: test
  user:
    token: cutover-test
contexts:
- name: test
  context:
    cluster: test
    user: test
current-context: test
`, server)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

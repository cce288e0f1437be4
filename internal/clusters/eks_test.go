package clusters

import (
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/failures"
)

func testAWS(region string) aws.Config {
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
}

func TestGenerateTokenFormat(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tok, err := GenerateToken(context.Background(), testAWS("eu-west-1"), "shop-blue", now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Value, "k8s-aws-v1.") {
		t.Fatalf("token %q lacks the k8s-aws-v1. prefix", tok.Value)
	}
	enc := strings.TrimPrefix(tok.Value, "k8s-aws-v1.")
	if strings.ContainsAny(enc, "=+/") {
		t.Fatalf("token payload %q is not unpadded base64url", enc)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("decode token: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "sts.eu-west-1.amazonaws.com" || (u.Path != "/" && u.Path != "") {
		t.Errorf("presigned URL %s: want https://sts.eu-west-1.amazonaws.com/", u)
	}
	q := u.Query()
	want := map[string]string{
		"Action":           "GetCallerIdentity",
		"Version":          "2011-06-15",
		"X-Amz-Algorithm":  "AWS4-HMAC-SHA256",
		"X-Amz-Expires":    "60",
		"X-Amz-Date":       "20260304T050607Z",
		"X-Amz-Credential": "AKIDEXAMPLE/20260304/eu-west-1/sts/aws4_request",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("query %s = %q, want %q", k, got, v)
		}
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !contains(signed, "host") || !contains(signed, "x-k8s-aws-id") {
		t.Errorf("signed headers %v must include host and x-k8s-aws-id", signed)
	}
	if len(q.Get("X-Amz-Signature")) != 64 {
		t.Errorf("signature %q is not a hex SHA-256", q.Get("X-Amz-Signature"))
	}
	if !tok.Expiration.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("expiration %s, want signing time + 15m", tok.Expiration)
	}
	// Same inputs, same token (signing is deterministic); another cluster
	// signs differently.
	again, _ := GenerateToken(context.Background(), testAWS("eu-west-1"), "shop-blue", now)
	other, _ := GenerateToken(context.Background(), testAWS("eu-west-1"), "shop-green", now)
	if again.Value != tok.Value || other.Value == tok.Value {
		t.Error("token must depend on the cluster name and be deterministic for a fixed time")
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

type fakeProvider struct{}

func (fakeProvider) ForRegion(_ context.Context, region string) (aws.Config, error) {
	return testAWS(region), nil
}

type fakeEKS struct {
	calls   int
	cluster *ekstypes.Cluster
	err     error
}

func (f *fakeEKS) DescribeCluster(_ context.Context, in *eks.DescribeClusterInput, _ ...func(*eks.Options)) (*eks.DescribeClusterOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &eks.DescribeClusterOutput{Cluster: f.cluster}, nil
}

func TestEKSResolverCachesUntilNearExpiry(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
	api := &fakeEKS{cluster: &ekstypes.Cluster{
		Name:                 aws.String("blue"),
		Status:               ekstypes.ClusterStatusActive,
		Endpoint:             aws.String("https://ABC.gr7.eu-west-1.eks.amazonaws.com"),
		CertificateAuthority: &ekstypes.Certificate{Data: aws.String(base64.StdEncoding.EncodeToString(ca))},
	}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &EKSResolver{AWS: fakeProvider{}, Now: func() time.Time { return now }, NewEKS: func(aws.Config) EKSDescriber { return api }}
	ref := Ref{Name: "blue", Region: "eu-west-1"}
	cfg, err := r.RESTConfig(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://ABC.gr7.eu-west-1.eks.amazonaws.com" || string(cfg.CAData) != string(ca) || !strings.HasPrefix(cfg.BearerToken, TokenPrefix) {
		t.Fatalf("config %+v", cfg)
	}
	first := cfg.BearerToken
	now = now.Add(13 * time.Minute)
	cfg, _ = r.RESTConfig(context.Background(), ref)
	if api.calls != 1 || cfg.BearerToken != first {
		t.Fatalf("within the token lifetime: %d DescribeCluster calls, token changed %v", api.calls, cfg.BearerToken != first)
	}
	now = now.Add(90 * time.Second) // 14m30s: inside the refresh margin
	cfg, _ = r.RESTConfig(context.Background(), ref)
	if api.calls != 2 || cfg.BearerToken == first {
		t.Fatalf("near expiry: %d DescribeCluster calls, token renewed %v", api.calls, cfg.BearerToken != first)
	}
}

func TestEKSResolverErrors(t *testing.T) {
	api := &fakeEKS{err: &ekstypes.ResourceNotFoundException{Message: aws.String("No cluster found for name: nope.")}}
	r := &EKSResolver{AWS: fakeProvider{}, NewEKS: func(aws.Config) EKSDescriber { return api }}
	_, err := r.RESTConfig(context.Background(), Ref{Name: "nope", Region: "eu-west-1"})
	if !failures.Is(err, failures.NotFound) {
		t.Errorf("missing cluster: %v, want NotFound", err)
	}
	api = &fakeEKS{cluster: &ekstypes.Cluster{Name: aws.String("new"), Status: ekstypes.ClusterStatusCreating}}
	r = &EKSResolver{AWS: fakeProvider{}, NewEKS: func(aws.Config) EKSDescriber { return api }}
	_, err = r.RESTConfig(context.Background(), Ref{Name: "new", Region: "eu-west-1"})
	if !failures.Is(err, failures.NotReadyYet) {
		t.Errorf("creating cluster: %v, want NotReadyYet", err)
	}
	if _, err := r.RESTConfig(context.Background(), Ref{Name: "x"}); !failures.Is(err, failures.Validation) {
		t.Errorf("no region: %v, want ValidationError", err)
	}
}

func TestKubeconfigResolver(t *testing.T) {
	dir := t.TempDir()
	kc := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
users:
- name: u
  user:
    token: abc
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`
	if err := os.WriteFile(filepath.Join(dir, "blue.kubeconfig"), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(kc, "6443", "7443", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := KubeconfigResolver{Dir: dir, Paths: map[string]string{"shop-green": other}}
	cfg, err := r.RESTConfig(context.Background(), Ref{Name: "blue", Region: "us-east-1"})
	if err != nil || cfg.Host != "https://127.0.0.1:6443" || cfg.BearerToken != "abc" {
		t.Fatalf("blue: %v %+v", err, cfg)
	}
	cfg, err = r.RESTConfig(context.Background(), Ref{Name: "shop-green"})
	if err != nil || cfg.Host != "https://127.0.0.1:7443" {
		t.Fatalf("shop-green: %v %+v", err, cfg)
	}
	if _, err := r.RESTConfig(context.Background(), Ref{Name: "missing"}); !failures.Is(err, failures.NotFound) {
		t.Errorf("missing: %v, want NotFound", err)
	}
	if _, err := r.RESTConfig(context.Background(), Ref{Name: "../blue"}); !failures.Is(err, failures.Validation) {
		t.Errorf("path traversal: %v, want ValidationError", err)
	}
}

package clusters

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

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

// tokenDate is the X-Amz-Date an EKS token was signed at.
func tokenDate(t *testing.T, tok string) time.Time {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, TokenPrefix))
	if err != nil || !strings.HasPrefix(tok, TokenPrefix) {
		t.Fatalf("token %.30s... is not an EKS token: %v", tok, err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	d, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEKSResolverTokensStayValidForALongLivedClient(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var sent []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}`)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	api := &fakeEKS{cluster: &ekstypes.Cluster{
		Name:                 aws.String("blue"),
		Status:               ekstypes.ClusterStatusActive,
		Endpoint:             aws.String(srv.URL),
		CertificateAuthority: &ekstypes.Certificate{Data: aws.String(base64.StdEncoding.EncodeToString(ca))},
	}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &EKSResolver{AWS: fakeProvider{}, Now: func() time.Time { return now }, NewEKS: func(aws.Config) EKSDescriber { return api }}
	ref := Ref{Name: "blue", Region: "eu-west-1"}
	cfg, err := r.RESTConfig(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != srv.URL || string(cfg.CAData) != string(ca) || !strings.HasPrefix(cfg.BearerToken, TokenPrefix) {
		t.Fatalf("config %+v", cfg)
	}
	// One client for 40 minutes (what a long Argo CD or Velero wait holds):
	// every request carries a token signed at most half its lifetime ago.
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sentAt []time.Time
	for range 17 {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		sentAt = append(sentAt, now)
		now = now.Add(150 * time.Second)
	}
	tokens := map[string]bool{}
	for i, tok := range sent {
		tokens[tok] = true
		if age := sentAt[i].Sub(tokenDate(t, tok)); age < 0 || age >= TokenLifetime/2 {
			t.Errorf("request %d sent a token %s old", i, age)
		}
	}
	if len(tokens) < 5 {
		t.Errorf("%d distinct tokens over 40 minutes, want one per 7.5 minutes", len(tokens))
	}
	if api.calls != 1 {
		t.Errorf("%d DescribeCluster calls for one config, want 1", api.calls)
	}
	// Asking again within 10 minutes reuses the endpoint and CA; after
	// that the cluster is described again.
	cfg2, _ := r.RESTConfig(ctx, ref)
	if api.calls != 2 || !strings.HasPrefix(cfg2.BearerToken, TokenPrefix) {
		t.Errorf("after 40 minutes: %d DescribeCluster calls, want 2", api.calls)
	}
	now = now.Add(time.Minute)
	_, _ = r.RESTConfig(ctx, ref)
	if api.calls != 2 {
		t.Errorf("within 10 minutes of the last describe: %d DescribeCluster calls, want 2", api.calls)
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

func TestKubeconfigResolverEKSTokenExtension(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := newTokenServer(t, func(string) bool { return true })
	write := func(name string, ext *EKSTokenConfig) {
		t.Helper()
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: srv.caPEM()}
		user := &clientcmdapi.AuthInfo{Token: "people-token", Extensions: map[string]runtime.Object{}}
		if ext != nil {
			user.Extensions[EKSTokenExtension] = ext.Extension()
		}
		cfg.AuthInfos[name] = user
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		cfg.CurrentContext = name
		if err := clientcmd.WriteToFile(*cfg, filepath.Join(dir, name+".kubeconfig")); err != nil {
			t.Fatal(err)
		}
	}
	write("green", &EKSTokenConfig{ClusterName: "green-eks", Region: "us-east-1", Lifetime: "20s"})
	write("plain", nil)
	write("nameless", &EKSTokenConfig{Region: "us-east-1"})
	write("badlife", &EKSTokenConfig{ClusterName: "x", Lifetime: "soon"})

	// Without AWS, the static token (what kubectl uses too).
	cfg, err := KubeconfigResolver{Dir: dir}.RESTConfig(ctx, Ref{Name: "green"})
	if err != nil || cfg.BearerToken != "people-token" || cfg.WrapTransport != nil {
		t.Fatalf("without AWS: %v, token %q", err, cfg.BearerToken)
	}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	r := KubeconfigResolver{Dir: dir, AWS: fakeProvider{}, Now: func() time.Time { return now }}
	cfg, err = r.RESTConfig(ctx, Ref{Name: "green", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != srv.URL || cfg.WrapTransport == nil || !tokenDate(t, cfg.BearerToken).Equal(now) {
		t.Fatalf("with AWS: host %s, token %.20s", cfg.Host, cfg.BearerToken)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(cfg.BearerToken, TokenPrefix))
	u, _ := url.Parse(string(raw))
	// Signed in the extension's region, for the extension's cluster name:
	// the same token EKSResolver would sign.
	want, _ := GenerateToken(ctx, testAWS("us-east-1"), "green-eks", now)
	if u.Host != "sts.us-east-1.amazonaws.com" || cfg.BearerToken != want.Value {
		t.Errorf("token for %s is not GenerateToken(us-east-1, green-eks)", u.Host)
	}
	// The extension's lifetime drives renewal: a new token after 10 s.
	cs, _ := kubernetes.NewForConfig(cfg)
	for _, d := range []time.Duration{0, 9 * time.Second, time.Second} {
		now = now.Add(d)
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h := srv.headers()
	if len(h) != 3 || h[0] != h[1] || h[1] == h[2] || !tokenDate(t, strings.TrimPrefix(h[2], "Bearer ")).Equal(now) {
		t.Errorf("tokens sent at +0s, +9s, +10s of a 20s lifetime: %d headers, want the same token twice then a new one", len(h))
	}
	// A kubeconfig without the extension keeps its credentials.
	if cfg, err := r.RESTConfig(ctx, Ref{Name: "plain"}); err != nil || cfg.BearerToken != "people-token" {
		t.Errorf("plain: %v %q", err, cfg.BearerToken)
	}
	for _, name := range []string{"nameless", "badlife"} {
		if _, err := r.RESTConfig(ctx, Ref{Name: name, Region: "us-east-1"}); !failures.Is(err, failures.Validation) {
			t.Errorf("%s: %v, want ValidationError", name, err)
		}
	}
}

package sandbox

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	authnv1 "k8s.io/api/authentication/v1"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/clusters"
)

const (
	// DefaultKubeTokenMaxAge is how long the sandbox's apiservers accept an
	// EKS token after it was signed (EKS: 15 minutes). It is short so that
	// every run of the sandbox proves its clients renew their tokens.
	DefaultKubeTokenMaxAge = 20 * time.Second
	// AWSAccessKeyID and AWSSecretAccessKey are the sandbox's AWS
	// credentials: moto accepts them, and the apiservers verify EKS tokens
	// signed with them.
	AWSAccessKeyID     = "testing"
	AWSSecretAccessKey = "testing"
	// AWSAccountID is moto's account.
	AWSAccountID = "123456789012"

	// tokenReviewPath is where the webhook answers TokenReviews.
	tokenReviewPath = "/tokenreview"
	// futureSkew is how far in the future a token's signing time may be.
	futureSkew    = 5 * time.Second
	amzDateFormat = "20060102T150405Z"
	// emptySHA256 is the payload hash of a presigned GET.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// EKSUser is the Kubernetes user an EKS token signed with accessKeyID
// authenticates as on the sandbox's clusters. It is in system:masters, like
// an EKS access entry with AmazonEKSClusterAdminPolicy.
func EKSUser(accessKeyID string) string {
	return "arn:aws:iam::" + AWSAccountID + ":user/" + accessKeyID
}

// AWSCredentials gives the sandbox's AWS credentials for every region,
// with no endpoint: enough to sign EKS tokens for a sandbox cluster
// without moto (clusters.KubeconfigResolver{AWS: sandbox.AWSCredentials()}).
func AWSCredentials() awsconf.Provider { return sandboxCredentials{} }

type sandboxCredentials struct{}

func (sandboxCredentials) ForRegion(_ context.Context, region string) (aws.Config, error) {
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(AWSAccessKeyID, AWSSecretAccessKey, "")}, nil
}

// TokenStats counts the EKS tokens a cluster's authenticator reviewed.
// kube-apiserver keeps an accepted token for 10 s (not configurable) before
// it asks again, so Accepted counts reviews, not requests, and a token
// first accepted at age a is accepted until a+10s.
type TokenStats struct {
	// Accepted and Rejected count reviews; Distinct counts the different
	// tokens accepted (each renewal is one).
	Accepted, Rejected, Distinct int
	// LastRejection says why the last token was refused.
	LastRejection string
}

// tokenWebhook is the authenticator of one sandbox cluster: a TokenReview
// webhook (kube-apiserver --authentication-token-webhook-config-file) on
// 127.0.0.1 that accepts EKS bearer tokens, verified as EKS does: the
// presigned STS GetCallerIdentity URL must be signed with a known access
// key, for this cluster (signed header x-k8s-aws-id), and at most maxAge
// ago (X-Amz-Date). Anything else is refused, and the apiserver answers 401.
type tokenWebhook struct {
	cluster string
	maxAge  time.Duration
	secrets map[string]string // access key id -> secret
	now     func() time.Time
	log     *slog.Logger
	url     string
	srv     *http.Server
	done    chan struct{}
	stopped sync.Once
	stopErr error

	mu    sync.Mutex
	stats TokenStats
	seen  map[string]time.Time // accepted signature -> signing time
}

func startTokenWebhook(cluster string, maxAge time.Duration, log *slog.Logger) (*tokenWebhook, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("token webhook: %w", err)
	}
	w := &tokenWebhook{
		cluster: cluster,
		maxAge:  maxAge,
		secrets: map[string]string{AWSAccessKeyID: AWSSecretAccessKey},
		now:     time.Now,
		log:     log,
		url:     "http://" + ln.Addr().String() + tokenReviewPath,
		done:    make(chan struct{}),
		seen:    map[string]time.Time{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tokenReviewPath, w.serveTokenReview)
	w.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(w.done)
		if err := w.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Token webhook stopped", "err", err)
		}
	}()
	return w, nil
}

// stop stops serving (safe to call twice).
func (w *tokenWebhook) stop() error {
	if w == nil {
		return nil
	}
	w.stopped.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.stopErr = w.srv.Shutdown(ctx)
		<-w.done
	})
	return w.stopErr
}

func (w *tokenWebhook) serveTokenReview(rw http.ResponseWriter, r *http.Request) {
	var review authnv1.TokenReview
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&review); err != nil {
		http.Error(rw, "decode TokenReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	user, err := w.review(review.Spec.Token)
	review.Status = authnv1.TokenReviewStatus{}
	if err != nil {
		review.Status.Error = err.Error()
	} else {
		review.Status.Authenticated = true
		review.Status.User = user
	}
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(review)
}

// review checks token and counts the outcome.
func (w *tokenWebhook) review(token string) (authnv1.UserInfo, error) {
	now := w.now()
	user, signature, signed, err := w.verify(token, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.stats.Rejected++
		w.stats.LastRejection = err.Error()
		w.log.Info("Refused a bearer token", "reason", err.Error())
		return user, err
	}
	w.stats.Accepted++
	if _, ok := w.seen[signature]; !ok {
		w.stats.Distinct++
		w.seen[signature] = signed
		for s, t := range w.seen {
			if now.Sub(t) > w.maxAge {
				delete(w.seen, s)
			}
		}
	}
	return user, nil
}

func (w *tokenWebhook) tokenStats() TokenStats {
	if w == nil {
		return TokenStats{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// verify checks an EKS token the way EKS does, with the signing keys the
// sandbox knows in place of STS, and returns the user, the token's
// signature and its signing time.
func (w *tokenWebhook) verify(token string, now time.Time) (authnv1.UserInfo, string, time.Time, error) {
	var user authnv1.UserInfo
	if !strings.HasPrefix(token, clusters.TokenPrefix) {
		return user, "", time.Time{}, errors.New("not an EKS token (no " + clusters.TokenPrefix + " prefix)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, clusters.TokenPrefix))
	if err != nil {
		return user, "", time.Time{}, fmt.Errorf("EKS token is not base64url: %w", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return user, "", time.Time{}, errors.New("EKS token is not a presigned URL")
	}
	q := u.Query()
	if q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2011-06-15" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return user, "", time.Time{}, errors.New("EKS token is not a presigned AWS4-HMAC-SHA256 sts:GetCallerIdentity")
	}
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[3] != "sts" || scope[4] != "aws4_request" {
		return user, "", time.Time{}, fmt.Errorf("EKS token credential scope %q is not an STS one", q.Get("X-Amz-Credential"))
	}
	secret, ok := w.secrets[scope[0]]
	if !ok {
		return user, "", time.Time{}, fmt.Errorf("EKS token signed with unknown access key %q", scope[0])
	}
	signed, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return user, "", time.Time{}, fmt.Errorf("EKS token X-Amz-Date %q: %w", q.Get("X-Amz-Date"), err)
	}
	if age := now.Sub(signed); age > w.maxAge {
		return user, "", signed, fmt.Errorf("EKS token expired: signed %s ago, this cluster accepts tokens for %s", age.Round(time.Second), w.maxAge)
	} else if age < -futureSkew {
		return user, "", signed, fmt.Errorf("EKS token signed %s in the future", (-age).Round(time.Second))
	}
	if headers := strings.Split(q.Get("X-Amz-SignedHeaders"), ";"); !slices.Contains(headers, "host") || !slices.Contains(headers, clusters.ClusterIDHeader) {
		return user, "", signed, fmt.Errorf("EKS token does not sign headers host and %s", clusters.ClusterIDHeader)
	}
	// Sign the same request for this cluster: a token signed for another
	// cluster, with another key, or altered, has another signature.
	got := q.Get("X-Amz-Signature")
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: q.Get("X-Amz-Security-Token")}
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
		q.Del(k)
	}
	unsigned := *u
	unsigned.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodGet, unsigned.String(), nil)
	if err != nil {
		return user, "", signed, fmt.Errorf("EKS token URL: %w", err)
	}
	req.Header.Set(clusters.ClusterIDHeader, w.cluster)
	want, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, "sts", scope[2], signed)
	if err != nil {
		return user, "", signed, fmt.Errorf("EKS token: sign: %w", err)
	}
	wu, err := url.Parse(want)
	if err != nil || !hmac.Equal([]byte(got), []byte(wu.Query().Get("X-Amz-Signature"))) {
		return user, "", signed, fmt.Errorf("EKS token signature does not match (signed for another cluster than %q, or with another key?)", w.cluster)
	}
	user = authnv1.UserInfo{
		Username: EKSUser(scope[0]),
		UID:      "aws-iam-authenticator:" + AWSAccountID + ":" + scope[0],
		Groups:   []string{"system:masters", "system:authenticated"},
	}
	return user, got, signed, nil
}

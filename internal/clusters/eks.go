package clusters

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/failures"
)

const (
	// TokenPrefix starts every EKS bearer token.
	TokenPrefix = "k8s-aws-v1."
	// ClusterIDHeader is the signed header naming the cluster.
	ClusterIDHeader = "x-k8s-aws-id"
	// TokenLifetime is how long EKS accepts a token after it is signed.
	TokenLifetime = 15 * time.Minute
	// presignExpires is the X-Amz-Expires aws-iam-authenticator puts in the
	// URL; EKS itself accepts the token for TokenLifetime from X-Amz-Date.
	presignExpires = "60"
	// describeTTL is how long EKSResolver reuses a cluster's endpoint and CA
	// before it describes the cluster again.
	describeTTL = 10 * time.Minute
)

// GenerateToken builds the EKS bearer token for cluster: "k8s-aws-v1." and
// the unpadded base64url of a presigned STS GetCallerIdentity URL whose
// signed headers include x-k8s-aws-id: <cluster>. This is what
// `aws eks get-token` and aws-iam-authenticator produce. It is signed at
// now and expires TokenLifetime later.
func GenerateToken(ctx context.Context, cfg aws.Config, cluster string, now time.Time) (Token, error) {
	return generateToken(ctx, cfg, cluster, now, TokenLifetime)
}

func generateToken(ctx context.Context, cfg aws.Config, cluster string, now time.Time, lifetime time.Duration) (Token, error) {
	if cluster == "" {
		return Token{}, errors.New("generate EKS token: empty cluster name")
	}
	// X-Amz-Date has a resolution of a second: that is the issue time the
	// cluster sees.
	signed := now.UTC().Truncate(time.Second)
	presign := sts.NewPresignClient(sts.NewFromConfig(cfg))
	req, err := presign.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.Presigner = clusterPresigner{cluster: cluster, now: signed, inner: v4.NewSigner()}
	})
	if err != nil {
		return Token{}, fmt.Errorf("presign STS GetCallerIdentity for cluster %s: %w", cluster, err)
	}
	return Token{
		Value:      TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)),
		IssuedAt:   signed,
		Expiration: signed.Add(lifetime),
	}, nil
}

// NewEKSTokenSource returns a TokenSource of EKS tokens for cluster (its
// EKS name) in region, signed with the credentials p gives for the
// region and accepted by the cluster for lifetime (TokenLifetime when 0).
// now is the clock (time.Now when nil).
func NewEKSTokenSource(p awsconf.Provider, cluster, region string, lifetime time.Duration, now func() time.Time) *TokenSource {
	if lifetime <= 0 {
		lifetime = TokenLifetime
	}
	return NewTokenSource("EKS token for cluster "+region+"/"+cluster, func(ctx context.Context, now time.Time) (Token, error) {
		cfg, err := p.ForRegion(ctx, region)
		if err != nil {
			return Token{}, err
		}
		return generateToken(ctx, cfg, cluster, now, lifetime)
	}, now)
}

// clusterPresigner adds the cluster header and X-Amz-Expires before
// signing, and signs at a fixed time.
type clusterPresigner struct {
	cluster string
	now     time.Time
	inner   sts.HTTPPresignerV4
}

func (p clusterPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	r.Header.Set(ClusterIDHeader, p.cluster)
	q := r.URL.Query()
	q.Set("X-Amz-Expires", presignExpires)
	r.URL.RawQuery = q.Encode()
	return p.inner.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.now.UTC(), optFns...)
}

// EKSDescriber is the one EKS call the resolver makes.
type EKSDescriber interface {
	DescribeCluster(ctx context.Context, in *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
}

// EKSResolver is the production Resolver: endpoint and CA from EKS
// DescribeCluster (reused for 10 minutes), and bearer tokens from a
// presigned STS GetCallerIdentity through a TokenSource per cluster
// (WithTokenSource): every request carries a token signed at most 7.5
// minutes earlier, however long the client built from the config lives.
type EKSResolver struct {
	AWS awsconf.Provider
	// Now and NewEKS replace the clock and the EKS client in tests.
	Now    func() time.Time
	NewEKS func(aws.Config) EKSDescriber

	mu    sync.Mutex
	cache map[Ref]*eksEntry
}

type eksEntry struct {
	host      string
	ca        []byte
	described time.Time
	tokens    *TokenSource
}

var _ Resolver = (*EKSResolver)(nil)

// RESTConfig implements Resolver.
func (r *EKSResolver) RESTConfig(ctx context.Context, ref Ref) (*rest.Config, error) {
	if ref.Name == "" || ref.Region == "" {
		return nil, failures.New(failures.Validation, "cluster reference %q needs a name and a region", ref.String())
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[ref]
	if !ok || !now().Before(e.described.Add(describeTTL)) {
		host, ca, err := r.describe(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !ok {
			e = &eksEntry{tokens: NewEKSTokenSource(r.AWS, ref.Name, ref.Region, TokenLifetime, now)}
		}
		e.host, e.ca, e.described = host, ca, now()
		if r.cache == nil {
			r.cache = map[Ref]*eksEntry{}
		}
		r.cache[ref] = e
	}
	return WithTokenSource(ctx, &rest.Config{
		Host:            e.host,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), e.ca...)},
		UserAgent:       "cutover",
	}, e.tokens)
}

// describe reads the endpoint and the CA of ref from EKS.
func (r *EKSResolver) describe(ctx context.Context, ref Ref) (string, []byte, error) {
	cfg, err := r.AWS.ForRegion(ctx, ref.Region)
	if err != nil {
		return "", nil, err
	}
	var api EKSDescriber
	if r.NewEKS != nil {
		api = r.NewEKS(cfg)
	} else {
		api = eks.NewFromConfig(cfg)
	}
	out, err := api.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(ref.Name)})
	if err != nil {
		var nf *ekstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", nil, failures.Wrap(failures.NotFound, err, "EKS cluster %s", ref)
		}
		return "", nil, fmt.Errorf("describe EKS cluster %s: %w", ref, err)
	}
	c := out.Cluster
	if c == nil || aws.ToString(c.Endpoint) == "" || c.CertificateAuthority == nil || aws.ToString(c.CertificateAuthority.Data) == "" {
		status := ""
		if c != nil {
			status = string(c.Status)
		}
		return "", nil, failures.New(failures.NotReadyYet, "EKS cluster %s has no endpoint or CA yet (status %q)", ref, status)
	}
	ca, err := base64.StdEncoding.DecodeString(aws.ToString(c.CertificateAuthority.Data))
	if err != nil {
		return "", nil, fmt.Errorf("EKS cluster %s: decode certificate authority: %w", ref, err)
	}
	return aws.ToString(c.Endpoint), ca, nil
}

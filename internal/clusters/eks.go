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
	// refreshMargin renews a cached token this long before it expires.
	refreshMargin = time.Minute
)

// Token is an EKS bearer token and when EKS stops accepting it.
type Token struct {
	Value      string
	Expiration time.Time
}

// GenerateToken builds the EKS bearer token for cluster: "k8s-aws-v1." and
// the unpadded base64url of a presigned STS GetCallerIdentity URL whose
// signed headers include x-k8s-aws-id: <cluster>. This is what
// `aws eks get-token` and aws-iam-authenticator produce.
func GenerateToken(ctx context.Context, cfg aws.Config, cluster string, now time.Time) (Token, error) {
	if cluster == "" {
		return Token{}, errors.New("generate EKS token: empty cluster name")
	}
	presign := sts.NewPresignClient(sts.NewFromConfig(cfg))
	req, err := presign.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.Presigner = clusterPresigner{cluster: cluster, now: now, inner: v4.NewSigner()}
	})
	if err != nil {
		return Token{}, fmt.Errorf("presign STS GetCallerIdentity for cluster %s: %w", cluster, err)
	}
	return Token{
		Value:      TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)),
		Expiration: now.Add(TokenLifetime),
	}, nil
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
// DescribeCluster, a bearer token from a presigned STS GetCallerIdentity,
// both cached per cluster until a minute before the token expires.
type EKSResolver struct {
	AWS awsconf.Provider
	// Now and NewEKS replace the clock and the EKS client in tests.
	Now    func() time.Time
	NewEKS func(aws.Config) EKSDescriber

	mu    sync.Mutex
	cache map[Ref]eksEntry
}

type eksEntry struct {
	cfg     *rest.Config
	expires time.Time
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
	if e, ok := r.cache[ref]; ok && now().Before(e.expires.Add(-refreshMargin)) {
		return rest.CopyConfig(e.cfg), nil
	}
	cfg, err := r.AWS.ForRegion(ctx, ref.Region)
	if err != nil {
		return nil, err
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
			return nil, failures.Wrap(failures.NotFound, err, "EKS cluster %s", ref)
		}
		return nil, fmt.Errorf("describe EKS cluster %s: %w", ref, err)
	}
	c := out.Cluster
	if c == nil || aws.ToString(c.Endpoint) == "" || c.CertificateAuthority == nil || aws.ToString(c.CertificateAuthority.Data) == "" {
		status := ""
		if c != nil {
			status = string(c.Status)
		}
		return nil, failures.New(failures.NotReadyYet, "EKS cluster %s has no endpoint or CA yet (status %q)", ref, status)
	}
	ca, err := base64.StdEncoding.DecodeString(aws.ToString(c.CertificateAuthority.Data))
	if err != nil {
		return nil, fmt.Errorf("EKS cluster %s: decode certificate authority: %w", ref, err)
	}
	tok, err := GenerateToken(ctx, cfg, ref.Name, now())
	if err != nil {
		return nil, err
	}
	rc := &rest.Config{
		Host:            aws.ToString(c.Endpoint),
		BearerToken:     tok.Value,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		UserAgent:       "cutover",
	}
	if r.cache == nil {
		r.cache = map[Ref]eksEntry{}
	}
	r.cache[ref] = eksEntry{cfg: rc, expires: tok.Expiration}
	return rest.CopyConfig(rc), nil
}

package sandbox

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cutover-dev/cutover/internal/clusters"
)

func TestTokenWebhookVerifiesEKSTokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	w := &tokenWebhook{cluster: "green", maxAge: 20 * time.Second, secrets: map[string]string{AWSAccessKeyID: AWSSecretAccessKey}}
	sandboxAWS, _ := AWSCredentials().ForRegion(ctx, DefaultRegion)
	viaMoto := sandboxAWS.Copy()
	viaMoto.BaseEndpoint = aws.String("http://127.0.0.1:5000") // the worker's AWS config points at moto
	otherKey := aws.Config{Region: DefaultRegion, Credentials: credentials.NewStaticCredentialsProvider(AWSAccessKeyID, "not-the-secret", "")}
	unknownKey := aws.Config{Region: DefaultRegion, Credentials: credentials.NewStaticCredentialsProvider("AKIDOTHER", "x", "")}
	token := func(cfg aws.Config, cluster string, signed time.Time) string {
		tok, err := clusters.GenerateToken(ctx, cfg, cluster, signed)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Value
	}
	fresh := token(sandboxAWS, "green", now.Add(-19*time.Second))
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(fresh, clusters.TokenPrefix))
	tampered := clusters.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "Version=2011-06-15", "Version=2011-06-15&Extra=1", 1)))

	for _, c := range []struct {
		name, token, refusal string
	}{
		{"fresh", fresh, ""},
		{"signed for moto's endpoint", token(viaMoto, "green", now), ""},
		{"a little in the future", token(sandboxAWS, "green", now.Add(3*time.Second)), ""},
		{"too old", token(sandboxAWS, "green", now.Add(-21*time.Second)), "expired: signed 21s ago, this cluster accepts tokens for 20s"},
		{"far in the future", token(sandboxAWS, "green", now.Add(time.Minute)), "in the future"},
		{"another cluster", token(sandboxAWS, "blue", now), "signature does not match"},
		{"another secret", token(otherKey, "green", now), "signature does not match"},
		{"unknown key", token(unknownKey, "green", now), `unknown access key "AKIDOTHER"`},
		{"tampered", tampered, "signature does not match"},
		{"not EKS", "0123456789abcdef", "not an EKS token"},
		{"not base64", clusters.TokenPrefix + "!!!", "not base64url"},
	} {
		user, _, _, err := w.verify(c.token, now)
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refusal == "" && (user.Username != EKSUser(AWSAccessKeyID) || user.Groups[0] != "system:masters"):
			t.Errorf("%s: user %+v", c.name, user)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s: %v, want a refusal containing %q", c.name, err, c.refusal)
		}
	}
}

package argocd_test

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

func TestClusterConfig(t *testing.T) {
	ctx := context.Background()
	ref := clusters.Ref{Name: "shop-green", Region: "eu-west-1"}
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

	eks := &rest.Config{Host: "https://0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com", BearerToken: "k8s-aws-v1.presigned", TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	cc, err := argocd.AutoClusterConfig(ctx, ref, eks)
	if err != nil {
		t.Fatal(err)
	}
	if cc.AWSAuthConfig == nil || cc.AWSAuthConfig.ClusterName != "shop-green" || cc.BearerToken != "" || string(cc.CAData) != string(ca) {
		t.Errorf("EKS endpoint: %+v, want awsAuthConfig for shop-green, the CA and no (expiring) token", cc)
	}

	local := &rest.Config{Host: "https://127.0.0.1:6443", BearerToken: "sandbox-token", TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	cc, err = argocd.AutoClusterConfig(ctx, ref, local)
	if err != nil {
		t.Fatal(err)
	}
	if cc.AWSAuthConfig != nil || cc.BearerToken != "sandbox-token" || string(cc.CAData) != string(ca) {
		t.Errorf("other endpoint: %+v, want the token and CA", cc)
	}

	cc, err = argocd.EKSClusterConfig("arn:aws:iam::111122223333:role/argocd-deployer")(ctx, ref, eks)
	if err != nil || cc.AWSAuthConfig.RoleARN != "arn:aws:iam::111122223333:role/argocd-deployer" {
		t.Errorf("EKSClusterConfig with a role: %+v, %v", cc, err)
	}

	execOnly := &rest.Config{Host: "https://127.0.0.1:6443", ExecProvider: nil, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	if _, err := argocd.StaticClusterConfig(ctx, ref, execOnly); failures.TypeOf(err) != failures.Validation {
		t.Errorf("no usable credentials: %v, want a ValidationError", err)
	}
}

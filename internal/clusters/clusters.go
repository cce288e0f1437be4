// Package clusters names clusters and resolves them to Kubernetes clients.
// Activities never receive credentials in their input (inputs are recorded
// in workflow history): they get a Ref and ask a Resolver.
//
// The activity packages that reach clusters (kube, argocd, velero) build
// their clients the same way: Settings in their options, and a Base (the
// ClientCache over the Resolver and the logger) in their activity struct.
package clusters

import (
	"context"

	"k8s.io/client-go/rest"
)

// Ref names an EKS cluster.
type Ref struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

func (r Ref) String() string { return r.Region + "/" + r.Name }

// Resolver turns a cluster name into a client config. In production it
// builds an EKS bearer token (a presigned STS GetCallerIdentity) and reads
// the endpoint and CA from DescribeCluster; in the sandbox it reads the local
// apiserver's kubeconfig.
type Resolver interface {
	RESTConfig(ctx context.Context, ref Ref) (*rest.Config, error)
}

package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LoadBalancerAPI is the part of the ELBv2 client the simulated AWS Load
// Balancer Controller uses.
type LoadBalancerAPI interface {
	CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
}

// loadBalancers plays the AWS Load Balancer Controller on c: every Service
// of type LoadBalancer gets an NLB and every Ingress an ALB, made in the
// emulator (in the sandbox VPC's subnets) with the name the controller
// would give it, and its DNS name written to the object's
// status.loadBalancer. With releaseLoadBalancers it is the simulator's only
// write to AWS, as the
// controller is the only in-cluster writer of load balancers.
func (s *Simulator) loadBalancers(ctx context.Context, c cluster) error {
	if s.LoadBalancers == nil {
		return nil
	}
	svcs, err := c.cs.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range svcs.Items {
		sv := &svcs.Items[i]
		if sv.Spec.Type != corev1.ServiceTypeLoadBalancer || len(sv.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		host, err := s.ensureLoadBalancer(ctx, lbName(sv.Namespace, sv.Name, string(sv.UID)), elbtypes.LoadBalancerTypeEnumNetwork)
		if err != nil {
			return err
		}
		sv.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: host}}
		if sv, err = c.cs.CoreV1().Services(sv.Namespace).UpdateStatus(ctx, sv, metav1.UpdateOptions{}); err != nil {
			return err
		}
		if err := s.addFinalizer(ctx, c, sv.Namespace, sv.Name, "service.k8s.aws/resources", false); err != nil {
			return err
		}
		s.Logger.Info("Gave a Service its load balancer", "service", sv.Namespace+"/"+sv.Name, "hostname", host)
	}
	ings, err := c.cs.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range ings.Items {
		ing := &ings.Items[i]
		if len(ing.Status.LoadBalancer.Ingress) > 0 {
			continue
		}
		host, err := s.ensureLoadBalancer(ctx, lbName(ing.Namespace, ing.Name, string(ing.UID)), elbtypes.LoadBalancerTypeEnumApplication)
		if err != nil {
			return err
		}
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: host}}
		if _, err := c.cs.NetworkingV1().Ingresses(ing.Namespace).UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
			return err
		}
		if err := s.addFinalizer(ctx, c, ing.Namespace, ing.Name, "ingress.k8s.aws/resources", true); err != nil {
			return err
		}
		s.Logger.Info("Gave an Ingress its load balancer", "ingress", ing.Namespace+"/"+ing.Name, "hostname", host)
	}
	return nil
}

// ensureLoadBalancer makes the load balancer (or finds the one an earlier
// round made) and returns its DNS name.
func (s *Simulator) ensureLoadBalancer(ctx context.Context, name string, typ elbtypes.LoadBalancerTypeEnum) (string, error) {
	out, err := s.LoadBalancers.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err == nil && len(out.LoadBalancers) == 1 {
		return aws.ToString(out.LoadBalancers[0].DNSName), nil
	}
	made, err := s.LoadBalancers.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String(name), Type: typ, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Subnets: s.Subnets,
		Tags: []elbtypes.Tag{{Key: aws.String("elbv2.k8s.aws/cluster"), Value: aws.String(s.Green.Name)}},
	})
	if err != nil {
		return "", fmt.Errorf("create load balancer %s: %w", name, err)
	}
	return aws.ToString(made.LoadBalancers[0].DNSName), nil
}

// addFinalizer puts the controller's finalizer on the object it made a
// load balancer for, as the AWS Load Balancer Controller does, so that
// deleting the object waits for the load balancer's removal.
func (s *Simulator) addFinalizer(ctx context.Context, c cluster, ns, name, finalizer string, ingress bool) error {
	var err error
	if ingress {
		var ing *networkingv1.Ingress
		if ing, err = c.cs.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{}); err == nil && !slices.Contains(ing.Finalizers, finalizer) {
			ing.Finalizers = append(ing.Finalizers, finalizer)
			_, err = c.cs.NetworkingV1().Ingresses(ns).Update(ctx, ing, metav1.UpdateOptions{})
		}
	} else {
		var sv *corev1.Service
		if sv, err = c.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err == nil && !slices.Contains(sv.Finalizers, finalizer) {
			sv.Finalizers = append(sv.Finalizers, finalizer)
			_, err = c.cs.CoreV1().Services(ns).Update(ctx, sv, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("finalizer %s on %s/%s: %w", finalizer, ns, name, err)
	}
	return nil
}

// lbName is the AWS Load Balancer Controller's name for an object's load
// balancer: k8s-<namespace>-<name>-<hash>, each part cut to 8 characters,
// at most 32 in all.
func lbName(ns, name, uid string) string {
	cut := func(s string) string {
		s = strings.ToLower(s)
		if len(s) > 8 {
			s = s[:8]
		}
		return strings.Trim(s, "-")
	}
	sum := sha256.Sum256([]byte(ns + "/" + name + "/" + uid))
	return "k8s-" + cut(ns) + "-" + cut(name) + "-" + hex.EncodeToString(sum[:])[:10]
}

// The AWS Load Balancer Controller's finalizers.
var lbFinalizers = []string{"service.k8s.aws/resources", "ingress.k8s.aws/resources", "elbv2.k8s.aws/resources"}

// releaseLoadBalancers plays the AWS Load Balancer Controller's deletion on
// c: a Service or Ingress being deleted that carries the controller's
// finalizer loses its load balancer (found in the emulator by the DNS
// name of its status) and that load balancer's target groups, and then
// the finalizer, so the apiserver removes the object.
func (s *Simulator) releaseLoadBalancers(ctx context.Context, c cluster) error {
	if s.LoadBalancers == nil {
		return nil
	}
	svcs, err := c.cs.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range svcs.Items {
		sv := &svcs.Items[i]
		kept := withoutLBFinalizers(sv.Finalizers)
		if sv.DeletionTimestamp == nil || len(kept) == len(sv.Finalizers) {
			continue
		}
		for _, in := range sv.Status.LoadBalancer.Ingress {
			if err := s.deleteLoadBalancer(ctx, in.Hostname); err != nil {
				return err
			}
		}
		sv.Finalizers = kept
		if _, err := c.cs.CoreV1().Services(sv.Namespace).Update(ctx, sv, metav1.UpdateOptions{}); err != nil {
			return err
		}
		s.Logger.Info("Removed a deleted Service's load balancer", "service", sv.Namespace+"/"+sv.Name)
	}
	ings, err := c.cs.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range ings.Items {
		ing := &ings.Items[i]
		kept := withoutLBFinalizers(ing.Finalizers)
		if ing.DeletionTimestamp == nil || len(kept) == len(ing.Finalizers) {
			continue
		}
		for _, in := range ing.Status.LoadBalancer.Ingress {
			if err := s.deleteLoadBalancer(ctx, in.Hostname); err != nil {
				return err
			}
		}
		ing.Finalizers = kept
		if _, err := c.cs.NetworkingV1().Ingresses(ing.Namespace).Update(ctx, ing, metav1.UpdateOptions{}); err != nil {
			return err
		}
		s.Logger.Info("Removed a deleted Ingress's load balancer", "ingress", ing.Namespace+"/"+ing.Name)
	}
	return nil
}

func withoutLBFinalizers(fs []string) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(lbFinalizers, f) {
			out = append(out, f)
		}
	}
	return out
}

// deleteLoadBalancer deletes the emulator's load balancer of that DNS name
// (none is fine: made by someone else, or deleted by an earlier round),
// then its target groups.
func (s *Simulator) deleteLoadBalancer(ctx context.Context, dns string) error {
	if dns == "" {
		return nil
	}
	p := elbv2.NewDescribeLoadBalancersPaginator(s.LoadBalancers, &elbv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, lb := range page.LoadBalancers {
			if !strings.EqualFold(strings.TrimSuffix(aws.ToString(lb.DNSName), "."), strings.TrimSuffix(dns, ".")) {
				continue
			}
			tgs, err := s.LoadBalancers.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode() == "TargetGroupNotFound" {
				tgs, err = &elbv2.DescribeTargetGroupsOutput{}, nil // moto's answer for none
			}
			if err != nil {
				return fmt.Errorf("target groups of %s: %w", aws.ToString(lb.LoadBalancerName), err)
			}
			if _, err := s.LoadBalancers.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
				return fmt.Errorf("delete load balancer %s: %w", aws.ToString(lb.LoadBalancerName), err)
			}
			for _, tg := range tgs.TargetGroups {
				if _, err := s.LoadBalancers.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
					return fmt.Errorf("delete target group %s: %w", aws.ToString(tg.TargetGroupName), err)
				}
			}
			s.Logger.Info("Deleted a load balancer and its target groups", "loadBalancer", aws.ToString(lb.LoadBalancerName), "targetGroups", len(tgs.TargetGroups))
			return nil
		}
	}
	return nil
}

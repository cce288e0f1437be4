package sandbox

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
)

// Kubernetes side of the blue estate.
const (
	// BlueKubeletVersion is the kubelet version of blue's nodes.
	BlueKubeletVersion = "v1.29.15-eks-473151a"
	// LastAppliedAnnotation is kubectl's client-side apply annotation.
	LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
	ArgoCDNamespace       = "argocd"
	// SandboxAppsRepoURL is the Git repository of the seeded Applications
	// and ApplicationSets.
	SandboxAppsRepoURL = "https://github.com/cutover-dev/sandbox-apps.git"
	// PrometheusConfig is the monitoring ConfigMap whose external label
	// names blue.
	PrometheusConfig = "prometheus-config"
	VeleroNamespace  = "velero"
)

// Argo CD and Velero resources, read through the dynamic client.
var (
	ApplicationGVR           = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	AppProjectGVR            = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}
	BackupStorageLocationGVR = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backupstoragelocations"}
)

// RemovedAPIObject is a seeded object that declares an API version the
// target Kubernetes versions no longer serve.
type RemovedAPIObject struct {
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion"` // the removed one it declares
	RemovedIn  string `json:"removedIn"`
	// Source is "last-applied" (the kubectl annotation) or "helm:<release>"
	// (the manifest in a Helm release secret).
	Source string `json:"source"`
}

// KubeSeed lists what SeedBlue created (names are namespace/name).
type KubeSeed struct {
	Namespaces   []string `json:"namespaces"`
	Deployments  []string `json:"deployments"`
	StatefulSets []string `json:"statefulSets"`
	DaemonSets   []string `json:"daemonSets"`
	Services     []string `json:"services"`
	PDBs         []string `json:"pdbs"`
	// BlockingPDB has maxUnavailable 0: it blocks every voluntary eviction.
	BlockingPDB  string             `json:"blockingPDB"`
	ConfigMaps   []string           `json:"configMaps"`
	Secrets      []string           `json:"secrets"`
	Applications []string           `json:"applications"`
	HelmReleases []string           `json:"helmReleases"`
	Nodes        []string           `json:"nodes"`
	RemovedAPIs  []RemovedAPIObject `json:"removedAPIs"`
	CronJobs     []string           `json:"cronJobs"`
	// AWSAuth is blue's aws-auth ConfigMap (SeedAWSAuth), also in ConfigMaps.
	AWSAuth string `json:"awsAuth"`
	// ArgoCDCluster is the cluster whose argocd namespace holds the Argo CD
	// objects (the argocd/ Secrets, Applications, ApplicationSets and the
	// install): HubCluster with Options.ArgoCDOnHub, empty for blue.
	ArgoCDCluster string `json:"argoCDCluster,omitempty"`
	// ApplicationSets are the hub's ApplicationSets (SeedApplicationSets).
	ApplicationSets []string `json:"applicationSets,omitempty"`
	// NodePools and EC2NodeClasses are blue's Karpenter objects
	// (cluster-scoped names, SeedKarpenter).
	NodePools      []string `json:"nodePools"`
	EC2NodeClasses []string `json:"ec2NodeClasses"`
}

func ptr[T any](v T) *T { return &v }

func lastApplied(obj map[string]any) string {
	b, _ := json.Marshal(obj)
	return string(b) + "\n"
}

// SeedBlue creates blue's workloads: namespaces shop, payments and
// monitoring with Deployments, a StatefulSet, a DaemonSet, a CronJob
// (shop/nightly-report), Services, PDBs (shop/api with maxUnavailable 0),
// ConfigMaps and Secrets; objects whose
// last-applied configuration declares removed APIs (autoscaling/v2beta2
// HPA, policy/v1beta1 PDB, flowcontrol v1beta3 FlowSchema); a Helm release
// secret whose manifest declares removed APIs; Argo CD cluster secrets for
// blue (and green when given), an AppProject and Applications deploying to
// blue (SeedArgoCD, on blue itself); a Velero BackupStorageLocation; six nodes of the three node groups
// at BlueKubeletVersion; and every workload marked ready. The CRDs must be
// installed first (InstallCRDs).
func SeedBlue(ctx context.Context, blue, green *Kube) (*KubeSeed, error) {
	return seedBlue(ctx, blue, green, nil)
}

// SeedBlueWithHub is SeedBlue for a sandbox whose Argo CD runs on hub, a
// cluster of its own: the Argo CD objects (the cluster secrets, the
// AppProject, the Applications) are created in hub's argocd namespace
// (KubeSeed.ArgoCDCluster names hub) and blue has no argocd namespace. Blue
// also runs the workloads of the hub's ApplicationSets (SeedApplicationSets):
// namespaces edge and batch with Deployments edge/edge and
// batch/batch-worker, their Services and ConfigMaps.
func SeedBlueWithHub(ctx context.Context, blue, green, hub *Kube) (*KubeSeed, error) {
	if hub == nil {
		return nil, fmt.Errorf("cluster %s: seed with a hub: no hub cluster", blue.Name)
	}
	return seedBlue(ctx, blue, green, hub)
}

// seedBlue is SeedBlue with Argo CD on blue (hub nil) or on hub.
func seedBlue(ctx context.Context, blue, green, hub *Kube) (*KubeSeed, error) {
	cs, err := blue.Clientset()
	if err != nil {
		return nil, err
	}
	s := &KubeSeed{BlockingPDB: "shop/api"}
	create := func(what, ns, name string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster %s: create %s %s/%s: %w", blue.Name, what, ns, name, err)
		}
		return nil
	}

	namespaces := []string{"shop", "payments", "monitoring", ArgoCDNamespace, VeleroNamespace}
	if hub != nil {
		namespaces = []string{"shop", "payments", "monitoring", "edge", "batch", VeleroNamespace}
	}
	for _, ns := range namespaces {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": teamOf(ns)}}}, metav1.CreateOptions{})
		if err := create("namespace", "", ns, err); err != nil {
			return nil, err
		}
		s.Namespaces = append(s.Namespaces, ns)
	}

	// Deployments, Services, ConfigMaps, Secrets.
	type app struct {
		ns, name, image string
		replicas        int32
		port            int32
		// argoApp is the Argo CD Application that deploys it (ns when empty).
		argoApp string
	}
	apps := []app{
		{"shop", "web", "public.ecr.aws/nginx/nginx:1.27", 3, 8080, ""},
		{"shop", "api", "public.ecr.aws/docker/library/python:3.12-slim", 2, 8000, ""},
		{"payments", "worker", "public.ecr.aws/docker/library/golang:1.23", 2, 9000, ""},
	}
	if hub != nil {
		// Deployed by the hub's ApplicationSets (SeedApplicationSets).
		apps = append(apps,
			app{"edge", "edge", "public.ecr.aws/nginx/nginx:1.27", 2, 8080, blue.Name + "-edge"},
			app{"batch", "batch-worker", "public.ecr.aws/docker/library/golang:1.23", 1, 9100, blue.Name + "-batch"},
		)
	}
	for _, a := range apps {
		labels := map[string]string{"app.kubernetes.io/name": a.name, "app.kubernetes.io/part-of": a.ns}
		argoApp := a.argoApp
		if argoApp == "" {
			argoApp = a.ns
		}
		_, err := cs.AppsV1().Deployments(a.ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Labels: labels, Annotations: map[string]string{"argocd.argoproj.io/tracking-id": argoApp + ":apps/Deployment:" + a.ns + "/" + a.name}},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr(a.replicas),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						NodeSelector: map[string]string{"workload": "general"},
						Containers: []corev1.Container{{
							Name: a.name, Image: a.image,
							Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: a.port}},
							EnvFrom:        []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: a.name + "-config"}}}},
							ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
						}},
					},
				},
			},
		}, metav1.CreateOptions{})
		if err := create("deployment", a.ns, a.name, err); err != nil {
			return nil, err
		}
		s.Deployments = append(s.Deployments, a.ns+"/"+a.name)
		_, err = cs.CoreV1().Services(a.ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Labels: labels},
			Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
		}, metav1.CreateOptions{})
		if err := create("service", a.ns, a.name, err); err != nil {
			return nil, err
		}
		s.Services = append(s.Services, a.ns+"/"+a.name)
		_, err = cs.CoreV1().ConfigMaps(a.ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: a.name + "-config", Labels: labels},
			Data:       map[string]string{"LOG_LEVEL": "info", "UPSTREAM": "http://api.shop.svc.cluster.local"},
		}, metav1.CreateOptions{})
		if err := create("configmap", a.ns, a.name+"-config", err); err != nil {
			return nil, err
		}
		s.ConfigMaps = append(s.ConfigMaps, a.ns+"/"+a.name+"-config")
	}
	// The shop's entry points, as the AWS Load Balancer Controller serves
	// them: Ingress shop/web (an ALB, blue's record's target) and Service
	// shop/web-public of type LoadBalancer (an NLB, for partners). On
	// green, the restored copies get load balancers of their own (the
	// demo's simulator plays the controller), which a spec can name as
	// green's target (traffic.route53.greenTargetFrom).
	webLabels := map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"}
	lb, err := cs.CoreV1().Services("shop").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: EntryPointService, Labels: webLabels, Annotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
			"service.beta.kubernetes.io/aws-load-balancer-scheme":          "internet-facing",
		}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: webLabels,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}, metav1.CreateOptions{})
	created := err == nil
	if err := create("service", "shop", EntryPointService, err); err != nil {
		return nil, err
	}
	if created {
		lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: BluePartnerTarget}}
		if _, err := cs.CoreV1().Services("shop").UpdateStatus(ctx, lb, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("sandbox: blue's load balancer status: %w", err)
		}
	}
	s.Services = append(s.Services, "shop/"+EntryPointService)
	alb := "alb"
	ing, err := cs.NetworkingV1().Ingresses("shop").Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: EntryPointIngress, Labels: webLabels, Annotations: map[string]string{
			"alb.ingress.kubernetes.io/scheme":      "internet-facing",
			"alb.ingress.kubernetes.io/target-type": "ip",
		}},
		Spec: networkingv1.IngressSpec{IngressClassName: &alb, Rules: []networkingv1.IngressRule{{Host: RecordName, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}, metav1.CreateOptions{})
	created = err == nil
	if err := create("ingress", "shop", EntryPointIngress, err); err != nil {
		return nil, err
	}
	if created {
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: BlueTarget}}
		if _, err := cs.NetworkingV1().Ingresses("shop").UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("sandbox: blue's Ingress status: %w", err)
		}
	}
	// Monitoring names its cluster, as Prometheus setups do with an
	// external label: after the move it still says blue (the runbook's
	// "fix monitoring" step, which the report lists).
	_, err = cs.CoreV1().ConfigMaps("monitoring").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: PrometheusConfig, Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}},
		Data: map[string]string{"prometheus.yml": "global:\n  scrape_interval: 30s\n  external_labels:\n    cluster: " + blue.Name + "\n" +
			"remote_write:\n  - url: https://metrics.example.com/api/v1/write\n"},
	}, metav1.CreateOptions{})
	if err := create("configmap", "monitoring", PrometheusConfig, err); err != nil {
		return nil, err
	}
	s.ConfigMaps = append(s.ConfigMaps, "monitoring/"+PrometheusConfig)
	for _, sec := range []struct{ ns, name string }{{"shop", "api-credentials"}, {"payments", "ledger-db"}} {
		_, err := cs.CoreV1().Secrets(sec.ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: sec.name},
			Type:       corev1.SecretTypeOpaque,
			StringData: map[string]string{"username": "app", "password": "sandbox-not-a-secret"},
		}, metav1.CreateOptions{})
		if err := create("secret", sec.ns, sec.name, err); err != nil {
			return nil, err
		}
		s.Secrets = append(s.Secrets, sec.ns+"/"+sec.name)
	}

	// A StatefulSet and a DaemonSet.
	ledgerLabels := map[string]string{"app.kubernetes.io/name": "ledger", "app.kubernetes.io/instance": "ledger", "app.kubernetes.io/managed-by": "Helm"}
	_, err = cs.CoreV1().Services("payments").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ledger", Labels: ledgerLabels},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: ledgerLabels, Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}},
	}, metav1.CreateOptions{})
	if err := create("service", "payments", "ledger", err); err != nil {
		return nil, err
	}
	s.Services = append(s.Services, "payments/ledger")
	_, err = cs.AppsV1().StatefulSets("payments").Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ledger", Labels: ledgerLabels, Annotations: map[string]string{"meta.helm.sh/release-name": "ledger", "meta.helm.sh/release-namespace": "payments"}},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr(int32(3)), ServiceName: "ledger",
			Selector: &metav1.LabelSelector{MatchLabels: ledgerLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: ledgerLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "postgres", Image: "public.ecr.aws/docker/library/postgres:16",
					EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ledger-db"}}}},
				}}},
			},
		},
	}, metav1.CreateOptions{})
	if err := create("statefulset", "payments", "ledger", err); err != nil {
		return nil, err
	}
	s.StatefulSets = append(s.StatefulSets, "payments/ledger")
	agentLabels := map[string]string{"app.kubernetes.io/name": "node-agent"}
	_, err = cs.AppsV1().DaemonSets("monitoring").Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "node-agent", Labels: agentLabels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: agentLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: agentLabels},
				Spec: corev1.PodSpec{
					Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					Containers:  []corev1.Container{{Name: "agent", Image: "public.ecr.aws/bitnami/node-exporter:1.8.2"}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err := create("daemonset", "monitoring", "node-agent", err); err != nil {
		return nil, err
	}
	s.DaemonSets = append(s.DaemonSets, "monitoring/node-agent")

	// A CronJob: the shop's nightly report.
	reportLabels := map[string]string{"app.kubernetes.io/name": "nightly-report", "app.kubernetes.io/part-of": "shop"}
	_, err = cs.BatchV1().CronJobs("shop").Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-report", Labels: reportLabels},
		Spec: batchv1.CronJobSpec{
			Schedule:                   "0 2 * * *",
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: reportLabels},
				Spec: batchv1.JobSpec{
					BackoffLimit: ptr(int32(2)),
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: reportLabels},
						Spec: corev1.PodSpec{
							RestartPolicy: corev1.RestartPolicyOnFailure,
							NodeSelector:  map[string]string{"workload": "batch"},
							Tolerations:   []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule}},
							Containers: []corev1.Container{{
								Name: "report", Image: "public.ecr.aws/docker/library/busybox:1.36",
								Command: []string{"sh", "-c", "echo nightly report for $(date -u +%F)"},
							}},
						},
					},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err := create("cronjob", "shop", "nightly-report", err); err != nil {
		return nil, err
	}
	s.CronJobs = append(s.CronJobs, "shop/nightly-report")

	// PDBs: shop/web minAvailable 2, shop/api maxUnavailable 0 (blocks
	// drains), payments/ledger applied from policy/v1beta1.
	pdbs := []struct {
		ns, name   string
		spec       policyv1.PodDisruptionBudgetSpec
		oldVersion string
	}{
		{"shop", "web", policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(2)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "web"}}}, ""},
		{"shop", "api", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr(intstr.FromInt32(0)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "api"}}}, ""},
		{"payments", "ledger", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "ledger"}}}, "policy/v1beta1"},
	}
	for _, p := range pdbs {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: p.name}, Spec: p.spec}
		if p.oldVersion != "" {
			pdb.Annotations = map[string]string{LastAppliedAnnotation: lastApplied(map[string]any{
				"apiVersion": p.oldVersion, "kind": "PodDisruptionBudget",
				"metadata": map[string]any{"name": p.name, "namespace": p.ns},
				"spec":     map[string]any{"maxUnavailable": 1, "selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": p.name}}},
			})}
			s.RemovedAPIs = append(s.RemovedAPIs, RemovedAPIObject{Kind: "PodDisruptionBudget", Namespace: p.ns, Name: p.name, APIVersion: p.oldVersion, RemovedIn: "1.25", Source: "last-applied"})
		}
		_, err := cs.PolicyV1().PodDisruptionBudgets(p.ns).Create(ctx, pdb, metav1.CreateOptions{})
		if err := create("pdb", p.ns, p.name, err); err != nil {
			return nil, err
		}
		s.PDBs = append(s.PDBs, p.ns+"/"+p.name)
	}

	// HPA applied from autoscaling/v2beta2 (removed in 1.26).
	_, err = cs.AutoscalingV2().HorizontalPodAutoscalers("shop").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{LastAppliedAnnotation: lastApplied(map[string]any{
			"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
			"metadata": map[string]any{"name": "web", "namespace": "shop"},
			"spec": map[string]any{"minReplicas": 3, "maxReplicas": 10,
				"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
				"metrics":        []any{map[string]any{"type": "Resource", "resource": map[string]any{"name": "cpu", "target": map[string]any{"type": "Utilization", "averageUtilization": 70}}}}},
		})}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: ptr(int32(3)), MaxReplicas: 10,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))},
			}}},
		},
	}, metav1.CreateOptions{})
	if err := create("hpa", "shop", "web", err); err != nil {
		return nil, err
	}
	s.RemovedAPIs = append(s.RemovedAPIs, RemovedAPIObject{Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web", APIVersion: "autoscaling/v2beta2", RemovedIn: "1.26", Source: "last-applied"})

	// FlowSchema applied from flowcontrol.apiserver.k8s.io/v1beta3 (removed in 1.32).
	_, err = cs.FlowcontrolV1().FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-batch", Annotations: map[string]string{LastAppliedAnnotation: lastApplied(map[string]any{
			"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema",
			"metadata": map[string]any{"name": "shop-batch"},
			"spec": map[string]any{"matchingPrecedence": 1000, "priorityLevelConfiguration": map[string]any{"name": "workload-low"},
				"distinguisherMethod": map[string]any{"type": "ByUser"},
				"rules": []any{map[string]any{"subjects": []any{map[string]any{"kind": "ServiceAccount", "serviceAccount": map[string]any{"name": "worker", "namespace": "payments"}}},
					"resourceRules": []any{map[string]any{"verbs": []any{"*"}, "apiGroups": []any{"*"}, "resources": []any{"*"}, "namespaces": []any{"*"}}}}}},
		})}},
		Spec: flowcontrolv1.FlowSchemaSpec{
			MatchingPrecedence:         1000,
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"},
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "worker", Namespace: "payments"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}}},
			}},
		},
	}, metav1.CreateOptions{})
	if err := create("flowschema", "", "shop-batch", err); err != nil {
		return nil, err
	}
	s.RemovedAPIs = append(s.RemovedAPIs, RemovedAPIObject{Kind: "FlowSchema", Name: "shop-batch", APIVersion: "flowcontrol.apiserver.k8s.io/v1beta3", RemovedIn: "1.32", Source: "last-applied"})

	// Helm release "ledger" whose manifest still declares removed APIs.
	rel, err := HelmReleaseSecret("payments", "ledger", 1, helmLedgerManifest)
	if err != nil {
		return nil, err
	}
	_, err = cs.CoreV1().Secrets("payments").Create(ctx, rel, metav1.CreateOptions{})
	if err := create("helm release secret", "payments", rel.Name, err); err != nil {
		return nil, err
	}
	s.Secrets = append(s.Secrets, "payments/"+rel.Name)
	s.HelmReleases = append(s.HelmReleases, "payments/ledger")
	s.RemovedAPIs = append(s.RemovedAPIs,
		RemovedAPIObject{Kind: "PodDisruptionBudget", Namespace: "payments", Name: "ledger", APIVersion: "policy/v1beta1", RemovedIn: "1.25", Source: "helm:ledger"},
		RemovedAPIObject{Kind: "CronJob", Namespace: "payments", Name: "ledger-vacuum", APIVersion: "batch/v1beta1", RemovedIn: "1.25", Source: "helm:ledger"},
	)

	// Argo CD: cluster secrets, a project, Applications deploying to blue,
	// on blue itself or on the hub.
	argo := blue
	if hub != nil {
		argo = hub
		s.ArgoCDCluster = hub.Name
	}
	if err := SeedArgoCD(ctx, argo, blue, green, s); err != nil {
		return nil, err
	}
	if err := SeedVelero(ctx, blue); err != nil {
		return nil, err
	}

	// The default StorageClass blue's volumes come from (the EBS CSI
	// driver's gp3, binding when a pod is scheduled, as EKS clusters set
	// it up).
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	_, err = cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "gp3", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "ebs.csi.aws.com", VolumeBindingMode: &wait, Parameters: map[string]string{"type": "gp3"},
	}, metav1.CreateOptions{})
	if err := create("storageclass", "", "gp3", err); err != nil {
		return nil, err
	}

	// Nodes of the three node groups (general 3, batch 2, the custom
	// launch template's 1), then workloads "running".
	for i := range 6 {
		group, labels := GeneralNodes, map[string]string{"workload": "general", "node.kubernetes.io/instance-type": GeneralType}
		var taints []corev1.Taint
		switch {
		case i == 5:
			group, labels = CustomNodes, map[string]string{"workload": "custom", "node.kubernetes.io/instance-type": CustomType}
		case i >= 3:
			group, labels = BatchNodes, map[string]string{"workload": "batch", "node.kubernetes.io/instance-type": BatchType}
			taints = []corev1.Taint{{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule}}
		}
		labels["eks.amazonaws.com/nodegroup"] = group
		labels["topology.kubernetes.io/zone"] = DefaultRegion + string(rune('a'+i%3))
		name := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", (i%3)*16, 10+i)
		if err := blue.AddNode(ctx, name, BlueKubeletVersion, true, NodeLabels(labels), NodeTaints(taints...)); err != nil {
			return nil, err
		}
		s.Nodes = append(s.Nodes, name)
	}
	if err := blue.MarkWorkloadsReady(ctx); err != nil {
		return nil, err
	}
	blue.log.Info("Seeded blue workloads", "namespaces", len(s.Namespaces), "deployments", len(s.Deployments), "applications", len(s.Applications), "removedAPIs", len(s.RemovedAPIs))
	return s, nil
}

// SeedArgoCD creates the Argo CD objects of the blue estate in argo's
// argocd namespace (created when missing): the cluster secrets of blue and
// green (when given), the AppProject shop and the Applications shop,
// payments and monitoring deploying to blue, each reported Synced and
// Healthy. argo is blue itself (SeedBlue) or the hub (SeedBlueWithHub).
// Objects that exist are left as they are; the names are added to objs'
// Secrets and Applications.
func SeedArgoCD(ctx context.Context, argo, blue, green *Kube, objs *KubeSeed) error {
	cs, err := argo.Clientset()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(argo.RESTConfig())
	if err != nil {
		return err
	}
	create := func(what, ns, name string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster %s: create %s %s/%s: %w", argo.Name, what, ns, name, err)
		}
		return nil
	}
	if argo != blue {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ArgoCDNamespace, Labels: map[string]string{"team": teamOf(ArgoCDNamespace)}}}, metav1.CreateOptions{})
		if err := create("namespace", "", ArgoCDNamespace, err); err != nil {
			return err
		}
	}
	for _, k := range []*Kube{blue, green} {
		if k == nil {
			continue
		}
		sec, err := ArgoCDClusterSecret(k)
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Secrets(ArgoCDNamespace).Create(ctx, sec, metav1.CreateOptions{})
		if err := create("argocd cluster secret", ArgoCDNamespace, sec.Name, err); err != nil {
			return err
		}
		objs.Secrets = append(objs.Secrets, ArgoCDNamespace+"/"+sec.Name)
	}
	proj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "shop", "namespace": ArgoCDNamespace},
		"spec": map[string]any{
			"description":              "shop and payments",
			"sourceRepos":              []any{SandboxAppsRepoURL},
			"destinations":             []any{map[string]any{"name": "*", "namespace": "*", "server": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		},
	}}
	_, err = dyn.Resource(AppProjectGVR).Namespace(ArgoCDNamespace).Create(ctx, proj, metav1.CreateOptions{})
	if err := create("appproject", ArgoCDNamespace, "shop", err); err != nil {
		return err
	}
	for _, a := range []struct{ name, ns, path string }{{"shop", "shop", "apps/shop"}, {"payments", "payments", "apps/payments"}, {"monitoring", "monitoring", "apps/monitoring"}} {
		app := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": a.name, "namespace": ArgoCDNamespace, "labels": map[string]any{"cutover.dev/cluster": blue.Name}},
			"spec": map[string]any{
				"project":     "shop",
				"source":      map[string]any{"repoURL": SandboxAppsRepoURL, "targetRevision": "main", "path": a.path},
				"destination": map[string]any{"name": blue.Name, "namespace": a.ns},
				"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true}, "syncOptions": []any{"CreateNamespace=true"}},
			},
		}}
		created, err := dyn.Resource(ApplicationGVR).Namespace(ArgoCDNamespace).Create(ctx, app, metav1.CreateOptions{})
		if err := create("application", ArgoCDNamespace, a.name, err); err != nil {
			return err
		}
		if created != nil {
			// What the Argo CD controller would report: synced and healthy.
			created.Object["status"] = map[string]any{
				"sync":   map[string]any{"status": "Synced", "revision": "4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e"},
				"health": map[string]any{"status": "Healthy"},
			}
			if _, err := dyn.Resource(ApplicationGVR).Namespace(ArgoCDNamespace).Update(ctx, created, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("cluster %s: application %s status: %w", argo.Name, a.name, err)
			}
		}
		objs.Applications = append(objs.Applications, ArgoCDNamespace+"/"+a.name)
	}
	return nil
}

func teamOf(ns string) string {
	switch ns {
	case "shop", "payments":
		return ns
	default:
		return "platform"
	}
}

// Velero as the sandbox installs it on both clusters.
const (
	// VeleroImage is the image of the seeded Velero server Deployment.
	VeleroImage = "velero/velero:v1.16.2"
	// VeleroDeployment is the name of the server's Deployment and container.
	VeleroDeployment = "velero"
	// VeleroFeatures is the server's --features (as velero install
	// --features=EnableAPIGroupVersions writes it).
	VeleroFeatures = "EnableAPIGroupVersions"
	// VeleroStorageLocation is the seeded BackupStorageLocation.
	VeleroStorageLocation = "default"
	// BackupPrefix is the prefix in BackupBucket of the location, the same
	// on both clusters: green's Velero reads blue's backups from it.
	BackupPrefix = "cutover"
)

// SeedVelero creates the velero namespace, the Velero server's Deployment
// "velero" (image VeleroImage, args server --features=VeleroFeatures, one
// replica) and a BackupStorageLocation "default" (aws provider, bucket
// BackupBucket, prefix BackupPrefix, accessMode ReadWrite, phase
// Available). No Velero server runs: the Deployment has no pods, Backups
// and Restores are stored, nothing processes them. Objects that exist are
// left as they are (a BackupStorageLocation without a phase gets one).
func SeedVelero(ctx context.Context, k *Kube) error {
	cs, err := k.Clientset()
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: VeleroNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cluster %s: create namespace velero: %w", k.Name, err)
	}
	labels := map[string]string{"component": "velero", "deploy": "velero"}
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: VeleroDeployment, Namespace: VeleroNamespace, Labels: map[string]string{"component": "velero"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"deploy": "velero"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:    VeleroDeployment,
					Image:   VeleroImage,
					Command: []string{"/velero"},
					Args:    []string{"server", "--features=" + VeleroFeatures},
					Ports:   []corev1.ContainerPort{{Name: "metrics", ContainerPort: 8085}},
				}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(VeleroNamespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cluster %s: create Deployment velero/velero: %w", k.Name, err)
	}
	dyn, err := dynamic.NewForConfig(k.RESTConfig())
	if err != nil {
		return err
	}
	bsl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
		"metadata": map[string]any{"name": VeleroStorageLocation, "namespace": VeleroNamespace},
		"spec": map[string]any{
			"provider":      "aws",
			"default":       true,
			"accessMode":    "ReadWrite",
			"objectStorage": map[string]any{"bucket": BackupBucket, "prefix": BackupPrefix},
			"config":        map[string]any{"region": DefaultRegion},
		},
	}}
	locs := dyn.Resource(BackupStorageLocationGVR).Namespace(VeleroNamespace)
	created, err := locs.Create(ctx, bsl, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A previous run created it; it may have stopped before the status.
		created, err = locs.Get(ctx, VeleroStorageLocation, metav1.GetOptions{})
		if err == nil {
			if phase, _, _ := unstructured.NestedString(created.Object, "status", "phase"); phase != "" {
				return nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("cluster %s: create BackupStorageLocation: %w", k.Name, err)
	}
	// The CRD has no status subresource: status is written with the object.
	created.Object["status"] = map[string]any{"phase": "Available", "lastValidationTime": time.Now().UTC().Format(time.RFC3339)}
	if _, err := locs.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("cluster %s: BackupStorageLocation status: %w", k.Name, err)
	}
	return nil
}

// ArgoCDClusterSecret is the Secret that registers k with Argo CD under its
// name (label argocd.argoproj.io/secret-type=cluster).
func ArgoCDClusterSecret(k *Kube) (*corev1.Secret, error) {
	conf, err := json.Marshal(map[string]any{
		"bearerToken":     k.Token,
		"tlsClientConfig": map[string]any{"caData": base64.StdEncoding.EncodeToString(k.CAData)},
	})
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-" + k.Name, Namespace: ArgoCDNamespace, Labels: map[string]string{"argocd.argoproj.io/secret-type": "cluster"}},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"name": k.Name, "server": k.Server, "config": string(conf)},
	}, nil
}

const helmLedgerManifest = `---
# Source: ledger/templates/pdb.yaml
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: ledger
  namespace: payments
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ledger
---
# Source: ledger/templates/cronjob.yaml
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: ledger-vacuum
  namespace: payments
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: vacuum
            image: public.ecr.aws/docker/library/postgres:16
            args: ["vacuumdb", "--all"]
---
# Source: ledger/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ledger
  namespace: payments
spec:
  replicas: 3
  serviceName: ledger
  selector:
    matchLabels:
      app.kubernetes.io/name: ledger
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ledger
    spec:
      containers:
      - name: postgres
        image: public.ecr.aws/docker/library/postgres:16
`

// HelmReleaseSecret builds a Helm 3 release secret (type helm.sh/release.v1):
// data.release is base64(gzip(release JSON)), as the Helm storage driver
// writes it.
func HelmReleaseSecret(namespace, name string, version int, manifest string) (*corev1.Secret, error) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	rel := map[string]any{
		"name": name,
		"info": map[string]any{"first_deployed": now, "last_deployed": now, "deleted": "", "description": "Install complete", "status": "deployed"},
		"chart": map[string]any{
			"metadata":  map[string]any{"name": name, "version": "1.4.2", "appVersion": "16.4", "apiVersion": "v2", "description": "ledger database"},
			"templates": []any{},
			"values":    map[string]any{"replicas": 3},
		},
		"config":    map[string]any{},
		"manifest":  manifest,
		"version":   version,
		"namespace": namespace,
	}
	raw, err := json.Marshal(rel)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("sh.helm.release.v1.%s.v%d", name, version),
			Namespace: namespace,
			Labels:    map[string]string{"name": name, "owner": "helm", "status": "deployed", "version": fmt.Sprint(version)},
		},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": []byte(enc)},
	}, nil
}

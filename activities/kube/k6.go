package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/activitylog"
)

// Defaults of the k6 smoke test (the spec's documented defaults).
const (
	DefaultK6Image     = "grafana/k6:0.54.0"
	DefaultK6Namespace = "default"
	k6ScriptDir        = "/scripts"
)

// K6Job describes the k6 Job of one smoke attempt.
type K6Job struct {
	Namespace string
	Name      string
	Image     string
	ConfigMap string
	// ScriptKey is the ConfigMap key holding the script.
	ScriptKey string
	Labels    map[string]string
	// Deadline bounds the Job (activeDeadlineSeconds).
	Deadline time.Duration
}

// BuildK6Job returns the Job that runs `k6 run` on the script mounted from
// the ConfigMap: one pod, no retries (a failed load test is a result, not a
// flake to retry), a deadline, and a TTL so finished Jobs go away.
func BuildK6Job(j K6Job) *batchv1.Job {
	backoff := int32(0)
	completions := int32(1)
	ttl := int32(24 * 3600)
	deadline := int64(j.Deadline / time.Second)
	if deadline < 1 {
		deadline = 1
	}
	no, yes := false, true
	uid := int64(12345)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: j.Name, Namespace: j.Namespace, Labels: j.Labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			Completions:             &completions,
			Parallelism:             &completions,
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: j.Labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: &no,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: &yes, RunAsUser: &uid,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "k6",
						Image: j.Image,
						Args:  []string{"run", "--no-color", k6ScriptDir + "/" + j.ScriptKey},
						VolumeMounts: []corev1.VolumeMount{{
							Name: "script", MountPath: k6ScriptDir, ReadOnly: true,
						}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &no,
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{{Name: "script", VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: j.ConfigMap}},
					}}},
				},
			},
		},
	}
}

// K6JobResult reads a k6 Job's outcome from its status: done once the Job
// has a Complete or Failed condition; passed only when Complete. k6 exits
// non-zero when a threshold fails, which the Job reports as Failed.
func K6JobResult(job *batchv1.Job) (done, passed bool, message string) {
	ref := job.Namespace + "/" + job.Name
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, true, fmt.Sprintf("k6 job %s completed (%d succeeded)", ref, job.Status.Succeeded)
		case batchv1.JobFailed:
			msg := fmt.Sprintf("k6 job %s failed: %s", ref, c.Reason)
			if c.Message != "" {
				msg += ": " + c.Message
			}
			return true, false, msg
		}
	}
	return false, false, fmt.Sprintf("k6 job %s still running (%d active, %d failed)", ref, job.Status.Active, job.Status.Failed)
}

// scriptKey picks the script in the ConfigMap: its only key, or script.js.
func scriptKey(cm *corev1.ConfigMap) (string, error) {
	var keys []string
	for k := range cm.Data {
		keys = append(keys, k)
	}
	for k := range cm.BinaryData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	switch {
	case len(keys) == 1:
		return keys[0], nil
	case cm.Data["script.js"] != "":
		return "script.js", nil
	case len(keys) == 0:
		return "", fmt.Errorf("configmap %s/%s is empty", cm.Namespace, cm.Name)
	}
	return "", fmt.Errorf("configmap %s/%s has keys %s: name the script script.js or keep only one key", cm.Namespace, cm.Name, strings.Join(keys, ", "))
}

// smokeK6 runs the k6 Job; the error is an outage (see sortAPIError), the
// result the check.
func (a *Activities) smokeK6(ctx context.Context, c *Clients, in SmokeInput) (CheckResult, error) {
	k := *in.Smoke.K6
	start := a.opts.Now()
	res := CheckResult{Name: "k6", Kind: "k6"}
	ns := k.Namespace
	if ns == "" {
		ns = DefaultK6Namespace
	}
	image := k.Image
	if image == "" {
		image = DefaultK6Image
	}
	done := func(format string, args ...any) (CheckResult, error) {
		res.Message = fmt.Sprintf(format, args...)
		res.Duration = since(a, start)
		return res, nil
	}
	apiFailed := func(err error, format string, args ...any) (CheckResult, error) {
		msg, outage := sortAPIError(err, format, args...)
		if outage != nil {
			return CheckResult{}, outage
		}
		return done("%s", msg)
	}
	var cm *corev1.ConfigMap
	err := a.retryAPI(ctx, "read k6 script configmap", func(ctx context.Context) error {
		var err error
		cm, err = c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, k.ConfigMap, metav1.GetOptions{})
		return err
	})
	if err != nil {
		return apiFailed(err, "k6 script configmap %s/%s", ns, k.ConfigMap)
	}
	key, err := scriptKey(cm)
	if err != nil {
		return done("k6: %v", err)
	}
	hash := runHash(in.RunID)
	name := fmt.Sprintf("cutover-k6-%s-%d", hash, attempt(ctx))
	labels := map[string]string{LabelManagedBy: managedByCutover, LabelSmokeRun: hash, LabelSmokeObject: name}

	// Stop and remove the k6 Jobs of earlier attempts of this run.
	bg := metav1.DeletePropagationBackground
	if l, err := c.Kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelSmokeRun + "=" + hash}); err == nil {
		for _, j := range l.Items {
			if j.Name != name && j.DeletionTimestamp == nil {
				_ = c.Kube.BatchV1().Jobs(ns).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
			}
		}
	}
	limit := a.opts.k6Timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d)-5*time.Second < limit {
		limit = time.Until(d) - 5*time.Second
	}
	if limit <= 0 {
		return done("k6: no time left in the smoke timeout to run the job")
	}
	job := BuildK6Job(K6Job{Namespace: ns, Name: name, Image: image, ConfigMap: k.ConfigMap, ScriptKey: key, Labels: labels, Deadline: limit})
	err = a.retryAPI(ctx, "create k6 job", func(ctx context.Context) error {
		_, err := c.Kube.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // ours: an earlier try of this call, or of this attempt
		}
		return err
	})
	if err != nil {
		return apiFailed(err, "create k6 job %s/%s", ns, name)
	}
	a.log(ctx).Info("K6 job started", "cluster", in.Cluster.Name, "namespace", ns, "job", name, "script", k.ConfigMap+"/"+key)
	deadline := a.opts.Now().Add(limit)
	for {
		var j *batchv1.Job
		err := a.retryAPI(ctx, "read k6 job", func(ctx context.Context) error {
			var err error
			j, err = c.Kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		})
		if err != nil {
			return apiFailed(err, "read k6 job %s/%s", ns, name)
		}
		finished, passed, msg := K6JobResult(j)
		if finished {
			if !passed {
				if tail := a.k6Logs(ctx, c, ns, name); tail != "" {
					msg += "; log tail: " + tail
				}
			}
			res.Passed = passed
			return done("%s", msg)
		}
		if !a.opts.Now().Add(a.opts.Poll).Before(deadline) {
			_ = c.Kube.BatchV1().Jobs(ns).Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{PropagationPolicy: &bg})
			return done("%s after %s; job deleted", msg, limit.Round(time.Second))
		}
		activitylog.Heartbeat(ctx, Progress{Step: "k6", Detail: msg})
		if err := sleep(ctx, a.opts.Poll); err != nil {
			return done("%s: %v", msg, err)
		}
	}
}

// k6Logs returns the tail of the k6 pod's log, best effort ("" when unavailable).
func (a *Activities) k6Logs(ctx context.Context, c *Clients, ns, job string) string {
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil || len(pods.Items) == 0 {
		return ""
	}
	tail, limit := int64(20), int64(4096)
	raw, err := c.Kube.CoreV1().Pods(ns).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{TailLines: &tail, LimitBytes: &limit}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

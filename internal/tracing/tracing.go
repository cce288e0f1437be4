// Package tracing wires Temporal's OpenTelemetry interceptor into the
// worker and the CLI. It is off unless an OTLP endpoint is configured
// with OpenTelemetry's own variables (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the exporter speaks OTLP/gRPC and
// reads the rest of its settings (headers, TLS, OTEL_EXPORTER_OTLP_INSECURE,
// timeouts) from the environment as every OpenTelemetry SDK does.
// OTEL_SDK_DISABLED=true turns it off.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cutover-dev/cutover/internal/buildinfo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Tracing is what Setup built: the interceptor for client.Options (nil
// when tracing is off) and the provider to flush at exit.
type Tracing struct {
	// Interceptor goes into client.Options.Interceptors; workers created
	// from that client trace their workflows and activities too.
	Interceptor interceptor.Interceptor
	provider    *sdktrace.TracerProvider
}

// Enabled tells whether the environment asks for traces.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup returns tracing for service ("cutover-worker", "cutover"): off
// (a nil Interceptor and a no-op Shutdown) unless Enabled. The
// exporter connects lazily, so an unreachable collector does not stop
// the worker; spans it cannot send are dropped and logged by the SDK.
func Setup(ctx context.Context, service string, getenv func(string) string) (*Tracing, error) {
	if !Enabled(getenv) {
		return &Tracing{}, nil
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	b := buildinfo.Read()
	// The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins
	// over the defaults: detectors apply in order.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service), attribute.String("service.version", b.Version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	ic, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: tp.Tracer("go.temporal.io/sdk")})
	if err != nil {
		_ = tp.Shutdown(ctx)
		return nil, fmt.Errorf("Temporal tracing interceptor: %w", err)
	}
	return &Tracing{Interceptor: ic, provider: tp}, nil
}

// Shutdown sends the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}
